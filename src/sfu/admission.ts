// Who may open a session now. Capacity is split so that no one can take what others
// need: publishers and viewers have limits of their own (viewers never take a
// publisher's place), and sessions that have not connected yet, the only kind a
// stranger gets for the price of one HTTP request, are limited per client address
// and in total. A refusal names the setting whose limit is reached and when to retry.
import { isIPv6 } from 'node:net';
import type { Session } from '../engine/session';
import { unmapIPv4 } from '../engine/address';

export interface AdmissionLimits {
  /** MAX_PUBLISHERS: WHIP sessions at once; 0: no limit. */
  maxPublishers: number;
  /** MAX_VIEWERS: WHEP sessions at once, all rooms; 0: no limit. */
  maxViewers: number;
  /** MAX_ROOM_VIEWERS: WHEP sessions at once in one room; 0: no limit. */
  maxRoomViewers: number;
  /** MAX_RELAYS: other nodes of a cluster pulling one room at once; 0: no limit. */
  maxRelays: number;
  /** MAX_SESSIONS: viewers are refused once publishers + viewers reach it; 0: no limit. */
  maxSessions: number;
  /** MAX_PENDING: sessions not connected yet, all addresses; 0: no limit. */
  maxPending: number;
  /** MAX_PENDING_PER_ADDRESS: sessions not connected yet from one client address; 0: no limit. */
  maxPendingPerAddress: number;
}

export interface AdmissionRequest {
  kind: 'publish' | 'play';
  room: string;
  /** The client's address as its HTTP connection came from; undefined when not known. */
  client: string | undefined;
  /**
   * The request carried a token strangers do not have (PUBLISH_TOKEN; PLAY_TOKEN is
   * shared with the audience): its session does not count as pending.
   */
  trusted: boolean;
  /**
   * A play by another node of the cluster (its cluster credential): a relay, counted under
   * MAX_RELAYS per room instead of the viewer limits, and never pending (it is trusted).
   */
  relay?: boolean;
}

/** The settings that limit sessions. */
export type SessionLimit = 'MAX_PUBLISHERS' | 'MAX_RELAYS' | 'MAX_ROOM_VIEWERS' | 'MAX_VIEWERS' | 'MAX_SESSIONS' | 'MAX_PENDING_PER_ADDRESS' | 'MAX_PENDING';

/** Why a session may not be had now: `limit` is reached (its value `max`; `room`, the request's room). */
export interface Refusal {
  limit: SessionLimit;
  max: number;
  room: string;
  /** When trying again may succeed. */
  retryAfterSeconds: number;
}

/** Another node may have room to relay from: the pulling node tries elsewhere before then. */
const RELAYS_RETRY_AFTER_SECONDS = 2;
/** A full server frees up as sessions end: minutes for viewers, so ask for a pause. */
const FULL_RETRY_AFTER_SECONDS = 10;
/** Sessions stop being pending within a second when they connect, or at the 10 s ICE deadline when they never do. */
const PENDING_RETRY_AFTER_SECONDS = 5;

/**
 * Whose pending sessions are counted together: an IPv4 address, or an IPv6 /64 (one
 * subscriber's prefix; anyone holding one has 2^64 addresses to rotate through).
 */
