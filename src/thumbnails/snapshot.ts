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

/** 4096x2304: 4K UHD (3840x2160) and DCI 4K fit. */
export const MAX_PIXELS = 4096 * 2304;

/** mjpeg's quality scale runs from 2 (best) to 31; 4 kept a 640x360 test picture near 30 kB. */
const JPEG_QUALITY = '4';

/** `signal`: aborting it kills ffmpeg (the server is closing). */
export async function snapshot(ffmpegPath: string, stream: ElementaryStream, limits: SnapshotLimits, signal?: AbortSignal): Promise<SnapshotResult> {
  const last = stream.frames - 1;
  // A publisher picks the picture size: the decoder refuses past 4K (its memory grows with
  // it, ~150 MB at 4096x4096 measured), on one thread (each more holds its own frames).
  const args = ['-hide_banner', '-loglevel', 'error', '-threads', '1', '-max_pixels', String(MAX_PIXELS), '-f', stream.format, '-i', 'pipe:0'];
  // The first picture too: should the decoder show fewer pictures than the stream holds
  // (it should not), the answer is the keyframe rather than nothing. Each picture selected
  // is written as it comes (passthrough: none made up to fill the time between them), so
  // the JPEG wanted is the last one out.
  args.push('-vf', `select='eq(n,0)+gte(n,${last})'`, '-fps_mode', 'passthrough');
  // The JPEG encoder takes full-range YUV; the decoders give limited range, which this converts.
  args.push('-pix_fmt', 'yuvj420p', '-c:v', 'mjpeg', '-q:v', JPEG_QUALITY, '-f', 'image2pipe', 'pipe:1');
  const proc = runFfmpeg(ffmpegPath, args, { input: stream.data, output: { maxBytes: limits.maxBytes }, tailLines: 8 });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.signal('SIGKILL');
  }, limits.timeoutMs);
  const kill = (): void => proc.signal('SIGKILL');
  signal?.addEventListener('abort', kill);
  if (signal?.aborted === true) kill();
  const exit = await proc.exited;
  clearTimeout(timer);
  signal?.removeEventListener('abort', kill);
  if (signal?.aborted === true) return { result: 'failed', reason: 'the server is closing' };
  if (exit.notRunnable === true) return { result: 'not-found', reason: exit.error ?? `ffmpeg cannot be run at "${ffmpegPath}"` };
  if (proc.outputTooLarge) return { result: 'too-large', reason: `ffmpeg wrote more than ${limits.maxBytes} bytes for one picture` };
  if (timedOut) return { result: 'timeout', reason: `ffmpeg took longer than ${limits.timeoutMs / 1000} s` };
  const jpeg = lastJpeg(proc.output());
  if (exit.code !== 0 || jpeg === undefined) {
    if (proc.stderrTail().includes('exceeds specified max pixel count')) {
      return { result: 'failed', reason: `the picture is larger than ${MAX_PIXELS} pixels (4096x2304), which thumbnails do not decode` };
    }
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
