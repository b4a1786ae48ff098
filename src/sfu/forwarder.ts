// One viewer's copy of one publisher track, and the viewers of one track as a group:
// what the room needs of them, whichever fan-out path does the work. The JavaScript
// path (jsFanout.ts) is the reference; the native one (nativeFanout.ts) rewrites,
// encrypts and sends in C and must put the same bytes on the wire.
import type { Session } from '../engine/session';
import type { RewriterOptions } from '../rtp/rewriter';
import type { RtpView } from '../rtp/rtpPacket';
import { EXTENSION_URI, type PlayMedia } from '../sdp/types';
import type { CachedPacket } from './packetCache';
import type { MediaKind } from '../rtp/mediaKind';

export interface ForwarderCounters {
  /** RTP packets sent, and their bytes before SRTP. */
  packets: number;
  bytes: number;
  resent: number;
  /** NACKed packets not resent: over RESENDS_PER_SECOND. */
  resendsRefused: number;
  skippedBeforeKeyframe: number;
  /**
   * Datagrams sent on the media socket directly, past the UDP mux's counters, and their bytes
   * on the wire (the native path; the JavaScript path sends through the mux, which counts them).
   */
  directDatagrams: number;
  directBytes: number;
  /** Datagrams dropped: the socket's send buffer was full (never queued) or the send failed. */
  dropped: number;
}

/** How a viewer's timestamps relate to a publisher's, for translating its Sender Reports. */
export interface SenderInfo {
  ssrc: number;
  timestampOffset: number;
  packetCount: number;
  octetCount: number;
}

export interface Forwarder {
  readonly kind: MediaKind;
  readonly codecName: string;
  /** The SSRC the viewer receives this track on. */
  readonly ssrc: number;
  readonly counters: Readonly<ForwarderCounters>;
  /** When the viewer got its first packet (ms), for join-to-first-packet figures. */
  readonly firstPacketAt: number | undefined;
  /** Starts the viewer on the cached group of pictures (keyframe first); false if there is none. */
  sendKeyframeGroup(group: readonly CachedPacket[], now: number): boolean;
  /** The viewer's NACKed sequence numbers, mapped back to the publisher's, each once. */
  sourceSequenceNumbers(viewerSeqs: readonly number[]): number[];
  /** Sends a cached packet again (a NACK), within RESENDS_PER_SECOND. */
  resend(cached: CachedPacket, now: number): void;
  /**
   * For a Sender Report of `sourceSsrc`: how the viewer's timestamps relate to it.
   * Undefined while the viewer's numbering does not follow that source yet (a new
   * publisher's video before its first keyframe): its offset would be the old one's.
   */
  senderInfo(sourceSsrc: number): SenderInfo | undefined;
  /** Its viewer has gone: nothing more is sent. */
  close(): void;
}

/** The forwarders of the viewers of one track (one kind, one codec) in a room. */
export interface TrackGroup {
  add(forwarder: Forwarder): void;
  remove(forwarder: Forwarder): void;
  /**
   * Sends a live publisher packet to every connected viewer in the group. A video
   * forwarder starts (and restarts after a change of publisher) only on a keyframe:
   * anything before it would be undecodable. Returns whether one is waiting for one.
   */
  forward(packet: Buffer, view: RtpView, keyframeStart: boolean, now: number): boolean;
}

/** A way of fanning packets out: the forwarders and groups it makes work together. */
export interface FanoutPath {
  readonly name: 'native' | 'js';
  createForwarder(session: Session, media: PlayMedia, ssrc: number): Forwarder;
  createGroup(): TrackGroup;
}

/**
 * Retransmissions one viewer may have per second, per track (a token bucket): enough to
 * repair heavy loss at several Mbit/s. Without it one NACK datagram naming the whole packet
 * cache over and over cost ~2 000 retransmissions; 300 of them kept the server's thread busy
 * for seconds while every other viewer waited.
 */
export const RESENDS_PER_SECOND = 500;

/** The token bucket behind RESENDS_PER_SECOND, one per forwarder. */
export class ResendBudget {
  private tokens = RESENDS_PER_SECOND;
  private tokensAt = 0;

  /** Takes a token if there is one. */
  take(now: number): boolean {
    this.tokens = Math.min(RESENDS_PER_SECOND, this.tokens + ((now - this.tokensAt) * RESENDS_PER_SECOND) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

/** The rewriter settings a viewer's negotiated media asks for (both paths rewrite with them). */
export function rewriterOptions(media: PlayMedia, ssrc: number): RewriterOptions {
  const midExtensionId = media.extensions.find((e) => e.uri === EXTENSION_URI.mid)?.id;
  return {
    ssrc,
    payloadType: media.codec.payloadType,
    clockRate: media.codec.clockRate,
    mid: media.mid,
    ...(midExtensionId !== undefined ? { midExtensionId } : {}),
  };
}
