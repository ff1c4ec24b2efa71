/**
 * Which node runs which stream: weighted rendezvous (highest random weight) hashing with bounded
 * loads. Pure: every node computes the same answer from the same streams and nodes.
 *
 * - Rendezvous: each (stream, node) pair gets a pseudo-random score; a stream prefers the nodes in
 *   descending score order. A node joining is the first choice of about its share of the streams
 *   and of no other; a node leaving moves only its own streams.
 * - Bounded loads: a node takes at most ceil(loadFactor x streams x its weight share) streams (and
 *   at most its own limit); a stream whose preferred node is full goes to its next choice. Streams
 *   are considered in an order that does not depend on the nodes (their own hash), so the
 *   overflow of one node does not reshuffle the others.
 */
import { createHash } from 'node:crypto';

export interface PlacementNode {
  id: string;
  /** Share relative to the other nodes (> 0). */
  weight: number;
  /** Most streams the node runs; 0 = no limit. */
  maxStreams: number;
}

/** A uniform number in (0, 1) from the pair, the same on every machine. */
function unit(a: string, b: string): number {
  const h = createHash('sha256').update(a).update('\0').update(b).digest();
  // 52 bits: exact in a double; +0.5 keeps it away from 0 and 1.
  const hi = h.readUInt32BE(0) & 0xfffff;
  const lo = h.readUInt32BE(4);
  return (hi * 2 ** 32 + lo + 0.5) / 2 ** 52;
}

/** Weighted rendezvous score (Schindelhauer & Schomaker): -w / ln(u), larger is preferred. */
export function rendezvousScore(stream: string, node: PlacementNode): number {
  return -node.weight / Math.log(unit(stream, node.id));
}

/** The most streams each node takes, given the number of streams. */
export function nodeCaps(streamCount: number, nodes: readonly PlacementNode[], loadFactor: number): Map<string, number> {
  const total = nodes.reduce((sum, n) => sum + n.weight, 0);
  const caps = new Map<string, number>();
  for (const n of nodes) {
    // The small epsilon keeps ceil(1.25 * 8 / 4) at 3, not 4, despite rounding of the product.
    const share = Math.ceil((loadFactor * streamCount * n.weight) / total - 1e-9);
    caps.set(n.id, n.maxStreams > 0 ? Math.min(n.maxStreams, share) : share);
  }
  return caps;
}

/**
 * Assigns each stream to one node. Streams no node has room for (every node at its limit) are left
 * out of the map.
 */
export function placeStreams(streams: readonly string[], nodes: readonly PlacementNode[], loadFactor = 1.25): Map<string, string> {
  const placement = new Map<string, string>();
  if (nodes.length === 0) return placement;
  const caps = nodeCaps(streams.length, nodes, loadFactor);
  const load = new Map(nodes.map((n) => [n.id, 0]));
  const left: Array<{ id: string; ranked: Array<{ n: PlacementNode; score: number }> }> = [];
  const order = [...new Set(streams)].map((id) => ({ id, key: unit(id, '') })).sort((a, b) => a.key - b.key || (a.id < b.id ? -1 : 1));
  for (const { id } of order) {
    const ranked = nodes.map((n) => ({ n, score: rendezvousScore(id, n) })).sort((a, b) => b.score - a.score || (a.n.id < b.n.id ? -1 : 1));
    const chosen = ranked.find(({ n }) => load.get(n.id)! < caps.get(n.id)!);
    if (chosen) {
      placement.set(id, chosen.n.id);
      load.set(chosen.n.id, load.get(chosen.n.id)! + 1);
    } else left.push({ id, ranked });
  }
  // Nodes at their own limit left some over: those go, in preference order, to nodes below their limit.
  for (const { id, ranked } of left) {
    const chosen = ranked.find(({ n }) => n.maxStreams === 0 || load.get(n.id)! < n.maxStreams);
    if (!chosen) continue;
    placement.set(id, chosen.n.id);
    load.set(chosen.n.id, load.get(chosen.n.id)! + 1);
  }
  return placement;
}
