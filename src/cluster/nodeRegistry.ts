// The node registry: each node's entry (its URL and load) in `node:{id}`, with an expiry of
// ENTRY_TTL_MS renewed every REFRESH_MS, and its id in the `nodes` index. A node that dies
// drops out within ENTRY_TTL_MS; the index forgets it at the next refresh of any node.
import { cpuUsage } from 'node:process';
import { ENTRY_TTL_MS, KEYS } from './keys';
import type { Command } from './connection';

/** What a node carries now. */
export interface NodeLoad {
  /** WHEP sessions on this node. */
  viewers: number;
  /** Rooms whose publisher is on this node. */
  publishers: number;
  /** Rooms this node pulls from another node (its relays). */
  relays: number;
}

/** A node as /api/nodes lists it. */
export interface NodeEntry extends NodeLoad {
  id: string;
  /** Its NODE_URL. */
  url: string;
  /** Its MAX_VIEWERS (0: no limit): a full node sends viewers to one with room. */
  maxViewers: number;
  /** Its MAX_RELAYS (0: no limit): how many other nodes may pull one room from it. */
  maxRelays: number;
  /** Share of one CPU core this node's process used over its last refresh interval (1 = a whole core). */
  cpu: number;
  /** When it last refreshed its entry (ISO 8601, Redis' clock). */
  updatedAt: string;
}

/** A node's limits as other nodes read them from its entry. */
export type NodeLimits = Pick<NodeEntry, 'maxViewers' | 'maxRelays'>;

/** Writes the entry, renews its expiry, indexes it and forgets index entries older than the expiry, with Redis' clock. */
const REGISTER = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'updatedAt', now, unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
return now`;

export class NodeRegistry {
  private lastCpu = cpuUsage();
  private lastCpuAt = performance.now();

  constructor(
    private readonly command: Command,
    private readonly node: { id: string; url: string } & NodeLimits,
    private readonly load: () => NodeLoad,
  ) {}

  /** Writes this node's entry with its load now. Rejects when Redis cannot be written. */
  async register(): Promise<void> {
    const { viewers, publishers, relays } = this.load();
    const fields = [
      ...['url', this.node.url, 'viewers', String(viewers), 'publishers', String(publishers), 'relays', String(relays)],
      ...['maxViewers', String(this.node.maxViewers), 'maxRelays', String(this.node.maxRelays), 'cpu', this.cpuSinceLast().toFixed(3)],
    ];
    await this.command(['EVAL', REGISTER, '2', KEYS.node(this.node.id), KEYS.nodes, this.node.id, String(ENTRY_TTL_MS), ...fields]);
  }

  /** Removes this node's entry (a node that stops). */
  async deregister(): Promise<void> {
    await Promise.all([this.command(['DEL', KEYS.node(this.node.id)]), this.command(['ZREM', KEYS.nodes, this.node.id])]);
  }

  /** Every node whose entry has not expired, by id. Rejects when Redis cannot be read. */
  async list(): Promise<NodeEntry[]> {
    const ids = (await this.command(['ZRANGE', KEYS.nodes, '0', '-1'])) as string[];
    const entries = await Promise.all(ids.map((id) => this.entry(id)));
    return entries.filter((e): e is NodeEntry => e !== undefined).sort((a, b) => a.id.localeCompare(b.id));
  }

  private async entry(id: string): Promise<NodeEntry | undefined> {
    // RESP3 (node-redis' default): a map, read as an object.
    const h = (await this.command(['HGETALL', KEYS.node(id)])) as Record<string, string | undefined>;
    if (h['url'] === undefined) return undefined;
    return {
      id,
      url: h['url'],
      viewers: Number(h['viewers'] ?? 0),
      publishers: Number(h['publishers'] ?? 0),
      relays: Number(h['relays'] ?? 0),
      maxViewers: Number(h['maxViewers'] ?? 0),
      maxRelays: Number(h['maxRelays'] ?? 0),
      cpu: Number(h['cpu'] ?? 0),
      updatedAt: new Date(Number(h['updatedAt'] ?? 0)).toISOString(),
    };
  }

  private cpuSinceLast(): number {
    const now = performance.now();
    const used = cpuUsage(this.lastCpu);
    const share = (used.user + used.system) / 1000 / Math.max(1, now - this.lastCpuAt);
    this.lastCpu = cpuUsage();
    this.lastCpuAt = now;
    return share;
  }
}
