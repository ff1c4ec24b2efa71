/** The pure parts of cluster mode: placement, the relay's wire format, track-id offsets, the config section. */
import { describe, expect, it } from 'vitest';
import { nodeCaps, placeStreams, type PlacementNode } from '../src/cluster/placement.js';
import { decodeRelayedResult, decodeRelayedVideo, encodeRelayedResult, encodeRelayedVideo, Followers, offsetTrackIds } from '../src/cluster/relay.js';
import { ConfigError, parseConfig } from '../src/config.js';
import type { FrameResult } from '../src/types.js';

const nodes = (n: number, extra: Partial<PlacementNode> = {}): PlacementNode[] => Array.from({ length: n }, (_, i) => ({ id: `node-${i}`, weight: 1, maxStreams: 0, ...extra }));
const streams = (n: number, prefix = 'cam'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function loads(p: Map<string, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of p.values()) out.set(n, (out.get(n) ?? 0) + 1);
  return out;
}

describe('placement (rendezvous hashing with bounded loads)', () => {
  it('places every stream on one node, and no node above ceil(1.25 x streams / nodes)', () => {
    for (const [s, n] of [[6, 3], [7, 3], [100, 7], [1000, 10], [5, 8], [1, 1], [40, 4]]) {
      const p = placeStreams(streams(s), nodes(n));
      expect(p.size).toBe(s);
      const bound = Math.ceil((1.25 * s) / n);
      for (const l of loads(p).values()) expect(l).toBeLessThanOrEqual(bound);
    }
  });

  it('is deterministic: the same answer whatever order streams and nodes come in', () => {
    const s = streams(50);
    const n = nodes(5);
    const a = placeStreams(s, n);
    const b = placeStreams([...s].reverse(), [...n].reverse());
    expect([...b].sort()).toEqual([...a].sort());
  });

  it('a node joining takes about its share, and nothing moves between the other nodes', () => {
    for (const [s, n] of [[6, 3], [60, 3], [600, 5], [1000, 9]]) {
      const before = placeStreams(streams(s), nodes(n));
      const grown = [...nodes(n), { id: 'joiner', weight: 1, maxStreams: 0 }];
      const after = placeStreams(streams(s), grown);
      const moved = [...after].filter(([id, node]) => before.get(id) !== node);
      expect(moved.every(([, node]) => node === 'joiner')).toBe(true);
      const share = s / (n + 1);
      expect(moved.length).toBeGreaterThan(0);
      expect(moved.length).toBeLessThanOrEqual(Math.ceil(1.25 * share));
    }
  });

  it('a node leaving moves only its own streams', () => {
    const s = streams(300);
    const before = placeStreams(s, nodes(6));
    const after = placeStreams(s, nodes(6).filter((n) => n.id !== 'node-2'));
    for (const [id, node] of before) if (node !== 'node-2') expect(after.get(id)).toBe(node);
    expect([...after.values()]).not.toContain('node-2');
  });

  it('weights share the streams in proportion, bounded by each node’s weighted cap', () => {
    const n: PlacementNode[] = [
      { id: 'gpu', weight: 4, maxStreams: 0 },
      { id: 'cpu1', weight: 1, maxStreams: 0 },
      { id: 'cpu2', weight: 1, maxStreams: 0 },
    ];
    const p = placeStreams(streams(600), n);
    const l = loads(p);
    expect(l.get('gpu')!).toBeGreaterThan(300);
    expect(l.get('gpu')!).toBeLessThanOrEqual(nodeCaps(600, n, 1.25).get('gpu')!);
    expect(nodeCaps(600, n, 1.25).get('cpu1')).toBe(125);
  });

  it('a node limit is kept; what the limited nodes cannot take goes to nodes without one, or stays unplaced', () => {
    const n: PlacementNode[] = [
      { id: 'small', weight: 1, maxStreams: 1 },
      { id: 'big', weight: 1, maxStreams: 0 },
    ];
    const p = placeStreams(streams(10), n);
    expect(p.size).toBe(10);
    expect(loads(p).get('small')).toBe(1);
    const limited = placeStreams(streams(10), [
      { id: 'a', weight: 1, maxStreams: 2 },
      { id: 'b', weight: 1, maxStreams: 3 },
    ]);
    expect(limited.size).toBe(5);
    expect(loads(limited).get('a')).toBe(2);
    expect(loads(limited).get('b')).toBe(3);
    expect(placeStreams(streams(3), [])).toEqual(new Map());
  });
});

