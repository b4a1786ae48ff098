// Which node a node pulls a room from, so that a large audience is served by a tree (origin →
// edges → edges) rather than by every edge pulling from the origin: the origin while it has
// fewer than its MAX_RELAYS children, else the shallowest node already relaying the room with
// a child to spare. Depth is bounded by MAX_TREE_DEPTH, and a node never picks itself or a node
// below it, so no pull can loop back to the node that makes it.

/** Relays below the origin at most: origin → 4 levels of edges (a hop adds under a millisecond on loopback, see README). */
export const MAX_TREE_DEPTH = 4;

/** A node relaying the room: whom it pulls from, and how far below the origin it is (1: from the origin). */
export interface RelayRecord {
  parent: string;
  depth: number;
}

export interface TreeState {
  /** The node with the room's publisher. */
  origin: string;
  /** The node choosing. */
  self: string;
  /** Relaying node id → its record (of live nodes only). */
  relays: ReadonlyMap<string, RelayRecord>;
  /** A node's MAX_RELAYS (0: no limit); a node not known has none. */
  maxRelays(nodeId: string): number;
}

/** The node to pull from and the depth the chooser will be at; 'full': every node that may take one more child has none to spare. */
export type ParentChoice = { nodeId: string; depth: number } | 'full';

export function chooseParent(tree: TreeState): ParentChoice {
  const children = new Map<string, number>();
  for (const [id, r] of tree.relays) if (id !== tree.self) children.set(r.parent, (children.get(r.parent) ?? 0) + 1);
  const spare = (id: string) => {
    const max = tree.maxRelays(id);
    return max === 0 || (children.get(id) ?? 0) < max;
  };
  if (tree.origin !== tree.self && spare(tree.origin)) return { nodeId: tree.origin, depth: 1 };
  const below = descendantsOf(tree.self, tree.relays);
  const candidates = [...tree.relays]
    .filter(([id, r]) => id !== tree.self && !below.has(id) && r.depth < MAX_TREE_DEPTH && spare(id))
    .sort(([a, ra], [b, rb]) => ra.depth - rb.depth || a.localeCompare(b));
  const best = candidates[0];
  return best === undefined ? 'full' : { nodeId: best[0], depth: best[1].depth + 1 };
}

/** Every node that pulls, directly or not, from `node`. */
function descendantsOf(node: string, relays: ReadonlyMap<string, RelayRecord>): Set<string> {
  const below = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [id, r] of relays) {
      if (below.has(id) || (r.parent !== node && !below.has(r.parent))) continue;
      below.add(id);
      grew = true;
    }
  }
  return below;
}

/** A record as kept in Redis: "parentId:depth" (node ids have no colon). */
export function formatRelayRecord(r: RelayRecord): string {
  return `${r.parent}:${r.depth}`;
}

export function parseRelayRecord(raw: string): RelayRecord | undefined {
  const at = raw.lastIndexOf(':');
  const depth = Number(raw.slice(at + 1));
  if (at <= 0 || !Number.isInteger(depth) || depth < 1) return undefined;
  return { parent: raw.slice(0, at), depth };
}
