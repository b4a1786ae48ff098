// The fan-out in JavaScript: per viewer track, the header is rewritten (RtpRewriter)
// and the packet encrypted by the viewer's session (SrtpSender) and sent, one
// datagram at a time. The reference for the native path and its fallback.
import type { Session } from '../engine/session';
import { MAX_HEADER, RtpRewriter } from '../rtp/rewriter';
import type { RtpView } from '../rtp/rtpPacket';
import type { PlayMedia } from '../sdp/types';
import type { CachedPacket } from './packetCache';
import type { MediaKind } from '../rtp/mediaKind';
import { type FanoutPath, type Forwarder, type ForwarderCounters, ResendBudget, rewriterOptions, type SenderInfo, type TrackGroup } from './forwarder';

export class JsForwarder implements Forwarder {
  // Its datagrams go through the session and the UDP mux, which count them: none direct.
  readonly counters: ForwarderCounters = {
    packets: 0,
    bytes: 0,
    resent: 0,
    resendsRefused: 0,
    skippedBeforeKeyframe: 0,
    directDatagrams: 0,
    directBytes: 0,
    dropped: 0,
  };
  readonly kind: MediaKind;
  readonly codecName: string;
  firstPacketAt: number | undefined;
  private readonly rewriter: RtpRewriter;
  /** Scratch space for the rewritten header: the payload is never copied before encryption. */
  private readonly header = Buffer.alloc(MAX_HEADER);
  private waitingForKeyframe: boolean;
  private sourceSsrc: number | undefined;
  private readonly budget = new ResendBudget();
  private closed = false;

  constructor(
    readonly session: Session,
    media: PlayMedia,
    readonly ssrc: number,
  ) {
    this.kind = media.kind;
    this.codecName = media.codec.name;
    this.rewriter = new RtpRewriter(rewriterOptions(media, ssrc));
    this.waitingForKeyframe = media.kind === 'video';
  }

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

  sendKeyframeGroup(group: readonly CachedPacket[], now: number): boolean {
    if (group.length === 0) return false;
    this.sourceSsrc = group[0]!.view.ssrc;
    this.waitingForKeyframe = false;
    for (const { packet, view } of group) this.send(packet, view, now);
    return true;
  }

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
    if (!this.budget.take(now)) {
      this.counters.resendsRefused++;
      return;
    }
    this.counters.resent++;
    this.send(cached.packet, cached.view, now);
  }

  senderInfo(sourceSsrc: number): SenderInfo | undefined {
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

/** The JavaScript group: each connected viewer's forwarder in turn. */
class JsTrackGroup implements TrackGroup {
  private readonly members = new Set<JsForwarder>();

  add(forwarder: Forwarder): void {
    if (!(forwarder instanceof JsForwarder)) throw new TypeError('a JavaScript track group takes JavaScript forwarders only');
    this.members.add(forwarder);
  }

  remove(forwarder: Forwarder): void {
    this.members.delete(forwarder as JsForwarder);
  }

  forward(packet: Buffer, view: RtpView, keyframeStart: boolean, now: number): boolean {
    let needKeyframe = false;
    for (const forwarder of this.members) {
      if (forwarder.session.state !== 'connected') continue;
      if (!forwarder.forward(packet, view, keyframeStart, now)) needKeyframe = true;
    }
    return needKeyframe;
  }
}

export const jsFanout: FanoutPath = {
  name: 'js',
  createForwarder: (session, media, ssrc) => new JsForwarder(session, media, ssrc),
  createGroup: () => new JsTrackGroup(),
};
