// What the recorder's parts pass between them: the publisher's Sender Reports and one
// packet as rewritten for ffmpeg. Types only, in a leaf of their own so that the parts
// import it and not each other.
import type { MediaKind } from '../rtp/mediaKind';
import type { RtcpItem } from '../rtp/rtcp';

export type SenderReport = Extract<RtcpItem, { type: 'sr' }>;

/** One packet as ffmpeg gets it, kept for replays. */
export interface BufferEntry {
  kind: MediaKind;
  /** The rewritten packet, exactly as sent to ffmpeg. */
  packet: Buffer;
  /** Its RTP timestamp (the recorder's numbering). */
  ts: number;
  /** Arrival (ms, the recorder's clock), for pacing replays. */
  at: number;
  /** A point the stream may start at: a video keyframe's first packet (any audio packet when there is no video). */
  cut: boolean;
}
