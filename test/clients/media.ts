/**
 * Test media for the end-to-end tests: generated once by ffmpeg into test/.fixtures/
 * (git-ignored) and parsed into the frames a real encoder would hand its WebRTC stack.
 *
 * - Video: H.264 Annex B, 640x360 @ 30 fps, 10 s, High profile, no B-frames, a keyframe every
 *   30 frames carrying SPS/PPS in-band (as OBS's encoders do), an AUD at the start of every
 *   access unit. `splitAccessUnits` returns one Buffer per access unit WITH its start codes,
 *   which is exactly what OBS passes to libdatachannel's H264RtpPacketizer.
 * - Audio: Opus, 48 kHz stereo, 20 ms frames, 10 s, in Ogg; `readOggOpusPackets` returns the
 *   raw Opus packets (one per 20 ms frame), i.e. what OBS's Opus encoder emits.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export const FIXTURES_DIR = path.resolve(__dirname, '..', '.fixtures');

export const VIDEO_WIDTH = 640;
export const VIDEO_HEIGHT = 360;
export const VIDEO_FPS = 30;
export const CLIP_SECONDS = 10;
export const AUDIO_FRAME_MS = 20;
export const AUDIO_SAMPLE_RATE = 48000;

const H264_FILE = 'testsrc2-640x360-30fps-10s.h264';
const OPUS_FILE = 'sine-48k-stereo-20ms-10s.opus.ogg';

function ffmpegBinary(): string {
  return process.env.FFMPEG_PATH || 'ffmpeg';
}

function runFfmpeg(args: string[]): Promise<void> {
  const bin = ffmpegBinary();
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (!err) {
        resolve();
        return;
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        reject(
          new Error(
            `ffmpeg not found ("${bin}"): the test media is generated with ffmpeg. ` +
              'Install it (apt-get install -y ffmpeg) or set FFMPEG_PATH to the binary.',
          ),
        );
        return;
      }
      reject(new Error(`ffmpeg ${args.join(' ')} failed: ${err.message}\n${String(stderr).trim()}`));
    });
  });
}

async function nonEmptyFile(file: string): Promise<boolean> {
  try {
    const st = await fs.stat(file);
    return st.isFile() && st.size > 0;
  } catch {
    return false;
  }
}

/** Runs ffmpeg into a temporary name, then renames, so a concurrent reader never sees half a file. */
async function generate(target: string, args: (out: string) => string[]): Promise<void> {
  if (await nonEmptyFile(target)) return;
  const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
  try {
    await runFfmpeg(args(tmp));
    await fs.rename(tmp, target);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

let fixturesPromise: Promise<{ h264: string; opus: string }> | undefined;

/** Generates the fixtures once (skipped when the files already exist and are non-empty). */
export function ensureFixtures(): Promise<{ h264: string; opus: string }> {
  if (!fixturesPromise) {
    fixturesPromise = makeFixtures();
    fixturesPromise.catch(() => {
      fixturesPromise = undefined; // let a later call retry (e.g. after ffmpeg got installed)
    });
  }
  return fixturesPromise;
}

async function makeFixtures(): Promise<{ h264: string; opus: string }> {
  await fs.mkdir(FIXTURES_DIR, { recursive: true });
  const h264 = path.join(FIXTURES_DIR, H264_FILE);
  const opus = path.join(FIXTURES_DIR, OPUS_FILE);
  const common = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];

  await generate(h264, (out) => [
    ...common,
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${VIDEO_WIDTH}x${VIDEO_HEIGHT}:rate=${VIDEO_FPS}:duration=${CLIP_SECONDS}`,
    '-an',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-profile:v',
    'high',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-bf',
    '0',
    '-g',
    String(VIDEO_FPS),
    '-keyint_min',
    String(VIDEO_FPS),
    '-sc_threshold',
    '0',
    '-x264-params',
    'aud=1:repeat-headers=1',
    '-f',
    'h264',
    out,
  ]);

  await generate(opus, (out) => [
    ...common,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=${AUDIO_SAMPLE_RATE}:duration=${CLIP_SECONDS}`,
    '-vn',
    '-ac',
    '2',
    '-c:a',
    'libopus',
    '-b:a',
    '64k',
    '-frame_duration',
    String(AUDIO_FRAME_MS),
    '-application',
    'lowdelay',
    '-f',
    'ogg',
    out,
  ]);

  return { h264, opus };
}

// ---------------------------------------------------------------------------------------------
// H.264 Annex B

interface NalPos {
  /** offset of the start code (including a leading zero of a 4-byte start code) */
  start: number;
  /** offset of the NAL header byte */
  header: number;
}

/** Positions of every NAL unit in an Annex B buffer. */
function findNals(buf: Buffer): NalPos[] {
  const out: NalPos[] = [];
  let i = 0;
  while (i + 2 < buf.length) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      const start = i > 0 && buf[i - 1] === 0 ? i - 1 : i;
      const header = i + 3;
      if (header < buf.length) out.push({ start, header });
      i = header;
    } else {
      i++;
    }
  }
  return out;
}

/** NAL unit types (nal_unit_type, 5 bits) of the NAL units of an Annex B buffer, in order. */
export function nalTypes(accessUnit: Buffer): number[] {
  return findNals(accessUnit).map((n) => accessUnit[n.header]! & 0x1f);
}

/** True when the access unit contains an IDR slice (NAL type 5). */
export function isKeyframe(accessUnit: Buffer): boolean {
  return nalTypes(accessUnit).includes(5);
}