export function clientKey(address: string): string {
  const a = unmapIPv4(address);
  if (!isIPv6(a)) return a;
  const split = (part: string | undefined) => (part === undefined || part === '' ? [] : part.split(':'));
  const [head, tail] = a.split('%')[0]!.split('::');
  const groups = split(head);
  // "::" stands for as many zero groups as make eight.
  if (tail !== undefined) groups.push(...Array<string>(8 - groups.length - split(tail).length).fill('0'), ...split(tail));
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export class Admission {
  private publishers = 0;
  private viewers = 0;
  private readonly roomViewers = new Map<string, number>();
  private readonly roomRelays = new Map<string, number>();
  private pending = 0;
  private readonly pendingByClient = new Map<string, number>();

  constructor(private readonly limits: AdmissionLimits) {}

  /** Why `request` may not have a session now, or undefined when it may. */
  check(request: AdmissionRequest): Refusal | undefined {
    const l = this.limits;
    const refusal = (limit: SessionLimit, max: number, retryAfterSeconds: number): Refusal => ({ limit, max, room: request.room, retryAfterSeconds });
    if (request.kind === 'publish') {
      if (l.maxPublishers > 0 && this.publishers >= l.maxPublishers) return refusal('MAX_PUBLISHERS', l.maxPublishers, FULL_RETRY_AFTER_SECONDS);
    } else if (request.relay === true) {
      if (l.maxRelays > 0 && (this.roomRelays.get(request.room) ?? 0) >= l.maxRelays) return refusal('MAX_RELAYS', l.maxRelays, RELAYS_RETRY_AFTER_SECONDS);
    } else {
      if (l.maxRoomViewers > 0 && (this.roomViewers.get(request.room) ?? 0) >= l.maxRoomViewers)
        return refusal('MAX_ROOM_VIEWERS', l.maxRoomViewers, FULL_RETRY_AFTER_SECONDS);
      if (l.maxViewers > 0 && this.viewers >= l.maxViewers) return refusal('MAX_VIEWERS', l.maxViewers, FULL_RETRY_AFTER_SECONDS);
      if (l.maxSessions > 0 && this.publishers + this.viewers >= l.maxSessions) return refusal('MAX_SESSIONS', l.maxSessions, FULL_RETRY_AFTER_SECONDS);
    }
    if (request.trusted) return undefined;
    if (l.maxPendingPerAddress > 0 && request.client !== undefined && (this.pendingByClient.get(clientKey(request.client)) ?? 0) >= l.maxPendingPerAddress) {
      return refusal('MAX_PENDING_PER_ADDRESS', l.maxPendingPerAddress, PENDING_RETRY_AFTER_SECONDS);
    }
    if (l.maxPending > 0 && this.pending >= l.maxPending) return refusal('MAX_PENDING', l.maxPending, PENDING_RETRY_AFTER_SECONDS);
    return undefined;
  }

  /** Counts `session` (admitted by check()) until it closes, and as pending until it connects. */
  admit(session: Session, request: AdmissionRequest): void {
    if (request.kind === 'publish') {
      this.publishers++;
      session.once('closed', () => this.publishers--);
    } else if (request.relay === true) {
      countIn(this.roomRelays, request.room, session);
    } else {
      this.viewers++;
      countIn(this.roomViewers, request.room, session);
      session.once('closed', () => this.viewers--);
    }
    if (request.trusted) return;
    const key = request.client === undefined ? undefined : clientKey(request.client);
    this.pending++;
    if (key !== undefined) this.pendingByClient.set(key, (this.pendingByClient.get(key) ?? 0) + 1);
    let counted = true;
    const settle = () => {
      if (!counted) return;
      counted = false;
      this.pending--;
      if (key === undefined) return;
      const left = (this.pendingByClient.get(key) ?? 1) - 1;
      if (left === 0) this.pendingByClient.delete(key);
      else this.pendingByClient.set(key, left);
    };
    session.once('connected', settle);
    session.once('closed', settle);
  }

  /** Other nodes pulling `room` from this one now. */
  relaysOf(room: string): number {
    return this.roomRelays.get(room) ?? 0;
  }

  /** Sessions not connected yet (for tests and metrics). */
  get pendingCount(): number {
    return this.pending;
  }
}

/** Counts `session` under `room` in `counts` until it closes. */
function countIn(counts: Map<string, number>, room: string, session: Session): void {
  counts.set(room, (counts.get(room) ?? 0) + 1);
  session.once('closed', () => {
    const left = (counts.get(room) ?? 1) - 1;
    if (left === 0) counts.delete(room);
    else counts.set(room, left);
  });
}
