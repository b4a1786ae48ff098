// The frames of an RTP video stream as a stream a decoder reads from a pipe: H.264 as
// raw Annex B (ffmpeg's `h264` format), VP8 in IVF (ffmpeg's `ivf`), since VP8 frames
// carry no boundaries of their own. The codecs onecast can depacketize are named here.
import { wholeFrames, type EncodedFrame, type FrameDepacketizer, type PayloadPacket } from './frames';
import { h264AccessUnit } from './h264';
import { vp8Frame, vp8KeyframeSize, vp8Shown } from './vp8';

export interface ElementaryStream {
  /** The container format's name, as ffmpeg's `-f` takes it. */
  format: 'h264' | 'ivf';
  data: Buffer;
  /** Pictures a decoder shows from `data` (a VP8 frame may be decoded but not shown). */
  frames: number;
}

interface PayloadFormat {
  depacketize: FrameDepacketizer;
  write(frames: readonly EncodedFrame[]): ElementaryStream | undefined;
}

const FORMATS: Record<string, PayloadFormat> = {
  H264: {
    depacketize: h264AccessUnit,
    write: (frames) => ({ format: 'h264', data: Buffer.concat(frames.map((f) => f.data)), frames: frames.length }),
  },
  VP8: { depacketize: vp8Frame, write: ivf },
};

/** Whether `codec` (as the SDP names it: 'H264', 'VP8', …) can be depacketized. */
export function canDepacketize(codec: string): boolean {
  return FORMATS[codec] !== undefined;
}

/**
 * The whole frames at the start of `packets` (see wholeFrames) as an elementary stream;
 * undefined when the codec is not one onecast depacketizes or no whole frame (for VP8:
 * none starting with a keyframe) is there.
 */
export function elementaryStream(codec: string, packets: readonly PayloadPacket[]): ElementaryStream | undefined {
  const format = FORMATS[codec];
  if (format === undefined) return undefined;
  const frames = wholeFrames(packets, format.depacketize);
  return frames.length === 0 ? undefined : format.write(frames);
}

const IVF_HEADER = 32;
const IVF_FRAME_HEADER = 12;

/** VP8 frames in IVF: a 32-byte file header (the size is the first keyframe's), then each frame after its size and timestamp. */
function ivf(frames: readonly EncodedFrame[]): ElementaryStream | undefined {
  const size = vp8KeyframeSize(frames[0]!.data);
  if (size === undefined) return undefined;
  const header = Buffer.alloc(IVF_HEADER);
  header.write('DKIF', 0, 'latin1');
  header.writeUInt16LE(0, 4); // version
  header.writeUInt16LE(IVF_HEADER, 6);
  header.write('VP80', 8, 'latin1');
  header.writeUInt16LE(size.width, 12);
  header.writeUInt16LE(size.height, 14);
  header.writeUInt32LE(90000, 16); // time base: the RTP clock
  header.writeUInt32LE(1, 20);
  header.writeUInt32LE(frames.length, 24);
  const first = frames[0]!.timestamp;
  const parts: Buffer[] = [header];
  for (const frame of frames) {
    const frameHeader = Buffer.alloc(IVF_FRAME_HEADER);
    frameHeader.writeUInt32LE(frame.data.length, 0);
    frameHeader.writeBigUInt64LE(BigInt((frame.timestamp - first) >>> 0), 4);
    parts.push(frameHeader, frame.data);
  }
  return { format: 'ivf', data: Buffer.concat(parts), frames: frames.filter((f) => vp8Shown(f.data)).length };
}
