// One picture out of an elementary stream: ffmpeg reads the stream on stdin and writes
// its first frame, at the stream's own size, as one JPEG on stdout. Bounded in time and
// in output; what goes wrong comes back as a result with a sentence, never as a throw.
import type { ElementaryStream } from '../rtp/depacketize/elementaryStream';
import { firstLine, runFfmpeg } from '../recorder/ffmpegProcess';

export interface SnapshotLimits {
  /** ffmpeg is killed past this. */
  timeoutMs: number;
  /** A JPEG larger than this is refused (ffmpeg killed). */
  maxBytes: number;
}

/** How a run ended: its JPEG, or why not ('not-found': FFMPEG_PATH cannot be run). */
export type SnapshotResult = { result: 'ok'; jpeg: Buffer } | { result: 'not-found' | 'timeout' | 'too-large' | 'failed'; reason: string };

/** mjpeg's quality scale runs from 2 (best) to 31; 4 keeps a 1280x720 frame near 100 kB. */
const JPEG_QUALITY = '4';

export async function snapshot(ffmpegPath: string, stream: ElementaryStream, limits: SnapshotLimits): Promise<SnapshotResult> {
  const args = ['-hide_banner', '-loglevel', 'error', '-f', stream.format, '-i', 'pipe:0', '-frames:v', '1'];
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
  if (proc.outputTooLarge) return { result: 'too-large', reason: `the picture came out larger than ${limits.maxBytes} bytes` };
  if (timedOut) return { result: 'timeout', reason: `ffmpeg took longer than ${limits.timeoutMs / 1000} s` };
  const jpeg = proc.output();
  if (exit.code !== 0 || jpeg.length === 0) {
    const said = firstLine(proc.stderrTail()) || exit.error || `exit ${exit.code ?? exit.signal}`;
    return { result: 'failed', reason: `ffmpeg made no picture (${said})` };
  }
  return { result: 'ok', jpeg };
}
