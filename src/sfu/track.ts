// One incoming track of a publisher (its audio or its video) and what the room
// has seen of it.
import type { Codec } from '../sdp/types';
import { startsKeyframe } from '../rtp/keyframe';
import type { RtpView } from '../rtp/rtpPacket';

export interface TrackStats {
  packets: number;
  bytes: number;
  /** Frames completed (RTP marker bit), video only. */
  frames: number;
  keyframes: number;
  lastPacketAt: number | undefined;
}

export class Track {
  readonly stats: TrackStats = { packets: 0, bytes: 0, frames: 0, keyframes: 0, lastPacketAt: undefined };
  /** The SSRC the publisher sends this track on, once seen. */
  ssrc: number | undefined;
  private lastKeyframeTimestamp: number | undefined;

  constructor(readonly mid: string, readonly kind: 'audio' | 'video', readonly codec: Codec) {}

  /** Counts a packet; returns whether it starts a keyframe. */
  account(packet: Uint8Array, view: RtpView, now: number): boolean {
    this.stats.packets++;
    this.stats.bytes += packet.length;
    this.stats.lastPacketAt = now;
    if (this.kind !== 'video') return false;
    if (view.marker) this.stats.frames++;
    const payload = packet.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength);
    if (!startsKeyframe(this.codec.name, payload)) return false;
    // SPS, PPS and IDR of one keyframe share a timestamp: count the frame once.
    if (view.timestamp === this.lastKeyframeTimestamp) return false;
    this.lastKeyframeTimestamp = view.timestamp;
    this.stats.keyframes++;
    return true;
  }
}
