// Synthetic RTP media with a realistic packet pattern and no encoder: H.264 (RFC 6184)
// frames at a target bitrate and frame rate, and Opus-like 20 ms audio packets.
//
// Video: every keyframeIntervalFrames-th frame (the first one included) is a keyframe:
// a STAP-A packet carrying SPS (NAL 7) + PPS (NAL 8), then the IDR slice (NAL 5); other
// frames are one non-IDR slice (NAL 1). A slice larger than one packet goes out as FU-A
// fragments (≤ maxPayload bytes of RTP payload each, correct FU indicator/header, S on the
// first, E on the last); one that fits goes out as a single NAL unit packet, because
// RFC 6184 §5.8 forbids an FU-A with both S and E set. The marker bit is set on the last
// packet of every frame; timestamps are 90 kHz. Keyframes are keyframeWeight times the
// size of the other frames, sizes jitter ±15 %, and the long-run payload rate is videoKbps.
// Payload bytes are random.
//
// Pacing: the schedule is absolute (frame n is due at start + n / fps, audio packet n at
// start + 20 n ms), so timer jitter never accumulates; a frame's packets leave as a burst.
// Use next(nowMs) from your own loop, or start(send) / stop() for a self-timed source.
import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { MediaKind } from '../../src/rtp/mediaKind';

export interface SyntheticSourceOptions {
  /** H.264 payload bitrate (NAL bytes, without RTP headers). Default 2000. */
  videoKbps?: number;
  /** Default 30. */
  fps?: number;
  /** A keyframe every N frames, starting with the first. Default 2 * fps. */
  keyframeIntervalFrames?: number;
  /** Send Opus-like audio too. Default true. */
  audio?: boolean;
  /** Send video. Default true. */
  video?: boolean;
  videoSsrc: number;
  audioSsrc: number;
  /** Default 96 (the LiteClient publish offer). */
  videoPayloadType?: number;
  /** Default 111. */
  audioPayloadType?: number;
  /** Largest RTP payload. Default 1200. */
  maxPayload?: number;
  /** Keyframe size relative to a delta frame. Default 4. */
  keyframeWeight?: number;
  /** Opus packet size in bytes. Default 160. */
  audioBytes?: number;
}

export interface SyntheticStats {
  videoFrames: number;
  keyframes: number;
  videoPackets: number;
  /** RTP bytes (headers included) */
  videoBytes: number;
  audioPackets: number;
  audioBytes: number;
}

export interface SyntheticSource {
  /** Every packet due at `nowMs` (performance.now() clock) that has not been returned yet. The first call starts the clock. */
  next(nowMs?: number): Buffer[];
  /** Self-timed: calls send() with every packet as it becomes due. */
  start(send: (packet: Buffer, kind: MediaKind) => void): void;
  stop(): void;
  /** Makes the next video frame a keyframe (e.g. on PLI/FIR). */
  requestKeyframe(): void;
  readonly stats: SyntheticStats;
  readonly options: Readonly<Required<SyntheticSourceOptions>>;
}

const RTP_HEADER = 12;
/** FU indicator + FU header */
const FU_OVERHEAD = 2;

