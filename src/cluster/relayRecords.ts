// This node's relays in the rooms' relay trees: `relays:{room}` (field: this node's id, value
// "parentId:depth"), written when a relay connects, removed when it ends, rewritten on each
// refresh (renewing the key's expiry, restoring it after a Redis restart); and the reading of a
// room's tree for the parent choice (relayTree.ts).
import { ENTRY_TTL_MS, KEYS } from './keys';
import type { Command } from './connection';
import { formatRelayRecord, parseRelayRecord, type RelayRecord } from './relayTree';

export class RelayRecords {
  private readonly mine = new Map<string, RelayRecord>();

  constructor(
    private readonly command: Command,
    private readonly nodeId: string,
    private readonly onError: (what: string, error: unknown) => void,
  ) {}

  set(room: string, record: RelayRecord): void {
    this.mine.set(room, record);
    this.write(room, record);
  }

  delete(room: string): void {
    this.mine.delete(room);
    this.command(['HDEL', KEYS.relays(room), this.nodeId]).catch((error: unknown) => this.onError('relay record', error));
  }

  refresh(): void {
    for (const [room, record] of this.mine) this.write(room, record);
  }

  /** The room's relaying nodes and their records. Rejects when Redis cannot be read. */
  async of(room: string): Promise<Map<string, RelayRecord>> {
    const h = (await this.command(['HGETALL', KEYS.relays(room)])) as Record<string, string>;
    const records = new Map<string, RelayRecord>();
    for (const [id, raw] of Object.entries(h)) {
      const record = parseRelayRecord(raw);
      if (record !== undefined) records.set(id, record);
    }
    return records;
  }

  private write(room: string, record: RelayRecord): void {
    const key = KEYS.relays(room);
    Promise.all([this.command(['HSET', key, this.nodeId, formatRelayRecord(record)]), this.command(['PEXPIRE', key, String(ENTRY_TTL_MS)])]).catch(
      (error: unknown) => this.onError('relay record', error),
    );
  }
}
