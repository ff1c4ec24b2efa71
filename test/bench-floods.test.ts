/**
 * Issue 20 item 5: bench/floods.ts runs its three phases (quiet, snapshot.jpg flood in autocannon's
 * own process, subscribe/unsubscribe flood in a process of its own) and measures /healthz in each.
 * Only the mechanics are tested here: whether /healthz p99 stays under 50 ms is the benchmark's to
 * judge (performance targets live in bench/).
 */
import { describe, expect, it } from 'vitest';
import { runFloods } from '../bench/floods.js';

describe('bench floods', () => {
  it('floods the server with snapshots and control messages and measures /healthz in each phase', async () => {
    const report = await runFloods({ phaseMs: 3000, streams: 1, controlClients: 2, controlMessages: 2000, maxHealthzP99Ms: Infinity });
    console.log(JSON.stringify(report.phases));
    expect(report.phases.map((p) => p.name)).toEqual(['quiet', 'snapshots', 'control']);
    for (const p of report.phases) {
      expect(p.healthz.requests, p.name).toBeGreaterThan(10);
      expect(p.healthz.p99).toBeGreaterThanOrEqual(p.healthz.p50);
      expect(p.loopDelay.max).toBeGreaterThan(0);
    }
    const [, snapshots, control] = report.phases;
    expect(snapshots.flood!.requestsPerSecond).toBeGreaterThan(0);
    expect(control.flood!.messages).toBeGreaterThanOrEqual(4000);
    expect(report.failures).toEqual([]);
  });
});
