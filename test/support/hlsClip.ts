// A small finished HLS recording made by ffmpeg (test pattern + tone, H.264 + AAC, a keyframe at
// the start of every segment), for tests that need recordings on disk without publishing one.
// Each clip is encoded once into test/.fixtures/ (git-ignored, as the test media) and copied
// from there, so tests that make the same clip many times run ffmpeg once.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES_DIR } from '../clients/media';

const run = promisify(execFile);

export interface HlsClipOptions {
  /** WIDTHxHEIGHT */
  size: string;
  fps: number;
  seconds?: number;
  /** Length of a segment (ffmpeg's -hls_time), with a keyframe at the start of each. */
  segmentSeconds?: number;
}

/** Writes index.m3u8 and seg_NNNNN.ts into `folder` (which must exist). */
export async function writeHlsClip(folder: string, options: HlsClipOptions): Promise<void> {
  const clip = await encodedClip(options);
  for (const name of await fs.readdir(clip)) await fs.copyFile(path.join(clip, name), path.join(folder, name));
}

const encoding = new Map<string, Promise<string>>();

/** The folder in test/.fixtures holding the clip, encoded by the first caller in this or an earlier run. */
function encodedClip(options: HlsClipOptions): Promise<string> {
  const { size, fps, seconds = 2, segmentSeconds = 1 } = options;
  const folder = path.join(FIXTURES_DIR, `hls-${size}-${fps}fps-${seconds}s-${segmentSeconds}s-segments`);
  let clip = encoding.get(folder);
  if (clip === undefined) {
    clip = encode(folder, { size, fps, seconds, segmentSeconds });
    encoding.set(folder, clip);
    clip.catch(() => encoding.delete(folder));
  }
  return clip;
}

/** Encodes into a temporary folder renamed into place, so a concurrent test process never sees half a clip. */
async function encode(folder: string, { size, fps, seconds, segmentSeconds }: Required<HlsClipOptions>): Promise<string> {
  const done = await fs.stat(path.join(folder, 'index.m3u8')).catch(() => undefined);
  if (done !== undefined) return folder;
  const tmp = `${folder}.${process.pid}.tmp`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  try {
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
        String(fps * segmentSeconds),
        '-pix_fmt',
        'yuv420p',
        '-c:a',
        'aac',
        '-f',
        'hls',
        '-hls_time',
        String(segmentSeconds),
        '-hls_playlist_type',
        'event',
        '-hls_segment_filename',
        'seg_%05d.ts',
        'index.m3u8',
      ],
      { cwd: tmp },
    );
    // Another process may have renamed its copy into place first: then that one is used.
    await fs.rename(tmp, folder).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return folder;
}
