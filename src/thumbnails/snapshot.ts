// One picture out of an elementary stream: ffmpeg reads the stream on stdin, decodes it
// all, and writes its last picture, at the stream's own size, as a JPEG on stdout.
// Bounded in time and in output; what goes wrong comes back as a result with a sentence,
// never as a throw.
import type { ElementaryStream } from '../rtp/depacketize/elementaryStream';
import { firstLine, runFfmpeg } from '../recorder/ffmpegProcess';

export interface SnapshotLimits {
  /** ffmpeg is killed past this. */
  timeoutMs: number;
  /** Output larger than this is refused (ffmpeg killed). */
  maxBytes: number;
}

/** How a run ended: its JPEG, or why not ('not-found': FFMPEG_PATH cannot be run). */
export type SnapshotResult = { result: 'ok'; jpeg: Buffer } | { result: 'not-found' | 'timeout' | 'too-large' | 'failed'; reason: string };

/** mjpeg's quality scale runs from 2 (best) to 31; 4 kept a 640x360 test picture near 30 kB. */
const JPEG_QUALITY = '4';

export async function snapshot(ffmpegPath: string, stream: ElementaryStream, limits: SnapshotLimits): Promise<SnapshotResult> {
  const last = stream.frames - 1;
  const args = ['-hide_banner', '-loglevel', 'error', '-f', stream.format, '-i', 'pipe:0'];
  // The first picture too: should the decoder show fewer pictures than the stream holds
  // (it should not), the answer is the keyframe rather than nothing. Each picture selected
  // is written as it comes (passthrough: none made up to fill the time between them), so
  // the JPEG wanted is the last one out.
  args.push('-vf', `select='eq(n,0)+gte(n,${last})'`, '-fps_mode', 'passthrough');
  // The JPEG encoder takes full-range YUV; the decoders give limited range, which this converts.
  args.push('-pix_fmt', 'yuvj420p', '-c:v', 'mjpeg', '-q:v', JPEG_QUALITY, '-f', 'image2pipe', 'pipe:1');
  const proc = runFfmpeg(ffmpegPath, args, { input: stream.data, output: { maxBytes: limits.maxBytes }, tailLines: 3 });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.signal('SIGKILL');
  }, limits.timeoutMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  if (exit.notRunnable === true) return { result: 'not-found', reason: exit.error ?? `ffmpeg cannot be run at "${ffmpegPath}"` };
  if (proc.outputTooLarge) return { result: 'too-large', reason: `ffmpeg wrote more than ${limits.maxBytes} bytes for one picture` };
  if (timedOut) return { result: 'timeout', reason: `ffmpeg took longer than ${limits.timeoutMs / 1000} s` };
  const jpeg = lastJpeg(proc.output());
  if (exit.code !== 0 || jpeg === undefined) {
    const said = firstLine(proc.stderrTail()) || exit.error || `exit ${exit.code ?? exit.signal}`;
    return { result: 'failed', reason: `ffmpeg made no picture (${said})` };
  }
  return { result: 'ok', jpeg };
}

/**
 * The last whole JPEG of JPEGs written one after another, found by their structure:
 * marker segments (each with its length) up to the scan, then entropy-coded data, in
 * which 0xFF is only ever followed by 0x00 or a restart marker, up to the end marker.
 */
export function lastJpeg(images: Buffer): Buffer | undefined {
  let found: Buffer | undefined;
  let p = 0;
  while (p + 4 <= images.length && images[p] === 0xff && images[p + 1] === 0xd8) {
    const start = p;
    p += 2;
    let end: number | undefined;
    while (end === undefined && p + 4 <= images.length) {
      if (images[p] !== 0xff) return found;
      const marker = images[p + 1]!;
      p += 4;
      const length = images.readUInt16BE(p - 2);
      p += length - 2;
      if (marker !== 0xda) continue;
      // Entropy-coded data after the scan header, to the end marker.
      while (p + 1 < images.length && !(images[p] === 0xff && images[p + 1] !== 0x00 && (images[p + 1]! < 0xd0 || images[p + 1]! > 0xd7))) p++;
      if (images[p + 1] !== 0xd9) return found;
      end = p + 2;
    }
    if (end === undefined) return found;
    found = images.subarray(start, end);
    p = end;
  }
  return found;
}
