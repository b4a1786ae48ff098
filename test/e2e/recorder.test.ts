// The recorder end to end with a real ffmpeg: real H.264 (and VP8) and Opus packetized
// as a WebRTC publisher sends them, at real-time pace, with Sender Reports, handed to a
// Recorder exactly as the SFU does; the Recorder sends plain RTP to ffmpeg through a
// dgram socket of the test's own. The output is checked with ffprobe and by decoding it.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RtpWriter } from '../clients/syntheticMedia';
import { createLogger } from '../../src/log';
import { INPUT_TIMEOUT_S, probeFfmpeg } from '../../src/recorder/ffmpeg';
import { parsePlaylist, playlistDuration } from '../../src/recorder/playlist';
import { Recorder, type RecorderOptions, type RecordingMeta } from '../../src/recorder/recorder';
import { startsKeyframe } from '../../src/rtp/keyframe';
import { buildSr, ntpTimeNow, parseRtcp, type RtcpItem } from '../../src/rtp/rtcp';
import { readRtp } from '../../src/rtp/rtpPacket';
import type { Codec } from '../../src/sdp/types';
import { loadMedia, type TestMedia } from '../clients/media';

const FFMPEG = process.env.FFMPEG_PATH || 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH || (FFMPEG.includes('/') ? path.join(path.dirname(FFMPEG), 'ffprobe') : 'ffprobe');

const H264: Codec = { payloadType: 102, name: 'H264', clockRate: 90000, fmtp: { 'packetization-mode': '1' }, rtcpFeedback: [] };
const VP8: Codec = { payloadType: 98, name: 'VP8', clockRate: 90000, fmtp: {}, rtcpFeedback: [] };
const OPUS: Codec = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: {}, rtcpFeedback: [] };

// ---------------------------------------------------------------------------------------------
// Media: RTP as a WebRTC publisher sends it

/** The NAL units of an Annex B access unit, without start codes. */
function nalUnits(au: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = -1;
  for (let i = 0; i + 2 < au.length;) {
    if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1) {
      if (start >= 0) out.push(au.subarray(start, au[i - 1] === 0 ? i - 1 : i));
      i += 3;
      start = i;
    } else {
      i++;
    }
  }
  if (start >= 0) out.push(au.subarray(start));
  return out;
}

/** RFC 6184 packetization mode 1: a NAL unit that fits goes alone, a bigger one as FU-A fragments (≤ maxPayload). */
function packetizeH264(writer: RtpWriter, timestamp: number, au: Buffer, maxPayload = 1200): Buffer[] {
  const nals = nalUnits(au).filter((n) => (n[0]! & 0x1f) !== 9); // no access unit delimiters, as browsers send
  const out: Buffer[] = [];
  nals.forEach((nal, k) => {
    const lastNal = k === nals.length - 1;
    if (nal.length <= maxPayload) {
      const p = writer.packet(timestamp, lastNal, nal.length);
      nal.copy(p, 12);
      out.push(p);
      return;
    }
    const body = nal.subarray(1);
    const chunk = maxPayload - 2;
    const count = Math.ceil(body.length / chunk);
    for (let i = 0; i < count; i++) {
      const part = body.subarray(i * chunk, (i + 1) * chunk);
      const last = i === count - 1;
      const p = writer.packet(timestamp, lastNal && last, 2 + part.length);
      p[12] = (nal[0]! & 0xe0) | 28;
      p[13] = (i === 0 ? 0x80 : 0) | (last ? 0x40 : 0) | (nal[0]! & 0x1f);
      part.copy(p, 14);
      out.push(p);
    }
  });
  return out;
}

/** RFC 7741: a one-byte payload descriptor (S on a frame's first packet, partition 0). */
function packetizeVp8(writer: RtpWriter, timestamp: number, frame: Buffer, maxPayload = 1200): Buffer[] {
  const out: Buffer[] = [];
  const chunk = maxPayload - 1;
  const count = Math.max(1, Math.ceil(frame.length / chunk));
  for (let i = 0; i < count; i++) {
    const part = frame.subarray(i * chunk, (i + 1) * chunk);
    const p = writer.packet(timestamp, i === count - 1, 1 + part.length);
    p[12] = i === 0 ? 0x10 : 0x00;
    part.copy(p, 13);
    out.push(p);
  }
  return out;
}

function run(file: string, args: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      resolve({ stdout: String(stdout), stderr: String(stderr), code: typeof code === 'number' ? code : 1 });
    });
  });
}

let vp8FramesPromise: Promise<Buffer[]> | undefined;

/** 10 s of VP8 (640x360, 30 fps, a keyframe every second), made once by ffmpeg, as frames out of IVF. */
function loadVp8Frames(): Promise<Buffer[]> {
  vp8FramesPromise ??= (async () => {
    const dir = path.join(os.tmpdir(), 'onecast-recorder-fixtures');
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, 'testsrc2-640x360-30fps-10s.vp8.ivf');
    const exists = await fs
      .stat(file)
      .then((s) => s.size > 0)
      .catch(() => false);
    if (!exists) {
      const tmp = `${file}.${process.pid}.tmp`;
      const r = await run(FFMPEG, [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=640x360:rate=30:duration=10',
        '-c:v',
        'libvpx',
        '-deadline',
        'realtime',
        '-cpu-used',
        '8',
        '-b:v',
        '1M',
        '-g',
        '30',
        '-keyint_min',
        '30',
        '-auto-alt-ref',
        '0',
        '-lag-in-frames',
        '0',
        '-f',
        'ivf',
        tmp,
      ]);
      if (r.code !== 0) throw new Error(`ffmpeg could not make the VP8 fixture: ${r.stderr}`);
      await fs.rename(tmp, file);
    }
    const ivf = await fs.readFile(file);
    const frames: Buffer[] = [];
    for (let off = ivf.readUInt16LE(6); off + 12 <= ivf.length;) {
      const size = ivf.readUInt32LE(off);
      frames.push(ivf.subarray(off + 12, off + 12 + size));
      off += 12 + size;
    }
    return frames;
  })();
  return vp8FramesPromise;
}

