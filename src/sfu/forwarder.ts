// One viewer's copy of one publisher track: rewrites each packet into what the
// viewer negotiated and sends it through the viewer's session. A video forwarder
// starts (and restarts after a change of publisher) only on a keyframe: anything
// before it would be undecodable.
import type { Session } from '../engine/session';
import { MAX_HEADER, RtpRewriter } from '../rtp/rewriter';
import type { RtpView } from '../rtp/rtpPacket';
import { EXTENSION_URI, type PlayMedia } from '../sdp/types';
import type { CachedPacket } from './packetCache';
import type { MediaKind } from '../rtp/mediaKind';

export interface ForwarderCounters {
  packets: number;
  bytes: number;
  resent: number;
  /** NACKed packets not resent: over RESENDS_PER_SECOND. */
  resendsRefused: number;
  skippedBeforeKeyframe: number;
}

/**
 * Retransmissions one viewer may have per second, per track (a token bucket): enough to
 * repair heavy loss at several Mbit/s. Without it one NACK datagram naming the whole packet
 * cache over and over cost ~2 000 retransmissions; 300 of them kept the server's thread busy
 * for seconds while every other viewer waited.
 */
export const RESENDS_PER_SECOND = 500;

export class Forwarder {
  readonly counters: ForwarderCounters = { packets: 0, bytes: 0, resent: 0, resendsRefused: 0, skippedBeforeKeyframe: 0 };
  readonly kind: MediaKind;
  readonly codecName: string;
  private readonly rewriter: RtpRewriter;
  /** Scratch space for the rewritten header: the payload is never copied before encryption. */
  private readonly header = Buffer.alloc(MAX_HEADER);
  private waitingForKeyframe: boolean;
  private sourceSsrc: number | undefined;
  /** When the viewer got its first packet (ms), for join-to-first-packet figures. */
  firstPacketAt: number | undefined;
  private resendTokens = RESENDS_PER_SECOND;
  private resendTokensAt = 0;
  private closed = false;

  constructor(
    private readonly session: Session,
    media: PlayMedia,
    readonly ssrc: number,
  ) {
    this.kind = media.kind;
    this.codecName = media.codec.name;
    const midExtensionId = media.extensions.find((e) => e.uri === EXTENSION_URI.mid)?.id;
    this.rewriter = new RtpRewriter({
      ssrc,
      payloadType: media.codec.payloadType,
      clockRate: media.codec.clockRate,
      mid: media.mid,
      ...(midExtensionId !== undefined ? { midExtensionId } : {}),
    });
    this.waitingForKeyframe = media.kind === 'video';
  }

  /** Its viewer has gone: nothing more is sent. */
  close(): void {
    this.closed = true;
  }

  /** Sends a live packet; returns false if it was held back (no keyframe yet). */
  forward(packet: Buffer, view: RtpView, keyframeStart: boolean, now: number): boolean {
    if (view.ssrc !== this.sourceSsrc) {
      this.sourceSsrc = view.ssrc;
      this.waitingForKeyframe = this.kind === 'video';
    }
    if (this.waitingForKeyframe) {
      if (!keyframeStart) {
        this.counters.skippedBeforeKeyframe++;
        return false;
      }
      this.waitingForKeyframe = false;
    }
    this.send(packet, view, now);
    return true;
  }

  /** Starts the viewer on the cached group of pictures (keyframe first). */
  sendKeyframeGroup(group: readonly CachedPacket[], now: number): boolean {
    if (group.length === 0) return false;
    this.sourceSsrc = group[0]!.view.ssrc;
    this.waitingForKeyframe = false;
    for (const { packet, view } of group) this.send(packet, view, now);
    return true;
  }

  /** The viewer's NACKed sequence numbers, mapped back to the publisher's, each once. */
  sourceSequenceNumbers(viewerSeqs: readonly number[]): number[] {
    const out = new Set<number>();
    for (const seq of viewerSeqs) {
      const source = this.rewriter.toSourceSeq(seq);
      if (source !== undefined) out.add(source);
    }
    return [...out];
  }

  resend(cached: CachedPacket, now: number): void {
    // Only packets of the source the viewer's numbering currently follows.
    if (cached.view.ssrc !== this.rewriter.sourceSsrc()) return;
    this.resendTokens = Math.min(RESENDS_PER_SECOND, this.resendTokens + ((now - this.resendTokensAt) * RESENDS_PER_SECOND) / 1000);
    this.resendTokensAt = now;
    if (this.resendTokens < 1) {
      this.counters.resendsRefused++;
      return;
    }
    this.resendTokens--;
    this.counters.resent++;
    this.send(cached.packet, cached.view, now);
  }

  /**
   * For a Sender Report of `sourceSsrc`: how the viewer's timestamps relate to it.
   * Undefined while the viewer's numbering does not follow that source yet (a new
   * publisher's video before its first keyframe): its offset would be the old one's.
   */
  senderInfo(sourceSsrc: number): { ssrc: number; timestampOffset: number; packetCount: number; octetCount: number } | undefined {
    const offset = this.rewriter.timestampOffset;
    if (offset === undefined || this.firstPacketAt === undefined) return undefined;
    if (this.rewriter.sourceSsrc() !== sourceSsrc || this.waitingForKeyframe) return undefined;
    return { ssrc: this.ssrc, timestampOffset: offset, packetCount: this.rewriter.packetsSent, octetCount: this.rewriter.octetsSent };
  }

  private send(packet: Buffer, view: RtpView, now: number): void {
    if (this.closed) return;
    const length = this.rewriter.writeHeader(view, now, this.header);
    const payload = packet.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength);
    if (this.session.sendRtpParts(this.header, length, payload)) {
      this.firstPacketAt ??= now;
      this.counters.packets++;
      this.counters.bytes += length + payload.length;
    }
  }
}
