// A small finished HLS recording made by ffmpeg (test pattern + tone, H.264 + AAC, 1 s
// segments), for tests that need recordings on disk without publishing one.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface HlsClipOptions {
  /** WIDTHxHEIGHT */
  size: string;
  fps: number;
  seconds?: number;
}

/** Writes index.m3u8 and seg_NNNNN.ts into `folder` (which must exist). */
export async function writeHlsClip(folder: string, { size, fps, seconds = 2 }: HlsClipOptions): Promise<void> {
  await run(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${size}:rate=${fps}`,
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      String(seconds),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      String(fps),
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-f',
      'hls',
      '-hls_time',
      '1',
      '-hls_playlist_type',
      'event',
      '-hls_segment_filename',
      'seg_%05d.ts',
      'index.m3u8',
    ],
    { cwd: folder },
  );
}