interface PublisherOptions {
  video?: 'H264' | 'VP8';
  audio?: boolean;
  /** The first frame sent (0: start on the clip's first keyframe). */
  startFrame?: number;
  /** As Chromium: frames stamped with their capture times, these intervals apart (repeated; 90 kHz ticks averaging 3000). */
  captureIntervals?: number[];
  /** As Chromium: the first audio Sender Report only this long after the start (its first comes ~2.5 s in). */
  audioSrDelayMs?: number;
  /** As Chromium's bandwidth probes (no RTX negotiated): padding-only packets on the video SSRC after each frame. */
  paddingPerFrame?: number;
}

/**
 * A publisher as the SFU sees it: real-time H.264/VP8 frames (the 10 s clip looped, the
 * timestamps running on) and 20 ms Opus packets, each handed to recorder.onPacket with its
 * parsed view and keyframe flag, and a Sender Report per stream every second.
 */
class FakePublisher {
  video: RtpWriter;
  audio: RtpWriter;
  frames = 0;
  audioPackets = 0;
  keyframeRequests = 0;
  private t0 = 0;
  private timer: NodeJS.Timeout | undefined;
  private srTimer: NodeJS.Timeout | undefined;
  private firstFrame: number;
  private captureTs = 0;

  constructor(
    private readonly media: TestMedia,
    private readonly vp8: Buffer[] | undefined,
    private readonly target: () => Recorder | undefined,
    private readonly opts: PublisherOptions,
  ) {
    this.video = new RtpWriter(H264.payloadType, 0x11111111);
    this.audio = new RtpWriter(OPUS.payloadType, 0x22222222);
    this.firstFrame = opts.startFrame ?? 0;
  }

  /** Seconds of media sent so far (video frames, or audio packets when there is no video). */
  get sentSeconds(): number {
    return this.opts.video ? this.frames / 30 : this.audioPackets / 50;
  }

  start(): void {
    this.t0 = Date.now();
    const tick = (): void => {
      const elapsed = Date.now() - this.t0;
      const rec = this.target();
      if (this.opts.video) {
        while ((this.frames * 1000) / 30 <= elapsed) {
          const n = this.firstFrame + this.frames;
          const intervals = this.opts.captureIntervals;
          const ts = Math.round(intervals ? this.captureTs : this.frames * 3000);
          if (intervals) this.captureTs += intervals[this.frames % intervals.length]!;
          const packets =
            this.opts.video === 'H264'
              ? packetizeH264(this.video, ts, this.media.videoFrames[n % this.media.videoFrames.length]!)
              : packetizeVp8(this.video, ts, this.vp8![n % this.vp8!.length]!);
          for (let k = 0; k < (this.opts.paddingPerFrame ?? 0); k++) {
            // RFC 3550 padding only: the last octet counts the padding, itself included.
            const padding = this.video.packet(ts, false, 200).fill(0, 12);
            padding[0] = padding[0]! | 0x20;
            padding[padding.length - 1] = 200;
            packets.push(padding);
          }
          for (const p of packets) {
            const view = readRtp(p)!;
            rec?.onPacket('video', p, view, startsKeyframe(this.opts.video, p.subarray(view.payloadOffset)));
          }
          this.frames++;
        }
      }
      if (this.opts.audio !== false) {
        while (this.audioPackets * 20 <= elapsed) {
          const opus = this.media.audioFrames[this.audioPackets % this.media.audioFrames.length]!;
          const p = this.audio.packet(this.audioPackets * 960, false, opus.length);
          opus.copy(p, 12);
          rec?.onPacket('audio', p, readRtp(p)!, false);
          this.audioPackets++;
        }
      }
    };
    this.timer = setInterval(tick, 5);
    tick();
    this.srTimer = setInterval(() => this.senderReports(), 1000);
  }

  /** SRs tying both streams to one wall clock: the RTP timestamp each stream has "now". */
  private senderReports(): void {
    const rec = this.target();
    if (!rec) return;
    const elapsed = (Date.now() - this.t0) / 1000;
    const ntpTime = ntpTimeNow();
    const sr = (writer: RtpWriter, clock: number): Extract<RtcpItem, { type: 'sr' }> => {
      const packet = buildSr({
        ssrc: writer.ssrc,
        ntpTime,
        rtpTimestamp: (writer.timestampBase + Math.round(elapsed * clock)) >>> 0,
        packetCount: 0,
        octetCount: 0,
      });
      return parseRtcp(packet)[0] as Extract<RtcpItem, { type: 'sr' }>;
    };
    if (this.opts.video) rec.onSenderReport('video', sr(this.video, 90000));
    if (this.opts.audio !== false && elapsed * 1000 >= (this.opts.audioSrDelayMs ?? 0)) rec.onSenderReport('audio', sr(this.audio, 48000));
  }

