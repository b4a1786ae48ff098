// One track a publisher sends (its audio or its video): what the room has seen of it,
// its packet cache, and its reception statistics for receiver reports. Its publisher
// creates it from the negotiated media and closes it.
import type { Codec } from '../sdp/types';
import { startsKeyframe } from '../rtp/keyframe';
import { ReceptionStats, type RtcpItem } from '../rtp/rtcp';
import type { RtpView } from '../rtp/rtpPacket';
import { PacketCache } from './packetCache';
import type { MediaKind } from '../rtp/mediaKind';

export interface TrackStats {
  packets: number;
  bytes: number;
  /** Frames completed (RTP marker bit), video only. */
  frames: number;
  keyframes: number;
  lastPacketAt: number | undefined;
}

export type SenderReport = Extract<RtcpItem, { type: 'sr' }>;

export class PublishedTrack {
  readonly stats: TrackStats = { packets: 0, bytes: 0, frames: 0, keyframes: 0, lastPacketAt: undefined };
  readonly cache = new PacketCache();
  /** The SSRC the publisher sends this track on, once seen. */
  ssrc: number | undefined;
  reception: ReceptionStats | undefined;
  /** The publisher's last Sender Report for this track: its NTP ↔ RTP mapping. */
  lastSenderReport: SenderReport | undefined;
  private lastKeyframeTimestamp: number | undefined;

  constructor(
    readonly mid: string,
    readonly kind: MediaKind,
    readonly codec: Codec,
  ) {}

  /** Counts and caches a packet; returns whether it starts a keyframe. */
  account(packet: Buffer, view: RtpView, now: number): boolean {
    this.stats.packets++;
    this.stats.bytes += packet.length;
    this.stats.lastPacketAt = now;
    if (this.reception === undefined || this.reception.ssrc !== view.ssrc) {
      this.reception = new ReceptionStats(view.ssrc, this.codec.clockRate);
    }
    this.reception.onPacket(view.sequenceNumber, view.timestamp, now);
    const keyframe = this.kind === 'video' && this.isNewKeyframe(packet, view);
    if (this.kind === 'video' && view.marker) this.stats.frames++;
    this.cache.put(packet, view, keyframe);
    return keyframe;
  }

  /** The publish ended: the cached packets go at once (the room may outlive it by far). */
  close(): void {
    this.cache.clear();
  }

  private isNewKeyframe(packet: Buffer, view: RtpView): boolean {
    const payload = packet.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength);
    if (!startsKeyframe(this.codec.name, payload)) return false;
    // SPS, PPS and IDR of one keyframe share a timestamp: count the frame once.
    if (view.timestamp === this.lastKeyframeTimestamp) return false;
    this.lastKeyframeTimestamp = view.timestamp;
    this.stats.keyframes++;
    return true;
  }
}
