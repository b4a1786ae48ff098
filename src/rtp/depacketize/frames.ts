// RTP packets of one video stream back into whole encoded frames: the part every payload
// format shares (a frame is the packets of one timestamp, its last one marked), before a
// codec's depacketizer turns each frame's payloads into the codec's own bytes.

/** What a depacketizer needs of an RTP packet: its numbering, its timing and its payload. */
export interface PayloadPacket {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Uint8Array;
}

/** One encoded picture, as the codec's decoder takes it. */
export interface EncodedFrame {
  /** RTP timestamp (the stream's clock, 90 kHz for video). */
  timestamp: number;
  data: Buffer;
}

/** A codec's depacketizer: one frame's payloads (in order, none missing) to the frame's bytes, or undefined when they do not make a whole frame. */
export type FrameDepacketizer = (payloads: readonly Uint8Array[]) => Buffer | undefined;

/**
 * The whole frames at the start of `packets` (in sequence order, as the packet cache
 * keeps them), up to the first one that is not whole: a gap in the sequence numbers, a
 * frame whose last packet has not come (no marker), or payloads the depacketizer refuses.
 * What follows such a frame is left out too, since later frames may refer to it.
 */
export function wholeFrames(packets: readonly PayloadPacket[], depacketize: FrameDepacketizer): EncodedFrame[] {
  const frames: EncodedFrame[] = [];
  let start = 0;
  while (start < packets.length) {
    const timestamp = packets[start]!.timestamp;
    let end = start;
    while (end + 1 < packets.length && packets[end + 1]!.timestamp === timestamp) {
      if (((packets[end + 1]!.sequenceNumber - packets[end]!.sequenceNumber) & 0xffff) !== 1) return frames;
      end++;
    }
    if (!packets[end]!.marker) return frames;
    const data = depacketize(packets.slice(start, end + 1).map((p) => p.payload));
    if (data === undefined) return frames;
    frames.push({ timestamp, data });
    if (end + 1 < packets.length && ((packets[end + 1]!.sequenceNumber - packets[end]!.sequenceNumber) & 0xffff) !== 1) return frames;
    start = end + 1;
  }
  return frames;
}