function isVcl(type: number): boolean {
  return type >= 1 && type <= 5;
}

/**
 * Splits an Annex B elementary stream into access units, each keeping its start codes.
 * A new access unit begins at an AUD (type 9). For streams without AUDs, it also begins at
 * SEI/SPS/PPS (6/7/8) following a slice, or at a slice with first_mb_in_slice == 0 following
 * a slice (H.264 7.4.1.2.3).
 */
export function splitAccessUnits(annexB: Buffer): Buffer[] {
  const nals = findNals(annexB);
  const units: Buffer[] = [];
  let auStart = nals.length > 0 ? nals[0]!.start : 0;
  let sawVcl = false;
  for (let k = 0; k < nals.length; k++) {
    const nal = nals[k]!;
    const type = annexB[nal.header]! & 0x1f;
    let boundary = false;
    if (type === 9) {
      boundary = nal.start > auStart;
    } else if (sawVcl) {
      if (type === 6 || type === 7 || type === 8 || (type >= 14 && type <= 18)) {
        boundary = true;
      } else if (isVcl(type)) {
        const firstSliceByte = annexB[nal.header + 1];
        // first_mb_in_slice is ue(v): its value is 0 exactly when its first bit is 1
        boundary = firstSliceByte !== undefined && (firstSliceByte & 0x80) !== 0;
      }
    }
    if (boundary) {
      units.push(annexB.subarray(auStart, nal.start));
      auStart = nal.start;
      sawVcl = false;
    }
    if (isVcl(type)) sawVcl = true;
  }
  if (nals.length > 0 && auStart < annexB.length) units.push(annexB.subarray(auStart));
  return units;
}

// ---------------------------------------------------------------------------------------------
// Ogg / Opus

/**
 * A small Ogg demuxer returning the Opus audio packets of the first logical stream, without
 * the OpusHead and OpusTags header packets. Lacing values of 255 continue a packet, and
 * packets may span pages. CRCs are not verified.
 */
export function readOggOpusPackets(ogg: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let pending: Buffer[] = [];
  let serial: number | undefined;
  let off = 0;
  while (off < ogg.length) {
    if (off + 27 > ogg.length) throw new Error(`Ogg: truncated page header at offset ${off}`);
    if (ogg.toString('latin1', off, off + 4) !== 'OggS') {
      throw new Error(`Ogg: no capture pattern "OggS" at offset ${off}`);
    }
    const version = ogg[off + 4]!;
    if (version !== 0) throw new Error(`Ogg: unsupported stream structure version ${version}`);
    const headerType = ogg[off + 5]!;
    const pageSerial = ogg.readUInt32LE(off + 14);
    const nSegs = ogg[off + 26]!;
    const tableStart = off + 27;
    let dataOff = tableStart + nSegs;
    if (dataOff > ogg.length) throw new Error(`Ogg: truncated segment table at offset ${off}`);
    let bodySize = 0;
    for (let s = 0; s < nSegs; s++) bodySize += ogg[tableStart + s]!;
    if (dataOff + bodySize > ogg.length) throw new Error(`Ogg: truncated page body at offset ${off}`);

    if (serial === undefined) serial = pageSerial;
    if (pageSerial === serial) {
      const continued = (headerType & 0x01) !== 0;
      if (!continued && pending.length > 0) {
        // a packet left unfinished on the previous page was abandoned: drop it
        pending = [];
      }
      for (let s = 0; s < nSegs; s++) {
        const lace = ogg[tableStart + s]!;
        pending.push(ogg.subarray(dataOff, dataOff + lace));
        dataOff += lace;
        if (lace < 255) {
          packets.push(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
          pending = [];
        }
      }
    }
    off = tableStart + nSegs + bodySize;
  }

  if (packets.length < 2) throw new Error('Ogg: fewer than the two Opus header packets');
  if (packets[0]!.toString('latin1', 0, 8) !== 'OpusHead') {
    throw new Error('Ogg: the first packet is not OpusHead; not an Ogg Opus stream');
  }
  if (packets[1]!.toString('latin1', 0, 8) !== 'OpusTags') {
    throw new Error('Ogg: the second packet is not OpusTags');
  }
  return packets.slice(2);
}

// ---------------------------------------------------------------------------------------------

export interface TestMedia {
  videoFrames: Buffer[];
  audioFrames: Buffer[];
  width: number;
  height: number;
  fps: number;
}

let mediaPromise: Promise<TestMedia> | undefined;

/** Generates (if needed) and parses the fixtures; cached in memory after the first call. */
export function loadMedia(): Promise<TestMedia> {
  if (!mediaPromise) {
    mediaPromise = (async () => {
      const files = await ensureFixtures();
      const [h264, ogg] = await Promise.all([fs.readFile(files.h264), fs.readFile(files.opus)]);
      const videoFrames = splitAccessUnits(h264);
      const audioFrames = readOggOpusPackets(ogg);
      if (videoFrames.length === 0 || !isKeyframe(videoFrames[0]!)) {
        throw new Error(`${files.h264}: no access units, or the first is not a keyframe`);
      }
      if (audioFrames.length === 0) throw new Error(`${files.opus}: no Opus packets`);
      return { videoFrames, audioFrames, width: VIDEO_WIDTH, height: VIDEO_HEIGHT, fps: VIDEO_FPS };
    })();
    mediaPromise.catch(() => {
      mediaPromise = undefined;
    });
  }
  return mediaPromise;
}
