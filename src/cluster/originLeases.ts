// The origin leases: which node's publisher has a room. A node whose publisher connects
// claims `origin:{room}` (set if absent, or re-set if already its own, with an expiry of
// ENTRY_TTL_MS), renews it every REFRESH_MS while the publish lasts, and deletes it (if
// still its own) when the publish ends. Claiming and renewing are one script, so a node never
// overwrites another's lease. A claim another node holds is lost: the caller ends its publish.
// A publisher gone stale (no media) is not renewed but only checked: its lease expires and
// another node may take the room, as a new WHIP POST may replace a stale publisher on one node.
import { KEYS, ENTRY_TTL_MS } from './keys';
import type { Command } from './connection';

/** Sets the lease to ARGV[1] when it is absent or already ARGV[1]; answers the holder either way. */
const HOLD = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return ARGV[1] end
return v`;
/** Deletes the lease only when it is still ARGV[1]'s. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface ClaimHooks {
  /** The publisher has sent no media for a while: its lease is checked, no longer renewed. */
  stale(): boolean;
  /** Another node holds the room: this node's publish must end. */
  lost(holder: string): void;
}

/** One publish's claim on its room's lease. */
export interface Claim {
  /** The publish ended: the lease is deleted if it is still ours, and no longer renewed. */
  release(): void;
}

export class OriginLeases {
  private readonly claims = new Map<string, ClaimHooks>();

  constructor(
    private readonly command: Command,
    private readonly nodeId: string,
    private readonly onError: (what: string, error: unknown) => void,
  ) {}

  /** Claims `room` for this node now, and renews the claim on each `refresh()` until released. */
  claim(room: string, hooks: ClaimHooks): Claim {
    this.claims.set(room, hooks);
    this.hold(room, hooks);
    return {
      release: () => {
        if (this.claims.get(room) !== hooks) return;
        this.claims.delete(room);
        this.command(['EVAL', RELEASE, '1', KEYS.origin(room), this.nodeId]).catch((error: unknown) => this.onError('origin lease release', error));
      },
    };
  }

  /** Renews (or, after Redis lost them, re-asserts) every claim; checks those gone stale. */
  refresh(): void {
    for (const [room, hooks] of this.claims) {
      if (hooks.stale()) this.check(room, hooks);
      else this.hold(room, hooks);
    }
  }

  /** The node holding `room`'s lease; undefined when none does. Rejects when Redis cannot be read. */
  async holder(room: string): Promise<string | undefined> {
    const holder = await this.command(['GET', KEYS.origin(room)]);
    return typeof holder === 'string' ? holder : undefined;
  }

  private hold(room: string, hooks: ClaimHooks): void {
    this.command(['EVAL', HOLD, '1', KEYS.origin(room), this.nodeId, String(ENTRY_TTL_MS)]).then(
      (holder) => this.settle(room, hooks, holder),
      (error: unknown) => this.onError('origin lease', error),
    );
  }

  private check(room: string, hooks: ClaimHooks): void {
    this.holder(room).then(
      (holder) => this.settle(room, hooks, holder),
      (error: unknown) => this.onError('origin lease check', error),
    );
  }

  private settle(room: string, hooks: ClaimHooks, holder: unknown): void {
    if (typeof holder !== 'string' || holder === this.nodeId || this.claims.get(room) !== hooks) return;
    this.claims.delete(room);
    hooks.lost(holder);
  }
}
