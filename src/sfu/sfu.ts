// The rooms and who may be in them: at most one publisher per room (an idle one gives
// way to a new one), any number of viewers, all within the admission limits. What a
// WHIP or WHEP request does with them is signaling/service.ts's business.
import type { Logger } from '../log';
import { Admission, type AdmissionLimits } from './admission';
import type { Publisher } from './publisher';
import { Rooms } from './rooms';
import type { FanoutPath } from './forwarder';

/**
 * A publisher that has sent no RTP for this long may be replaced by a new WHIP POST:
 * OBS reconnecting after a crash or a dropped link must not wait for consent (30 s).
 * A live publisher sends every 20 ms (Opus) or at the frame rate.
 */
export const PUBLISHER_IDLE_MS = 2_000;
/**
 * A publisher that has sent nothing yet (still in ICE or DTLS) counts as idle only once
 * this old: a handshake takes < 1 s on an idle machine (OBS-like client on loopback)
 * but seconds on a busy one, and two clients racing for a room should not evict each other.
 */
const CONNECTING_GRACE_MS = 5_000;
/** How often a WHIP POST waiting for a room's publisher to go silent looks again. */
const IDLE_POLL_MS = 100;

/** Whether a room's publisher may be replaced: no media for PUBLISHER_IDLE_MS, or still connecting after CONNECTING_GRACE_MS. */
export function isIdle(publisher: Publisher, now: number): boolean {
  const lastMedia = publisher.lastPacketAt();
  return lastMedia === undefined ? now - publisher.session.createdAt >= CONNECTING_GRACE_MS : now - lastMedia >= PUBLISHER_IDLE_MS;
}

export interface SfuOptions {
  log: Logger;
  limits: AdmissionLimits;
  /** How packets reach viewers (native or JavaScript). */
  fanout: FanoutPath;
}

export class Sfu {
  readonly rooms: Rooms;
  readonly admission: Admission;
  /** close() has begun. */
  private closed = false;

  constructor(private readonly options: SfuOptions) {
    this.rooms = new Rooms(options.fanout);
    this.admission = new Admission(options.limits);
  }

  /**
   * Before a new publisher for `roomName`: a publisher it has now that is idle (no media
   * for PUBLISHER_IDLE_MS) is closed at once ('replaced'), its viewers staying for the new
   * one. False when a live one keeps the room.
   */
  makeRoomForPublisher(roomName: string): boolean {
    const publisher = this.rooms.get(roomName)?.publisher;
    if (publisher === undefined) return true;
    const now = Date.now();
    if (!isIdle(publisher, now)) return false;
    const lastMedia = publisher.lastPacketAt();
    this.options.log.info('idle publisher replaced', {
      room: roomName,
      session: publisher.session.id,
      idleMs: now - (lastMedia ?? publisher.session.createdAt),
    });
    publisher.close('replaced');
    return true;
  }

  /**
   * Before a WHIP POST for `roomName`: waits while the room's publisher may be going
   * silent, at most PUBLISHER_IDLE_MS. OBS restarted after a crash POSTs at once, within
   * 2 s of the dead publisher's last packet: it gets 201 once that publisher has been
   * silent 2 s, not a 409. A live publisher keeps sending, and the POST then gets its
   * 409 after the wait.
   */
  async untilPublisherMayBeReplaced(roomName: string): Promise<void> {
    const deadline = Date.now() + PUBLISHER_IDLE_MS;
    for (;;) {
      const publisher = this.rooms.get(roomName)?.publisher;
      const now = Date.now();
      if (publisher === undefined || isIdle(publisher, now) || now >= deadline || this.closed) return;
      await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
    }
  }

  /** Closes every room, and with them every publisher's and viewer's session. */
  close(): void {
    this.closed = true;
    this.rooms.closeAll();
  }
}