  /** Another publisher takes over (new SSRCs, sequence numbers and timestamps), starting mid-GOP at `frame`. */
  replaceWith(frame: number): void {
    this.video = new RtpWriter(H264.payloadType, 0x33333333);
    this.audio = new RtpWriter(OPUS.payloadType, 0x44444444);
    this.firstFrame = frame - this.frames;
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.srTimer);
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

interface ProbeStream {
  codec_name: string;
  codec_type: string;
  width?: number;
  height?: number;
  start_time?: string;
}

async function ffprobeJson(
  file: string,
  extra: string[] = [],
): Promise<{ streams: ProbeStream[]; format: { duration?: string }; frames?: Record<string, unknown>[] }> {
  const r = await run(FFPROBE, ['-v', 'error', '-show_streams', '-show_format', ...extra, '-of', 'json', file]);
  assert.equal(r.code, 0, `ffprobe ${file} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Decodes the whole recording; returns ffmpeg's error output (empty when clean). */
async function decodeErrors(playlist: string): Promise<string> {
  const r = await run(FFMPEG, ['-hide_banner', '-nostdin', '-v', 'error', '-i', playlist, '-f', 'null', '-']);
  assert.equal(r.code, 0, `ffmpeg could not decode ${playlist}: ${r.stderr}`);
  return r.stderr.trim();
}

async function firstVideoFrame(segment: string): Promise<Record<string, unknown>> {
  const r = await run(FFPROBE, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_frames',
    '-read_intervals',
    '%+#1',
    '-show_entries',
    'frame=key_frame,pict_type,pts_time',
    '-of',
    'json',
    segment,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const frames = JSON.parse(r.stdout).frames as Record<string, unknown>[];
  assert.ok(frames.length > 0, `no video frame in ${segment}`);
  return frames[0]!;
}

function waitFor<T>(emitter: Recorder, event: 'started' | 'restarted' | 'failed' | 'finished', timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (arg: unknown) => {
      clearTimeout(timer);
      resolve(arg as T);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 20 ms until it gives a value; fails after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** The segments dir/index.m3u8 lists now (none before ffmpeg has written it). */
async function listedSegments(dir: string): Promise<ReturnType<typeof parsePlaylist>['segments']> {
  return parsePlaylist(await fs.readFile(path.join(dir, 'index.m3u8'), 'utf8').catch(() => '')).segments;
}

/** Waits until dir/index.m3u8 lists at least `n` segments. */
async function segmentsListed(dir: string, n: number): Promise<void> {
  await until(`${n} segment(s) listed`, async () => ((await listedSegments(dir)).length >= n ? true : undefined));
}

// ---------------------------------------------------------------------------------------------

describe('recorder: RTP to HLS through ffmpeg', function () {
  this.timeout(90_000);
  let media: TestMedia;
  let root: string;
  let socket: dgram.Socket;
  let sentDatagrams = 0;
  const recorders: Recorder[] = [];
  const publishers: FakePublisher[] = [];

  before(async () => {
    const probe = await probeFfmpeg(FFMPEG);
    assert.ok(probe.ok, `ffmpeg is needed for these tests: ${probe.ok ? '' : probe.reason}`);
    media = await loadMedia();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-recorder-'));
    socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  });

  afterEach(async () => {
    for (const p of publishers.splice(0)) p.stop();
    await Promise.all(recorders.splice(0).map((r) => r.close()));
  });

  after(async () => {
    socket?.close();
    // RECORDER_TEST_KEEP=1 leaves the recordings for a look.
    if (root && !process.env.RECORDER_TEST_KEEP) await fs.rm(root, { recursive: true, force: true });
    else if (root) console.log(`      recordings kept in ${root}`);
  });

  interface TestRecording {
    recorder: Recorder;
    dir: string;
    publisher: FakePublisher | undefined;
  }

  function makeRecorder(name: string, extra: Partial<RecorderOptions> = {}): TestRecording {
    const rec: TestRecording = { recorder: undefined as unknown as Recorder, dir: extra.dir ?? path.join(root, name, 'rec1'), publisher: undefined };
    rec.recorder = new Recorder({
      room: name,
      id: 'rec1',
      dir: rec.dir,
      ffmpegPath: FFMPEG,
      video: H264,
      audio: OPUS,
      send: (packet, port) => {
        sentDatagrams++;
        socket.send(packet, port, '127.0.0.1');
      },
      requestKeyframe: () => {
        if (rec.publisher) rec.publisher.keyframeRequests++;
      },
      // RECORDER_TEST_LOG=1 shows the recorder's log and ffmpeg's stderr.
      ...(process.env.RECORDER_TEST_LOG ? { log: createLogger('debug') } : {}),
      ...extra,
    });
    recorders.push(rec.recorder);
    return rec;
  }

  function publish(rec: TestRecording, opts: PublisherOptions, vp8?: Buffer[]): FakePublisher {
    const p = new FakePublisher(media, vp8, () => rec.recorder, opts);
    rec.publisher = p;
    publishers.push(p);
    return p;
  }

  /** A recorder and its publisher, started together; resolves once the recorder's ffmpeg is receiving. */
  async function startRecording(
    name: string,
    opts: PublisherOptions,
    extra: Partial<RecorderOptions> = {},
    vp8?: Buffer[],
  ): Promise<{ rec: TestRecording; pub: FakePublisher }> {
    const rec = makeRecorder(name, extra);
    const pub = publish(rec, opts, vp8);
    const starting = rec.recorder.start();
    pub.start();
    await starting;
    return { rec, pub };
  }

  it('records H.264 + Opus: an EVENT playlist while live, ENDLIST after close, h264 640x360 + aac, the sent duration, a keyframe first', async () => {
    const rec = makeRecorder('basic');
    const pub = publish(rec, { video: 'H264', audio: true, startFrame: 10 });
    // Start mid-GOP: the recording must begin on the next keyframe (frame 30), audio held back until then.
    const t0 = Date.now();
    const starting = rec.recorder.start();
    pub.start();
    await starting;
    const startedMs = Date.now() - t0;
    assert.equal(rec.recorder.state, 'recording');
    assert.ok(pub.keyframeRequests >= 1, 'asked for a keyframe on start');

    await segmentsListed(rec.dir, 1);
    const live = await fs.readFile(path.join(rec.dir, 'index.m3u8'), 'utf8');
    assert.match(live, /#EXT-X-PLAYLIST-TYPE:EVENT/);
    assert.doesNotMatch(live, /#EXT-X-ENDLIST/);
    const liveMeta = JSON.parse(await fs.readFile(path.join(rec.dir, 'meta.json'), 'utf8')) as RecordingMeta;
    assert.equal(liveMeta.endedAt, null);
    assert.equal(liveMeta.durationSeconds, null);
    await sleep(1500);
    pub.stop();
    // From the first keyframe sent (frame 30 of the clip: 20 frames after the first one).
    const sent = (pub.frames - 20) / 30;

    const finished = waitFor<RecordingMeta>(rec.recorder, 'finished', 15_000);
    const c0 = Date.now();
    await rec.recorder.close(); // the publisher has stopped: ffmpeg must still finish (end of input: RTCP BYE)
    const closeMs = Date.now() - c0;
    const meta = await finished;

    const text = await fs.readFile(path.join(rec.dir, 'index.m3u8'), 'utf8');
    assert.match(text, /#EXT-X-PLAYLIST-TYPE:EVENT/);
    assert.match(text, /#EXT-X-ENDLIST\s*$/);
    const probe = await ffprobeJson(path.join(rec.dir, 'index.m3u8'));
    const v = probe.streams.find((s) => s.codec_type === 'video')!;
    const a = probe.streams.find((s) => s.codec_type === 'audio')!;
    assert.equal(v.codec_name, 'h264');
    assert.equal(v.width, 640);
    assert.equal(v.height, 360);
    assert.equal(a.codec_name, 'aac');
    const duration = Number(probe.format.duration);
    const listed = playlistDuration(parsePlaylist(text));
    assert.ok(Math.abs(duration - sent) < 1, `ffprobe duration ${duration} s vs ${sent.toFixed(2)} s sent`);
    assert.ok(Math.abs(listed - sent) < 1, `playlist duration ${listed} s vs ${sent.toFixed(2)} s sent`);

    const seg0 = await ffprobeJson(path.join(rec.dir, 'seg_00000.ts'));
    const v0 = Number(seg0.streams.find((s) => s.codec_type === 'video')!.start_time);
    const a0 = Number(seg0.streams.find((s) => s.codec_type === 'audio')!.start_time);
    const frame = await firstVideoFrame(path.join(rec.dir, 'seg_00000.ts'));
    assert.equal(frame.key_frame, 1);
    assert.equal(frame.pict_type, 'I');
    assert.ok(Math.abs(a0 - v0) < 0.15, `audio starts ${(a0 - v0).toFixed(3)} s after video in the first segment`);

    assert.equal(meta.room, 'basic');
    assert.equal(meta.id, 'rec1');
    assert.equal(meta.status, 'finished');
    assert.equal(meta.video, 'H264');
    assert.equal(meta.audio, 'opus');
    assert.equal(meta.durationSeconds, listed);
    assert.ok(Date.parse(meta.endedAt!) >= Date.parse(meta.startedAt));
    const onDisk = JSON.parse(await fs.readFile(path.join(rec.dir, 'meta.json'), 'utf8')) as RecordingMeta;
    assert.deepEqual(onDisk, meta);
    assert.equal(await decodeErrors(path.join(rec.dir, 'index.m3u8')), '');
    assert.equal(rec.recorder.counters.senderReports, 2, 'one clock report per stream, before any media');
    console.log(
      `      started in ${startedMs} ms; sent ${sent.toFixed(2)} s, playlist ${listed} s, ffprobe ${duration.toFixed(3)} s; ` +
        `first segment audio-video ${((a0 - v0) * 1000).toFixed(0)} ms; close() ${closeMs} ms; ` +
        `dropped before the keyframe ${rec.recorder.counters.dropped}; SRs ${rec.recorder.counters.senderReports}`,
    );
  });

  it('restarts ffmpeg killed with SIGKILL within 3 s, continues the playlist after a discontinuity and loses nothing recorded', async () => {
    const { rec, pub } = await startRecording('killed', { video: 'H264', audio: true });
    await segmentsListed(rec.dir, 2);

    const before = parsePlaylist(await fs.readFile(path.join(rec.dir, 'index.m3u8'), 'utf8'));
    assert.ok(before.segments.length >= 1, 'segments before the kill');
    const pid = rec.recorder.ffmpegPid!;
    assert.ok(pid > 0);
    const restarted = waitFor<{ restarts: number; reason: string }>(rec.recorder, 'restarted', 3000);
    const k0 = Date.now();
    process.kill(pid, 'SIGKILL');
    const info = await restarted;
    const restartMs = Date.now() - k0;
    assert.notEqual(rec.recorder.ffmpegPid, pid);
    assert.match(info.reason, /SIGKILL/);

    // The new ffmpeg has finished a segment of its own (after the discontinuity).
    await until('a segment of the restarted ffmpeg', async () =>
      (await listedSegments(rec.dir)).slice(before.segments.length).some((seg) => seg.discontinuity) ? true : undefined,
    );
    pub.stop();
    const sent = pub.frames / 30;
    await rec.recorder.close();

    const text = await fs.readFile(path.join(rec.dir, 'index.m3u8'), 'utf8');
    const after = parsePlaylist(text);
    assert.match(text, /#EXT-X-ENDLIST\s*$/);
    // Every segment listed before the kill is still listed, first, and on disk.
    before.segments.forEach((s, i) => assert.equal(after.segments[i]!.uri, s.uri));
    for (const s of after.segments) assert.ok((await fs.stat(path.join(rec.dir, s.uri))).size > 0, `${s.uri} on disk`);
    const firstNew = after.segments[before.segments.length]!;
    assert.ok(
      after.segments.slice(before.segments.length).some((s) => s.discontinuity),
      'a discontinuity after the restart',
    );
    assert.equal(new Set(after.segments.map((s) => s.uri)).size, after.segments.length, 'no segment listed twice');
    const listed = playlistDuration(after);
    // The unfinished segment (in ffmpeg's memory when it died) is replayed to the new ffmpeg.
    assert.ok(listed > sent - 1.2 && listed < sent + 1.2, `recorded ${listed} s of ${sent.toFixed(2)} s sent (restart took ${restartMs} ms)`);
    assert.equal(await decodeErrors(path.join(rec.dir, 'index.m3u8')), '');
    const probe = await ffprobeJson(path.join(rec.dir, 'index.m3u8'));
    assert.deepEqual(probe.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    const frame = await firstVideoFrame(path.join(rec.dir, firstNew.uri));
    assert.equal(frame.key_frame, 1);
    console.log(
      `      restarted ${restartMs} ms after SIGKILL; ${before.segments.length} segments before, ${after.segments.length} after; ` +
        `sent ${sent.toFixed(2)} s, recorded ${listed} s; replayed ${rec.recorder.counters.replayed} packets`,
    );
  });

  it('transcodes VP8 to H.264 (keyframe first) with Opus to AAC', async () => {
    const { rec, pub } = await startRecording('vp8', { video: 'VP8', audio: true }, { video: VP8 }, await loadVp8Frames());
    await segmentsListed(rec.dir, 1);
    pub.stop();
    const sent = pub.frames / 30;
    await rec.recorder.close();
    const probe = await ffprobeJson(path.join(rec.dir, 'index.m3u8'));
    const v = probe.streams.find((s) => s.codec_type === 'video')!;
    assert.equal(v.codec_name, 'h264');
    assert.equal(v.width, 640);
    assert.equal(v.height, 360);
    assert.equal(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'aac');
    const duration = Number(probe.format.duration);
    assert.ok(Math.abs(duration - sent) < 1, `ffprobe duration ${duration} s vs ${sent.toFixed(2)} s sent`);
    const frame = await firstVideoFrame(path.join(rec.dir, 'seg_00000.ts'));
    assert.equal(frame.key_frame, 1);
    assert.equal(frame.pict_type, 'I');
    const meta = JSON.parse(await fs.readFile(path.join(rec.dir, 'meta.json'), 'utf8')) as RecordingMeta;
    assert.equal(meta.video, 'VP8');
    assert.equal(await decodeErrors(path.join(rec.dir, 'index.m3u8')), '');
    console.log(`      VP8: sent ${sent.toFixed(2)} s, recorded ${duration.toFixed(3)} s of h264 ${v.width}x${v.height}`);
  });

  // What Chromium's publishes did to the recording, without Chromium: ffmpeg's frame-rate
  // guess failed on capture-time stamps (each copied packet then lasted one tick, and the
  // last segment was listed as ~0 s; VP8 was encoded at 90000 fps and nothing came out),
  // audio jumped back in time when its first SR came 2.5 s in, and every padding probe
  // left a hole that ffmpeg waited 500 ms on. The frame intervals are those of a Chromium
  // H.264 publish on a loaded machine (20 fps), scaled to this clip's 30 fps; they are
  // given to the VP8 clip only: the H.264 clip's SPS declares a constant 30 fps (x264
  // writes it, Chromium's encoder does not), which capture-time intervals would contradict.
  const chromiumIntervals = [
    4410, 4590, 4410, 4500, 5940, 3060, 4500, 4500, 4500, 4500, 4860, 4140, 4860, 4140, 4680, 4500, 4770, 4140, 4410, 4500, 9000, 4500,
  ];
  const mean = chromiumIntervals.reduce((a, b) => a + b, 0) / chromiumIntervals.length;
  const captureIntervals = chromiumIntervals.map((d) => (d * 3000) / mean);
  for (const codec of ['H264', 'VP8'] as const) {
    it(`records ${codec} sent as Chromium sends it: a late audio SR, padding probes${codec === 'VP8' ? ', capture-time frame intervals' : ''}`, async () => {
      const ffmpegSaid: string[] = [];
      const log = createLogger('debug', (json) => {
        const entry = JSON.parse(json) as { msg: string; line?: string };
        if (entry.msg === 'ffmpeg' && entry.line) ffmpegSaid.push(entry.line);
      });
      const opts: PublisherOptions = { video: codec, audio: true, audioSrDelayMs: 2500, paddingPerFrame: 2, ...(codec === 'VP8' ? { captureIntervals } : {}) };
      const vp8 = codec === 'VP8' ? await loadVp8Frames() : undefined;
      const { rec, pub } = await startRecording(`chromium-like-${codec}`, opts, { video: codec === 'H264' ? H264 : VP8, log }, vp8);
      await sleep(7000);
      pub.stop();
      const sent = pub.frames / 30;
      await rec.recorder.close();

      const complaints = ffmpegSaid.filter((l) => /Non-monotonous|backward in time|RTP: missed|max delay reached|duplicated|Frame rate very high/.test(l));
      assert.deepEqual(complaints, [], 'ffmpeg saw timestamps go back, holes, or a guessed frame rate');
      const p = parsePlaylist(await fs.readFile(path.join(rec.dir, 'index.m3u8'), 'utf8'));
      const listed = playlistDuration(p);
      assert.ok(Math.abs(listed - sent) < 1, `playlist lists ${listed} s of ${sent.toFixed(2)} s sent`);
      const last = p.segments[p.segments.length - 1]!;
      const lastMedia = Number((await ffprobeJson(path.join(rec.dir, last.uri))).format.duration);
      assert.ok(Math.abs(last.duration - lastMedia) < 0.2, `the last segment holds ${lastMedia} s and is listed as ${last.duration} s`);
      const duration = Number((await ffprobeJson(path.join(rec.dir, 'index.m3u8'))).format.duration);
      assert.ok(Math.abs(duration - sent) < 1, `ffprobe duration ${duration} s vs ${sent.toFixed(2)} s sent`);
      assert.equal(rec.recorder.counters.senderReports, 2, 'the media waited for the audio SR; then one clock report per stream');
      assert.equal(await decodeErrors(path.join(rec.dir, 'index.m3u8')), '');
      console.log(
        `      ${codec}: sent ${sent.toFixed(2)} s, playlist ${listed} s (last segment ${last.duration} s listed, ${lastMedia.toFixed(3)} s of media), ffprobe ${duration.toFixed(3)} s`,
      );
    });
  }

  it('records a publisher whose audio never gets a Sender Report: after 5 s without, aligned by arrival', async () => {
    const { rec, pub } = await startRecording('no-audio-sr', { video: 'H264', audio: true, audioSrDelayMs: 3_600_000 });
    await segmentsListed(rec.dir, 2);
    pub.stop();
    await rec.recorder.close();
    assert.equal(rec.recorder.counters.senderReports, 0, 'no clock reports without every stream’s SR');
    const probe = await ffprobeJson(path.join(rec.dir, 'index.m3u8'));
    assert.deepEqual(probe.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    assert.equal(await decodeErrors(path.join(rec.dir, 'index.m3u8')), '');
  });

  it('records audio only', async () => {
    const { rec, pub } = await startRecording('audio', { audio: true }, { video: undefined });
    await segmentsListed(rec.dir, 1);
    pub.stop();
    const sent = pub.sentSeconds;
    await rec.recorder.close();
    const probe = await ffprobeJson(path.join(rec.dir, 'index.m3u8'));
    assert.deepEqual(
      probe.streams.map((s) => s.codec_name),
      ['aac'],
    );
    assert.ok(Math.abs(Number(probe.format.duration) - sent) < 1, `${probe.format.duration} s vs ${sent} s sent`);
  });

  it('goes on through a change of publisher (new SSRCs and numbering, joining mid-GOP)', async () => {
    const { rec, pub } = await startRecording('newpublisher', { video: 'H264', audio: true });
    await segmentsListed(rec.dir, 1);
    const framesBefore = pub.frames;
    pub.replaceWith(10); // the next keyframe comes 20 frames later
    await sleep(3000);
    pub.stop();
    const sent = pub.frames / 30;
    await rec.recorder.close();
    const text = await fs.readFile(path.join(rec.dir, 'index.m3u8'), 'utf8');
    assert.doesNotMatch(text.split('\n').slice(7).join('\n'), /DISCONTINUITY/, 'one ffmpeg run, no restart');
    const probe = await ffprobeJson(path.join(rec.dir, 'index.m3u8'));
    const duration = Number(probe.format.duration);
    // Video waits ~20 frames for the new publisher's keyframe; the timeline runs on through it.
    assert.ok(Math.abs(duration - sent) < 1, `${duration} s recorded vs ${sent.toFixed(2)} s sent`);
    assert.equal(await decodeErrors(path.join(rec.dir, 'index.m3u8')), '');
    console.log(`      publisher changed after ${(framesBefore / 30).toFixed(2)} s: sent ${sent.toFixed(2)} s, recorded ${duration.toFixed(3)} s`);
  });

  it(`keeps the same ffmpeg through a pause in the media longer than its input timeout (${INPUT_TIMEOUT_S} s)`, async () => {
    // The publisher's packets stop arriving (a stalled network: its clock runs on) and come back.
    let paused = false;
    const rec = makeRecorder('pause');
    const pub = new FakePublisher(media, undefined, () => (paused ? undefined : rec.recorder), { video: 'H264', audio: true });
    rec.publisher = pub;
    publishers.push(pub);
    const starting = rec.recorder.start();
    pub.start();
    await starting;
    await segmentsListed(rec.dir, 1);
    const pid = rec.recorder.ffmpegPid;
    const pauseMs = 2 * INPUT_TIMEOUT_S * 1000 + 2000;
    paused = true;
    await sleep(pauseMs);
    paused = false;
    assert.equal(rec.recorder.ffmpegPid, pid, 'the same ffmpeg');
    assert.equal(rec.recorder.state, 'recording');
    const before = parsePlaylist(await fs.readFile(path.join(rec.dir, 'index.m3u8'), 'utf8')).segments.length;
    await segmentsListed(rec.dir, before + 1);
    pub.stop();
    await rec.recorder.close();
    const text = await fs.readFile(path.join(rec.dir, 'index.m3u8'), 'utf8');
    const after = parsePlaylist(text).segments.length;
    assert.equal(rec.recorder.counters.restarts, 0);
    assert.doesNotMatch(text, /DISCONTINUITY/, 'one ffmpeg run, no restart');
    assert.ok(after > before, `recorded on after the pause: ${before} segments before, ${after} at the end`);
    console.log(`      ${pauseMs} ms without media: ffmpeg ${pid} kept, ${before} → ${after} segments`);
  });

  it('records H.264 only, and close() after the publisher stopped ends ffmpeg by ending its input', async () => {
    // ffmpeg gets SIGINT only at half the stop timeout: a close() well before that ended it with the BYE.
    const { rec, pub } = await startRecording('videoonly', { video: 'H264', audio: false }, { audio: undefined, stopTimeoutMs: 20_000 });
    await segmentsListed(rec.dir, 1);
    pub.stop();
    const sent = pub.sentSeconds;
    await sleep(500);
    const c0 = Date.now();
    await rec.recorder.close();
    const closeMs = Date.now() - c0;
    assert.ok(closeMs < 10_000, `close() took ${closeMs} ms: ffmpeg did not end on the RTCP BYE, only on a signal`);
    const text = await fs.readFile(path.join(rec.dir, 'index.m3u8'), 'utf8');
    assert.match(text, /#EXT-X-ENDLIST\s*$/);
    const probe = await ffprobeJson(path.join(rec.dir, 'index.m3u8'));
    assert.deepEqual(
      probe.streams.map((s) => s.codec_name),
      ['h264'],
    );
    assert.ok(Math.abs(Number(probe.format.duration) - sent) < 1, `${probe.format.duration} s vs ${sent} s sent`);
    assert.equal(await decodeErrors(path.join(rec.dir, 'index.m3u8')), '');
    console.log(`      video only: sent ${sent.toFixed(2)} s, recorded ${Number(probe.format.duration).toFixed(3)} s, close() ${closeMs} ms`);
  });

  it('close() while ffmpeg is being restarted closes the playlist it has', async () => {
    const { rec, pub } = await startRecording('closing-restart', { video: 'H264', audio: true });
    await segmentsListed(rec.dir, 2);
    process.kill(rec.recorder.ffmpegPid!, 'SIGKILL');
    // The exit is seen at once; the restart is scheduled 250 ms after it.
    await until('the exit seen', () => (rec.recorder.state === 'restarting' ? true : undefined), 2000);
    assert.equal(rec.recorder.state, 'restarting');
    await rec.recorder.close();
    pub.stop();
    const text = await fs.readFile(path.join(rec.dir, 'index.m3u8'), 'utf8');
    const p = parsePlaylist(text);
    assert.ok(p.segments.length >= 2);
    assert.match(text, /#EXT-X-ENDLIST\s*$/);
    const meta = JSON.parse(await fs.readFile(path.join(rec.dir, 'meta.json'), 'utf8')) as RecordingMeta;
    assert.equal(meta.status, 'finished');
    assert.equal(meta.durationSeconds, playlistDuration(p));
    assert.equal(rec.recorder.ffmpegPid, undefined);
  });

  it('fails (no throw) when the directory cannot be created, even as root', async () => {
    const file = path.join(root, 'a-file.txt');
    await fs.writeFile(file, 'not a directory');
    const rec = makeRecorder('unwritable', { dir: path.join(file, 'rec') });
    const pub = publish(rec, { video: 'H264', audio: true });
    pub.start(); // packets keep coming: onPacket must not throw
    const failed = waitFor<string>(rec.recorder, 'failed', 10_000);
    await rec.recorder.start();
    const reason = await failed;
    assert.match(reason, /cannot create the recording directory .*ENOTDIR/);
    assert.equal(rec.recorder.state, 'failed');
    assert.equal(rec.recorder.error, reason);
    await sleep(200);
    await rec.recorder.close(); // resolves at once
    assert.equal(rec.recorder.ffmpegPid, undefined);
  });

  it('stops with failed when ffmpeg cannot write into the directory (replaced by a file mid-recording)', async () => {
    const { rec } = await startRecording('vanished', { video: 'H264', audio: true });
    await segmentsListed(rec.dir, 1);
    const failed = waitFor<string>(rec.recorder, 'failed', 10_000);
    await fs.rename(rec.dir, `${rec.dir}.moved`);
    await fs.writeFile(rec.dir, 'now a file');
    const reason = await failed;
    assert.match(reason, /cannot write the recording|Not a directory|playlist/i);
    assert.equal(rec.recorder.state, 'failed');
    console.log(`      failed: "${reason}"`);
  });

  /** Runs `body` with a fresh tmpfs of `size` mounted (skipping the test where mount is not allowed). */
  async function onTmpfs(test: Mocha.Context, name: string, size: string, body: (mnt: string) => Promise<void>): Promise<void> {
    const mnt = path.join(root, name);
    await fs.mkdir(mnt, { recursive: true });
    const mounted = await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
    if (mounted.code !== 0) {
      console.log(`      (skipped: cannot mount a tmpfs here: ${mounted.stderr.trim()})`);
      test.skip();
    }
    try {
      await body(mnt);
    } finally {
      await Promise.all(recorders.splice(0).map((r) => r.close()));
      await run('umount', [mnt]);
    }
  }

  /** What a recording stopped by a full disk must leave: its segments, ENDLIST, a failed meta.json, a clean decode. */
  async function assertKeptAfterDiskFull(dir: string, reason: string, alsoCheck?: (p: ReturnType<typeof parsePlaylist>) => Promise<void>): Promise<void> {
    assert.match(reason, /disk is full/);
    const text = await fs.readFile(path.join(dir, 'index.m3u8'), 'utf8');
    const p = parsePlaylist(text);
    assert.ok(p.segments.length >= 2, 'segments recorded before the disk filled');
    assert.match(text, /#EXT-X-ENDLIST\s*$/);
    await alsoCheck?.(p);
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')) as RecordingMeta;
    assert.equal(meta.status, 'failed');
    assert.equal(meta.durationSeconds, playlistDuration(p));
    assert.equal(await decodeErrors(path.join(dir, 'index.m3u8')), '');
    console.log(`      disk full after ${meta.durationSeconds} s: "${reason}"`);
  }

  it('stops gracefully with failed when the disk fills up (tmpfs), keeping what was recorded', async function () {
    await onTmpfs(this, 'small-disk', '2m', async (mnt) => {
      const rec = makeRecorder('diskfull', { dir: path.join(mnt, 'rec1'), minFreeBytes: 512 * 1024 });
      const pub = publish(rec, { video: 'H264', audio: true });
      pub.start();
      const failed = waitFor<string>(rec.recorder, 'failed', 40_000);
      await rec.recorder.start();
      const reason = await failed;
      pub.stop();
      await assertKeptAfterDiskFull(path.join(mnt, 'rec1'), reason);
    });
  });

  it('fails with the disk full when ffmpeg runs into it (tmpfs), putting back the last good playlist', async function () {
    await onTmpfs(this, 'full-disk', '1200k', async (mnt) => {
      // No free-space margin: ffmpeg's own writes fail (it says nothing and writes an empty playlist).
      const rec = makeRecorder('diskfull2', { dir: path.join(mnt, 'rec1'), minFreeBytes: 1 });
      const pub = publish(rec, { video: 'H264', audio: true });
      const failed = waitFor<string>(rec.recorder, 'failed', 40_000);
      const starting = rec.recorder.start();
      pub.start();
      await starting;
      const reason = await failed;
      pub.stop();
      await assertKeptAfterDiskFull(path.join(mnt, 'rec1'), reason, async (p) => {
        const files = (await fs.readdir(path.join(mnt, 'rec1'))).filter((f) => f.endsWith('.ts')).sort();
        assert.deepEqual(files, p.segments.map((seg) => seg.uri).sort(), 'the cut-short segment is gone');
      });
    });
  });

  it('missing ffmpeg: probeFfmpeg says why in one line, a Recorder fails with the same reason', async () => {
    const probe = await probeFfmpeg('/nonexistent/ffmpeg');
    assert.equal(probe.ok, false);
    const reason = (probe as { reason: string }).reason;
    assert.equal(reason, 'ffmpeg not found at "/nonexistent/ffmpeg" (install ffmpeg or set FFMPEG_PATH)');
    assert.doesNotMatch(reason, /\n/);
    const ok = await probeFfmpeg(FFMPEG);
    assert.ok(ok.ok && /^\d/.test(ok.version), JSON.stringify(ok));

    const rec = makeRecorder('noffmpeg', { ffmpegPath: '/nonexistent/ffmpeg' });
    const failed = waitFor<string>(rec.recorder, 'failed', 10_000);
    await rec.recorder.start();
    assert.equal(await failed, reason);
    console.log(`      probe: ${reason}; real ffmpeg: ${ok.ok ? ok.version : ''}`);
  });

  it('gives up with failed after 5 quick ffmpeg failures in a row', async () => {
    // An "ffmpeg" that answers capability queries (-version, -formats) but dies at once when asked to record.
    const fake = path.join(root, 'crashing-ffmpeg.sh');
    await fs.writeFile(fake, `#!/bin/sh\nfor a in "$@"; do case "$a" in -f) echo "[error] simulated crash" >&2; exit 1;; esac; done\nexec ${FFMPEG} "$@"\n`, {
      mode: 0o755,
    });
    const rec = makeRecorder('crashloop', { ffmpegPath: fake });
    let restarts = 0;
    rec.recorder.on('restarted', () => restarts++);
    const failed = waitFor<string>(rec.recorder, 'failed', 20_000);
    const t0 = Date.now();
    void rec.recorder.start();
    const reason = await failed;
    assert.match(reason, /ffmpeg failed 5 times in a row; the last time it exited with code 1: \[error\] simulated crash/);
    assert.equal(restarts, 0);
    assert.equal(rec.recorder.counters.restarts, 4);
    console.log(`      gave up after ${Date.now() - t0} ms: ${reason}`);
  });

  after(() => {
    console.log(`      (${sentDatagrams} datagrams sent to ffmpeg in all)`);
  });
});