// Plausible Constrained Baseline 3.1 (42e01f) parameter sets; nothing decodes them.
const SPS = Buffer.from('6742e01f8d680500 5b a1 00 00 03 00 01 00 00 03 00 3c 8f 14 2a a0'.replace(/\s/g, ''), 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');

/** A pool of random bytes: payloads are copied out of it at random offsets (cheaper than randomBytes per packet). */
const POOL = randomBytes(1 << 16);

function randomPayload(target: Buffer, offset: number, length: number): void {
  let written = 0;
  while (written < length) {
    const n = Math.min(length - written, POOL.length >> 1);
    const from = randomInt(0, POOL.length - n + 1);
    POOL.copy(target, offset + written, from, from + n);
    written += n;
  }
}

export class RtpWriter {
  seq = randomInt(0, 0x10000);
  readonly timestampBase = randomInt(0, 0x100000000);
  constructor(
    readonly payloadType: number,
    readonly ssrc: number,
  ) {}

  /** A packet with `payloadLength` bytes of payload, whose first bytes the caller fills. */
  packet(timestamp: number, marker: boolean, payloadLength: number): Buffer {
    const b = Buffer.allocUnsafe(RTP_HEADER + payloadLength);
    b[0] = 0x80;
    b[1] = (marker ? 0x80 : 0) | this.payloadType;
    b.writeUInt16BE(this.seq, 2);
    b.writeUInt32BE((this.timestampBase + timestamp) >>> 0, 4);
    b.writeUInt32BE(this.ssrc >>> 0, 8);
    this.seq = (this.seq + 1) & 0xffff;
    return b;
  }
}

/** RTP packets of one H.264 access unit. */
export function packetizeH264Frame(writer: RtpWriter, timestamp: number, keyframe: boolean, sliceBytes: number, maxPayload: number): Buffer[] {
  const out: Buffer[] = [];
  if (keyframe) {
    // STAP-A: [F|NRI=3|24] [size][SPS] [size][PPS]
    const stap = writer.packet(timestamp, false, 1 + 2 + SPS.length + 2 + PPS.length);
    let p = RTP_HEADER;
    stap[p++] = 0x78;
    stap.writeUInt16BE(SPS.length, p);
    SPS.copy(stap, p + 2);
    p += 2 + SPS.length;
    stap.writeUInt16BE(PPS.length, p);
    PPS.copy(stap, p + 2);
    out.push(stap);
  }
  const nalType = keyframe ? 5 : 1;
  const nri = keyframe ? 3 : 2;
  const nalHeader = (nri << 5) | nalType;
  // The slice is the NAL header byte plus `body` bytes.
  const body = Math.max(1, sliceBytes - 1);
  if (1 + body <= maxPayload) {
    const pkt = writer.packet(timestamp, true, 1 + body);
    pkt[RTP_HEADER] = nalHeader;
    randomPayload(pkt, RTP_HEADER + 1, body);
    out.push(pkt);
    return out;
  }
  const chunk = maxPayload - FU_OVERHEAD;
  const count = Math.ceil(body / chunk);
  // Equal-sized fragments (as encoders' packetizers do), each ≤ chunk.
  const base = Math.floor(body / count);
  let extra = body - base * count;
  for (let i = 0; i < count; i++) {
    const size = base + (extra > 0 ? 1 : 0);
    if (extra > 0) extra--;
    const last = i === count - 1;
    const pkt = writer.packet(timestamp, last, FU_OVERHEAD + size);
    pkt[RTP_HEADER] = (nri << 5) | 28; // FU indicator: F=0, NRI, type 28 (FU-A)
    pkt[RTP_HEADER + 1] = (i === 0 ? 0x80 : 0) | (last ? 0x40 : 0) | nalType; // FU header: S, E, R=0, type
    randomPayload(pkt, RTP_HEADER + FU_OVERHEAD, size);
    out.push(pkt);
  }
  return out;
}

export function createSource(opts: SyntheticSourceOptions): SyntheticSource {
  const fps = opts.fps ?? 30;
  const o: Required<SyntheticSourceOptions> = {
    videoKbps: opts.videoKbps ?? 2000,
    fps,
    keyframeIntervalFrames: Math.max(1, Math.round(opts.keyframeIntervalFrames ?? fps * 2)),
    audio: opts.audio ?? true,
    video: opts.video ?? true,
    videoSsrc: opts.videoSsrc,
    audioSsrc: opts.audioSsrc,
    videoPayloadType: opts.videoPayloadType ?? 96,
    audioPayloadType: opts.audioPayloadType ?? 111,
    maxPayload: opts.maxPayload ?? 1200,
    keyframeWeight: opts.keyframeWeight ?? 4,
    audioBytes: opts.audioBytes ?? 160,
  };
  if (!(o.fps > 0) || !(o.videoKbps > 0)) throw new Error('createSource: fps and videoKbps must be positive');
  if (o.videoPayloadType === o.audioPayloadType) throw new Error('createSource: audio and video need different payload types');
  if (o.maxPayload < 64) throw new Error('createSource: maxPayload must be at least 64');

  const video = new RtpWriter(o.videoPayloadType, o.videoSsrc);
  const audio = new RtpWriter(o.audioPayloadType, o.audioSsrc);
  const stats: SyntheticStats = { videoFrames: 0, keyframes: 0, videoPackets: 0, videoBytes: 0, audioPackets: 0, audioBytes: 0 };

  // Sizes: per GOP, one keyframe of weight w and N-1 delta frames of weight 1 carry N average frames.
  const averageFrame = (o.videoKbps * 1000) / 8 / o.fps;
  const N = o.keyframeIntervalFrames;
  const deltaFrame = (N * averageFrame) / (o.keyframeWeight + N - 1);
  const keyFrame = deltaFrame * o.keyframeWeight;
  const jitter = (bytes: number): number => Math.max(16, Math.round(bytes * (0.85 + Math.random() * 0.3)));

  let startAt: number | undefined;
  let frameIndex = 0;
  let audioIndex = 0;
  let forceKeyframe = false;
  const frameMs = 1000 / o.fps;

  function next(nowMs = performance.now()): Buffer[] {
    startAt ??= nowMs;
    const elapsed = nowMs - startAt;
    const out: Buffer[] = [];
    // Interleave by due time so audio is not held behind a burst of frames after a stall.
    for (;;) {
      const videoDue = o.video ? frameIndex * frameMs : Infinity;
      const audioDue = o.audio ? audioIndex * 20 : Infinity;
      if (Math.min(videoDue, audioDue) > elapsed) break;
      if (videoDue <= audioDue) {
        const keyframe = frameIndex % N === 0 || forceKeyframe;
        forceKeyframe = false;
        const ts = Math.round((frameIndex * 90000) / o.fps);
        const pkts = packetizeH264Frame(video, ts, keyframe, jitter(keyframe ? keyFrame : deltaFrame), o.maxPayload);
        stats.videoFrames++;
        if (keyframe) stats.keyframes++;
        for (const p of pkts) {
          stats.videoPackets++;
          stats.videoBytes += p.length;
          out.push(p);
        }
        frameIndex++;
      } else {
        const size = Math.max(8, o.audioBytes + randomInt(-20, 21));
        const p = audio.packet(audioIndex * 960, audioIndex === 0, size);
        p[RTP_HEADER] = 0xfc; // TOC: config 31 (CELT FB 20 ms), mono, one frame
        randomPayload(p, RTP_HEADER + 1, size - 1);
        stats.audioPackets++;
        stats.audioBytes += p.length;
        out.push(p);
        audioIndex++;
      }
    }
    return out;
  }

  let timer: NodeJS.Timeout | undefined;
  let running = false;

  function nextDueIn(now: number): number {
    if (startAt === undefined) return 0;
    const videoDue = o.video ? frameIndex * frameMs : Infinity;
    const audioDue = o.audio ? audioIndex * 20 : Infinity;
    return Math.max(0, startAt + Math.min(videoDue, audioDue) - now);
  }

  function start(send: (packet: Buffer, kind: MediaKind) => void): void {
    if (running) return;
    running = true;
    if (startAt !== undefined) {
      // Restarted after stop(): resume the schedule now instead of catching up in a burst.
      const videoDue = o.video ? frameIndex * frameMs : Infinity;
      const audioDue = o.audio ? audioIndex * 20 : Infinity;
      startAt = performance.now() - Math.min(videoDue, audioDue);
    }
    const tick = (): void => {
      if (!running) return;
      for (const p of next(performance.now())) send(p, (p[1]! & 0x7f) === o.audioPayloadType ? 'audio' : 'video');
      if (!running) return;
      // setTimeout fires ≥ 1 ms late; the absolute schedule absorbs that.
      timer = setTimeout(tick, nextDueIn(performance.now()));
    };
    tick();
  }

  function stop(): void {
    running = false;
    clearTimeout(timer);
    timer = undefined;
  }

  return {
    next,
    start,
    stop,
    requestKeyframe: () => {
      forceKeyframe = true;
    },
    stats,
    options: o,
  };
}
