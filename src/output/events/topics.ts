/**
 * MQTT topic names of the event outputs (docs/analytics.md):
 *   <prefix>/available                                  online | offline (retained, last will)
 *   <prefix>/<stream>/events                            each event as JSON
 *   <prefix>/<stream>/lines/<line>/<in|out>/<label>     cumulative count (retained)
 *   <prefix>/<stream>/zones/<zone>/<label>              current occupancy (retained)
 */
import type { AnalyticsCounts } from '../../types.js';

/**
 * A name as one topic level: `/` would split it and `+`, `#` are wildcards (a broker refuses them
 * in a published topic), NUL is forbidden; each becomes `_`, and an empty name is `_`.
 */
export function topicLevel(name: string): string {
  return name.replace(/[/+#\0]/g, '_') || '_';
}

export function availabilityTopic(prefix: string): string {
  return `${prefix}/available`;
}

export function eventsTopic(prefix: string, stream: string): string {
  return `${prefix}/${topicLevel(stream)}/events`;
}

/** Every count of a stream as [topic, payload] (payload: the plain decimal number). */
export function countTopics(prefix: string, stream: string, counts: AnalyticsCounts): Array<[string, string]> {
  const base = `${prefix}/${topicLevel(stream)}`;
  const out: Array<[string, string]> = [];
  for (const [line, dirs] of Object.entries(counts.lines)) {
    for (const direction of ['in', 'out'] as const) {
      for (const [label, n] of Object.entries(dirs[direction] ?? {})) out.push([`${base}/lines/${topicLevel(line)}/${direction}/${topicLevel(label)}`, String(n)]);
    }
  }
  for (const [zone, labels] of Object.entries(counts.zones)) {
    for (const [label, n] of Object.entries(labels)) out.push([`${base}/zones/${topicLevel(zone)}/${topicLevel(label)}`, String(n)]);
  }
  return out;
}