const result = (): FrameResult => ({
  streamId: 'cam1',
  seq: 7,
  index: 3,
  pts: 0.2,
  width: 640,
  height: 480,
  detections: [
    { box: [1, 2, 3, 4], score: 0.9, class: 0, label: 'person', trackId: 2 },
    { box: [5, 6, 7, 8], score: 0.5, class: 1, label: 'car' },
  ],
  timing: { captureTs: 1000.5, stages: { infer: 3.2, track: 0.1 }, sendTs: 1010 },
  events: [{ id: 'e1', type: 'zone_enter', stream: 'cam1', zone: 'z', track_id: 2, class: 0, label: 'person', box: [1, 2, 3, 4], frame: 3, pts: 0.2 }],
  jpeg: new Uint8Array([0xff, 0xd8, 1, 2, 3]),
});

describe('relay wire format', () => {
  it('a result crosses without its pixels; with video, the JPEG travels beside it byte for byte', () => {
    const r = result();
    const plain = decodeRelayedResult(Buffer.from(encodeRelayedResult(r)));
    const { jpeg: _j, ...rest } = r;
    expect(plain).toEqual(rest);
    const video = decodeRelayedVideo(encodeRelayedVideo(r, r.jpeg!));
    expect(Buffer.from(video.jpeg!)).toEqual(Buffer.from(r.jpeg!));
    expect({ ...video, jpeg: undefined }).toEqual({ ...rest, jpeg: undefined });
  });

  it('track ids are offset in detections and events; untracked detections stay untracked', () => {
    const r = result();
    expect(offsetTrackIds(r, 1000)).toBe(1002);
    expect(r.detections.map((d) => d.trackId)).toEqual([1002, undefined]);
    expect(r.events![0].track_id).toBe(1002);
    const zero = result();
    expect(offsetTrackIds(zero, 0)).toBe(2);
    expect(zero.detections[0].trackId).toBe(2);
  });

  it('followers: a stream needs video while one follower wants it, results while any follows', () => {
    const f = new Followers();
    const a = f.add('cam1', false);
    expect(f.need('cam1')).toBe('results');
    const b = f.add('cam1', true);
    expect(f.need('cam1')).toBe('video');
    b();
    b();
    expect(f.need('cam1')).toBe('results');
    a();
    expect(f.need('cam1')).toBeUndefined();
    expect(f.streams()).toEqual([]);
  });
});

describe('cluster config', () => {
  it('fills in the knobs and checks them against each other', () => {
    const c = parseConfig({ cluster: { redis: 'redis://10.0.0.5:6379/1' } }, '/tmp');
    expect(c.cluster).toEqual({ redis: 'redis://10.0.0.5:6379/1', heartbeatMs: 1000, nodeTtlMs: 5000, leaseTtlMs: 5000, maxStreams: 0, weight: 1, loadFactor: 1.25 });
    expect(parseConfig({}, '/tmp').cluster).toBeUndefined();
    expect(() => parseConfig({ cluster: { redis: 'http://x' } }, '/tmp')).toThrow('cluster.redis: expected a redis:// or rediss:// URL');
    let err: ConfigError | undefined;
    try {
      parseConfig({ cluster: { redis: 'redis://h', heartbeatMs: 5000, leaseTtlMs: 4000 } }, '/tmp');
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.issues).toEqual([
      { path: 'cluster.nodeTtlMs', message: 'expected > heartbeatMs (5000), got 5000' },
      { path: 'cluster.leaseTtlMs', message: 'expected > heartbeatMs (5000), got 4000' },
    ]);
  });
});
