// What the directory tells about the whole cluster, read from the keys every node keeps
// (keys.ts): the rooms published anywhere (their origin leases) and each room's viewers
// summed over the nodes. A relaying node writes its viewers minus its one pull (its relay is
// a viewer of its upstream), so the sum counts people watching, not server-to-server pulls.
import { KEYS } from './keys';
import type { Command } from './connection';

/** A room published somewhere in the cluster. */
export interface ClusterRoom {
  room: string;
  /** The id of the node holding its origin lease. */
  origin: string;
  /** Its viewers summed over every node. */
  viewers: number;
}

/** Leases read per SCAN step: a cluster has far fewer live rooms than this costs to walk. */
const SCAN_COUNT = '500';

/** The sum of a `viewers:{room}` hash (node id → count), as HGETALL gives it; never below 0. */
export function sumOfCounts(counts: Record<string, string | undefined> | null | undefined): number {
  let sum = 0;
  for (const value of Object.values(counts ?? {})) {
    const n = Number(value);
    if (Number.isFinite(n)) sum += n;
  }
  return Math.max(0, sum);
}

/** `room`'s viewers over the cluster. Rejects when Redis cannot be read. */
export async function clusterViewersOf(command: Command, room: string): Promise<number> {
  return sumOfCounts((await command(['HGETALL', KEYS.viewers(room)])) as Record<string, string>);
}

/** Every room with an origin lease, with its origin and summed viewers, by name. Rejects when Redis cannot be read. */
export async function clusterRooms(command: Command): Promise<ClusterRoom[]> {
  const pattern = KEYS.origin('*');
  const prefix = pattern.slice(0, -1);
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = (await command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT])) as [string, string[]];
    for (const key of batch) keys.add(key);
    cursor = next;
  } while (cursor !== '0');
  const rooms = await Promise.all(
    [...keys].map(async (key): Promise<ClusterRoom | undefined> => {
      const room = key.slice(prefix.length);
      const [origin, viewers] = await Promise.all([command(['GET', key]), clusterViewersOf(command, room)]);
      // Expired between the SCAN and the GET.
      return typeof origin === 'string' ? { room, origin, viewers } : undefined;
    }),
  );
  return rooms.filter((r): r is ClusterRoom => r !== undefined).sort((a, b) => a.room.localeCompare(b.room));
}
