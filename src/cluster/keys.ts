// The cluster's directory in Redis: every key onecast writes, and how long each lives. Nothing
// is kept only in Redis: each node re-asserts its own entries every REFRESH_MS (and at once
// when the connection comes back), so an entry whose node died is gone within ENTRY_TTL_MS and
// a Redis that restarted empty is whole again within one refresh.

/** Every key starts with this; a database number in REDIS_URL keeps two clusters apart on one Redis. */
const PREFIX = 'onecast:';

/** How long an entry outlives its node's last refresh: what a dead node or a stale publisher can hold a room for. */
export const ENTRY_TTL_MS = 10_000;
/** How often a node re-asserts its entries: three refreshes fit in one expiry, so one lost or late refresh loses nothing. */
export const REFRESH_MS = 3_000;
/** A room's viewer count on this node is written at most this often while it keeps changing. */
export const VIEWER_COUNT_BATCH_MS = 1_000;

export const KEYS = {
  /** String: the id of the node whose publisher has the room (its origin). */
  origin: (room: string) => `${PREFIX}origin:${room}`,
  /** Hash: a node's URL, limit and load (url, maxViewers, maxRelays, viewers, publishers, relays, cpu, updatedAt). */
  node: (nodeId: string) => `${PREFIX}node:${nodeId}`,
  /** Sorted set: every node id, scored by its last refresh (ms, Redis' clock), the registry's index. */
  nodes: `${PREFIX}nodes`,
  /** Hash: relaying node id → "parentId:depth", the room's relay tree (relayTree.ts). */
  relays: (room: string) => `${PREFIX}relays:${room}`,
  /** Hash: node id → the room's viewers on that node. */
  viewers: (room: string) => `${PREFIX}viewers:${room}`,
};
