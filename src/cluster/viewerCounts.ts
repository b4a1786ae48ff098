// Each room's viewers on this node, in `viewers:{room}` (field: this node's id), so a count
// over the cluster is one HGETALL (fields of nodes without a registry entry left out). A count
// that keeps changing is written at most once every VIEWER_COUNT_BATCH_MS; every count is
// rewritten on each refresh, which renews the key's expiry and restores it after a Redis restart.
import { ENTRY_TTL_MS, KEYS, VIEWER_COUNT_BATCH_MS } from './keys';
import type { Command } from './connection';

export class ViewerCounts {
  /** The rooms with viewers here, and their counts. */
  private readonly counts = new Map<string, number>();
  /** Rooms whose count changed since it was last written. */
  private readonly changed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly command: Command,
    private readonly nodeId: string,
    private readonly onError: (what: string, error: unknown) => void,
  ) {}

  /** `room` has `viewers` here now; written within VIEWER_COUNT_BATCH_MS. */
  set(room: string, viewers: number): void {
    if (viewers === 0) this.counts.delete(room);
    else this.counts.set(room, viewers);
    this.changed.add(room);
    this.timer ??= setTimeout(() => this.flush(), VIEWER_COUNT_BATCH_MS);
  }

  /** Rewrites every count (the refresh). */
  refresh(): void {
    for (const room of this.counts.keys()) this.changed.add(room);
    this.flush();
  }

  /** Writes what changed now (at shutdown: this node's counts, gone to 0, leave their rooms' keys). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const room of this.changed) this.write(room, this.counts.get(room) ?? 0);
    this.changed.clear();
  }

  private write(room: string, viewers: number): void {
    const key = KEYS.viewers(room);
    const written =
      viewers === 0
        ? this.command(['HDEL', key, this.nodeId])
        : Promise.all([this.command(['HSET', key, this.nodeId, String(viewers)]), this.command(['PEXPIRE', key, String(ENTRY_TTL_MS)])]);
    written.catch((error: unknown) => {
      // Written again at the next refresh (a count of 0 too: its field must not outlive it).
      this.changed.add(room);
      this.onError('viewer count', error);
    });
  }
}
