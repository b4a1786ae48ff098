// Records one publish to HLS through ffmpeg. The recorder is fed like a viewer: the SFU
// hands it the publisher's decrypted RTP and Sender Reports; it rewrites the packets with
// its own SSRC, payload type and numbering (continuous across ffmpeg restarts and changes
// of publisher, with no holes where it leaves packets out) and sends plain RTP to
// ffmpeg's RTP input on 127.0.0.1 (RTCP to port + 1) through the send function it is
// given. ffmpeg writes dir/index.m3u8 and dir/seg_NNNNN.ts; the recorder writes dir/meta.json.
//
// The stream ffmpeg gets starts on a video keyframe (audio before it is dropped, so the
// recording starts aligned). Audio and video are synchronized by the publisher's Sender
// Reports, given to ffmpeg once, before any media (see sendClockReports). A recording ends
// with an RTCP BYE on every stream, which ffmpeg takes for the end of its input (see
// endInput); ffmpeg also ends it by itself after a few seconds without a datagram, so
// that it does not outlive onecast, and a keep-alive holds it open meanwhile (see
// keepInputAwake). The recorder keeps the packets since the keyframe that
// began ffmpeg's current, unfinished segment: ffmpeg holds that segment in memory until
// it is finished, so when ffmpeg dies (crash, SIGKILL) the recorder restarts it (within
// ~250 ms; backoff; 'failed' after 5 quick failures in a row) and replays those packets,
// faster than real time, before going live again. The new ffmpeg appends to the
// playlist after #EXT-X-DISCONTINUITY and numbers its segments after every existing one.
//
// Failure to write (directory cannot be created, ffmpeg cannot open its files, the disk
// fills up) ends the recording with 'failed' and a reason; nothing ever throws into
// onPacket/onSenderReport. ffmpeg 5.1 does not report a full disk at all (it writes an
// empty playlist and carries on), so the recorder watches the playlist (it only ever
// grows) and the free space itself, and puts back the last good playlist if needed.
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger, type Logger } from '../log';
import { MAX_HEADER, RtpRewriter } from '../rtp/rewriter';
import { buildRr, buildSr, type RtcpItem } from '../rtp/rtcp';
import type { RtpView } from '../rtp/rtpPacket';
import type { Codec } from '../sdp/types';
import { isBindFailure, KEEPALIVE_MS, outputErrorIn, REORDER_DELAY_MS, startHls, type HlsExit, type HlsProcess } from './ffmpeg';
import { ntpAt, ntpSeconds, rtpAt, type MediaClock } from './mediaClock';
import { closePlaylist, writeAtomic } from './closePlaylist';
import { metaFile, playlistFile } from '../recordings/layout';
import { extendsPlaylist, parsePlaylist, playlistDuration, type Playlist } from './playlist';
import { pickRtpPorts, udpBytesQueued, waitForUdpPorts } from './ports';
import { buildRecorderSdp, RECORDER_AUDIO_PT, RECORDER_VIDEO_PT } from './recorderSdp';
import { SequenceGaps } from './sequenceGaps';
import type { RecordingMeta as StoredMeta } from '../recordings/store';

export type RecorderKind = 'audio' | 'video';
export type SenderReport = Extract<RtcpItem, { type: 'sr' }>;

/** Segments are ~2 s: ask for a keyframe when this long has passed without one. */
const KEYFRAME_EVERY_MS = 2_000;

export type RecorderState = 'idle' | 'starting' | 'recording' | 'restarting' | 'stopping' | 'finished' | 'failed';

export interface RecorderOptions {
  room: string;
  id: string;
  /** The recording's directory (created if missing): index.m3u8, seg_NNNNN.ts, meta.json. */
  dir: string;
  ffmpegPath: string;
  /** The publisher's codecs (H264 or VP8; opus); at least one. */
  video?: Codec;
  audio?: Codec;
  /** Sends one plain RTP/RTCP datagram to 127.0.0.1:port. */
  send(packet: Buffer, port: number): void;
  /** Asks the publisher for a keyframe (called on start, on every restart, and every 2 s while waiting for one). */
  requestKeyframe(): void;
  log?: Logger;
  /** Consecutive quick ffmpeg failures (each within 10 s of its start) before giving up. Default 5. */
  maxQuickFailures?: number;
  /** Below this much free space where the recording is written, it stops with 'failed'. Default 32 MiB. */
  minFreeBytes?: number;
  /** How long close() lets ffmpeg finish before killing it. Default 5000 ms. */
  stopTimeoutMs?: number;
}

/** The recorder writes every field, status and error included. */
export type RecordingMeta = Required<StoredMeta>;

export interface RecorderEvents {
  /** The first ffmpeg is up and receiving. */
  started: [];
  /** ffmpeg died and a new one is up and receiving. */
  restarted: [info: { restarts: number; reason: string }];
  /** The recording stopped for good; what was recorded until then is kept and its playlist closed. */
  failed: [reason: string];
  /** close() completed: ENDLIST written, meta.json final. */
  finished: [meta: RecordingMeta];
}

export interface RecorderCounters {
  /** Packets given to onPacket. */
  received: number;
  /** Dropped while waiting for a keyframe (or while not recording). */
  dropped: number;
  /** Datagrams sent to ffmpeg, replays included. */
  sent: number;
  /** Of those, sent from the buffer as a run began: held while ffmpeg started up, or replayed to a restarted one. */
  replayed: number;
  /** Sender Reports sent to ffmpeg (one per stream as each run's media starts, when the publisher sends them). */
  senderReports: number;
  restarts: number;
}

/** Delay before the n-th consecutive quick restart. */
const RESTART_DELAYS_MS = [250, 500, 1000, 2000, 4000];
/** A run shorter than this that fails counts as a quick failure. */
const QUICK_FAILURE_MS = 10_000;
const MAX_BIND_RETRIES = 10;
/** After a failed write, less free space than this means the disk is full. */
const FULL_DISK_BYTES = 1024 * 1024;
const PLAYLIST_POLL_MS = 500;
const DISK_CHECK_EVERY_POLLS = 4;
const KEYFRAME_REQUEST_MS = 2000;
/** Replay to a restarted ffmpeg at this multiple of the original pace (and at most this many bytes per tick). */
const REPLAY_SPEED = 4;
const REPLAY_TICK_MS = 5;
const REPLAY_TICK_BYTES = 64 * 1024;
/** The replay buffer never holds more than this: older packets go (up to the newest keyframe). */
const MAX_BUFFER_BYTES = 32 * 1024 * 1024;
const MAX_BUFFER_MS = 20_000;
/** Slack when matching a segment boundary (playlist seconds) to an RTP timestamp. */
const CUT_TOLERANCE_S = 0.25;
/** How long a run's media waits for every stream's Sender Report (Chromium's first audio SR comes ~2.5 s in) before going without. */
const SENDER_REPORT_WAIT_MS = 5000;
/** The instant the clock reports name lies this far before the run's first keyframe: no packet's time comes out negative. */
const CLOCK_LEAD_S = 1;
/** One 20 ms Opus frame of silence (CELT, fullband, mono; decoders upmix it). */
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);
const OPUS_FRAME_TICKS = 960;
/** Lead-in silence is never longer than this many Opus frames. */
const MAX_LEAD_IN_FRAMES = 10;

interface Entry {
  kind: RecorderKind;
  /** The rewritten packet, exactly as sent to ffmpeg. */
  packet: Buffer;
  ts: number;
  /** Arrival (Date.now()), for pacing replays. */
  at: number;
  /** A point the stream may start at: a video keyframe's first packet (any audio packet when there is no video). */
  cut: boolean;
}

interface Track {
  kind: RecorderKind;
  codec: Codec;
  rewriter: RtpRewriter;
  sourceSsrc: number | undefined;
  /** The current source's sequence numbers, renumbered around the packets left out. */
  gaps: SequenceGaps;
  /** The publisher's last Sender Report (its NTP/RTP mapping holds for earlier packets too). */
  lastSr: SenderReport | undefined;
}

interface Run {
  proc: HlsProcess;
  ports: Partial<Record<RecorderKind, number>>;
  launchedAt: number;
  ready: boolean;
  exited: boolean;
  /** Segments the playlist listed when this run started. */
  listedAtStart: number;
  /** Next buffer entry to send; -1 while waiting for a cut point. */
  cursor: number;
  /** Caught up with live packets. */
  live: boolean;
  /**
   * How ffmpeg times the streams: from the clock reports sent before any media, or (the
   * publisher sent none in time) each stream from its own first packet; 'pending' while
   * the run's media waits for the reports.
   */
  clock: 'pending' | 'reports' | 'arrival';
  clockDeadline: number;
  clockTimer: NodeJS.Timeout | undefined;
  pumpTimer: NodeJS.Timeout | undefined;
  /** Keeps ffmpeg's input awake while the run is up (see keepInputAwake). */
  keepaliveTimer: NodeJS.Timeout | undefined;
  pumpStartedAt: number;
  pumpFromAt: number;
  /** First anchor timestamp sent in this run: media time 0 of its segments. */
  anchorTs0: number | undefined;
  /** Entries from replayFrom to replayEnd were buffered when this run began (replayed or held during the start). */
  replayFrom: number;
  replayEnd: number;
  producedSegment: boolean;
  outputError: string | undefined;
}

function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}

function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.message ?? String(e);
}

/** An RTCP BYE (RFC 3550 §6.6) for `ssrc`, with a reason so that it is 12 bytes: ffmpeg ignores shorter RTCP. */
function rtcpBye(ssrc: number): Buffer {
  const bye = Buffer.from([0x81, 203, 0, 2, 0, 0, 0, 0, 3, 0x65, 0x6e, 0x64]); // reason "end"
  bye.writeUInt32BE(ssrc >>> 0, 4);
  return bye;
}

export class Recorder extends EventEmitter<RecorderEvents> {
  readonly counters: RecorderCounters = { received: 0, dropped: 0, sent: 0, replayed: 0, senderReports: 0, restarts: 0 };
  private _state: RecorderState = 'idle';
  private readonly log: Logger;
  private readonly tracks: Partial<Record<RecorderKind, Track>> = {};
  private readonly anchor: RecorderKind;
  private readonly scratch = Buffer.alloc(MAX_HEADER);
  private readonly playlistFile: string;
  private readonly metaFile: string;
  private meta: RecordingMeta;
  private tmpDir: string | undefined;
  private run: Run | undefined;
  private entries: Entry[] = [];
  private bufferBytes = 0;
  /** The first cut point has gone into the stream. */
  private streamStarted = false;
  /** Video waits for a keyframe (start, change of publisher). */
  private videoNeedsKeyframe: boolean;
  /** Anchor timestamp up to which the media is in finished segments (for choosing where a replay starts). */
  private committedTs: number | undefined;
  private lastGood: Playlist = parsePlaylist('');
  private lastGoodText = '';
  private quickFailures = 0;
  private bindFailures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polls = 0;
  private polling = false;
  private keyframeTimer: NodeJS.Timeout | undefined;
  private terminal: Promise<void> | undefined;
  private everStarted = false;
  private resolveStart: (() => void) | undefined;
  private lastRestartReason = '';
  private packetErrorLogged = false;
  /** The publisher timestamp of the last keyframe packet seen. */
  private lastKeyframeTs: number | undefined;
  /** When the last keyframe arrived, and when we last asked for one (ms). */
  private lastKeyframeAt = 0;
  private lastKeyframeAsk = 0;

  constructor(private readonly opts: RecorderOptions) {
    super();
    this.log = opts.log ?? silentLogger;
    if (!opts.video && !opts.audio) throw new Error('a recording needs audio, video or both');
    if (opts.video && opts.video.name !== 'H264' && opts.video.name !== 'VP8') throw new Error(`cannot record video codec ${opts.video.name}`);
    if (opts.audio && opts.audio.name !== 'opus') throw new Error(`cannot record audio codec ${opts.audio.name}`);
    const mkTrack = (kind: RecorderKind, codec: Codec, pt: number): Track => ({
      kind,
      codec,
      sourceSsrc: undefined,
      gaps: new SequenceGaps(),
      lastSr: undefined,
      rewriter: new RtpRewriter({ ssrc: randomInt(1, 0xffffffff), payloadType: pt, clockRate: codec.clockRate, mid: '' }),
    });
    if (opts.video) this.tracks.video = mkTrack('video', opts.video, RECORDER_VIDEO_PT);
    if (opts.audio) this.tracks.audio = mkTrack('audio', opts.audio, RECORDER_AUDIO_PT);
    this.anchor = opts.video ? 'video' : 'audio';
    this.videoNeedsKeyframe = opts.video !== undefined;
    this.playlistFile = playlistFile(opts.dir);
    this.metaFile = metaFile(opts.dir);
    this.meta = {
      room: opts.room,
      id: opts.id,
      startedAt: new Date().toISOString(),
      endedAt: null,
      durationSeconds: null,
      video: opts.video?.name ?? null,
      audio: opts.audio?.name ?? null,
      status: 'recording',
      error: null,
    };
  }

  get state(): RecorderState {
    return this._state;
  }

  /** The running ffmpeg's pid (for tests and diagnostics). */
  get ffmpegPid(): number | undefined {
    return this.run?.proc.pid;
  }

  /** The local RTP ports ffmpeg listens on (RTCP on each + 1). */
  get ports(): Partial<Record<RecorderKind, number>> {
    return { ...(this.run?.ports ?? {}) };
  }

  get playlistPath(): string {
    return this.playlistFile;
  }

  /** Why the recording failed, once it has. */
  get error(): string | null {
    return this.meta.error;
  }

  /** The last ffmpeg's stderr lines. */
  stderrTail(): string {
    return this.run?.proc.stderrTail() ?? '';
  }

  /**
   * Creates the directory, writes meta.json and starts ffmpeg. Resolves once ffmpeg is
   * receiving, or once the recording has failed ('failed' says why) or was closed; never rejects.
   */
  start(): Promise<void> {
    if (this._state !== 'idle') return Promise.resolve();
    this._state = 'starting';
    this.meta.startedAt = new Date().toISOString();
    return new Promise<void>((resolve) => {
      this.resolveStart = resolve;
      void this.begin().catch((e: unknown) => this.fail(`recording could not start: ${errorText(e)}`));
    });
  }

  /** Stops ffmpeg gracefully (ENDLIST written), finalizes meta.json; resolves when done (bounded by stopTimeoutMs plus file I/O). */
  close(): Promise<void> {
    if (this.terminal) return this.terminal;
    if (this._state === 'idle') {
      this._state = 'finished';
      this.terminal = Promise.resolve();
      return this.terminal;
    }
    this._state = 'stopping';
    this.terminal = (async () => {
      this.clearTimers();
      const run = this.run;
      if (run) await this.stopRun(run);
      await this.finalize('finished', null);
      this._state = 'finished';
      this.settleStart();
      this.emit('finished', { ...this.meta });
    })();
    return this.terminal;
  }

  /** A packet of the publisher's (decrypted). Never throws. */
  onPacket(kind: RecorderKind, packet: Buffer, view: RtpView, keyframeStart: boolean): void {
    try {
      this.counters.received++;
      const state = this._state;
      if (state !== 'starting' && state !== 'recording' && state !== 'restarting') {
        this.counters.dropped++;
        return;
      }
      const track = this.tracks[kind];
      if (!track) return;
      if (track.sourceSsrc !== view.ssrc) {
        // A new publisher (or the first): its video is undecodable until its first keyframe.
        if (track.sourceSsrc !== undefined && kind === 'video') this.videoNeedsKeyframe = true;
        track.sourceSsrc = view.ssrc;
        track.gaps = new SequenceGaps();
      }
      // Padding-only packets (Chromium's bandwidth probes on the media SSRC) carry no
      // media; ffmpeg's depacketizer logs each as an "Empty H.264 RTP packet" error.
      if (view.payloadLength === 0) {
        track.gaps.skip(view.sequenceNumber);
        this.counters.dropped++;
        return;
      }
      // A cut point is the FIRST packet of a keyframe: the SFU flags the SPS, a STAP-A
      // holding it and the IDR's first fragment alike, and a stream must start at the first.
      const cut = kind === this.anchor && (kind === 'audio' || (keyframeStart && view.timestamp !== this.lastKeyframeTs));
      if (kind === 'video' && keyframeStart) this.lastKeyframeTs = view.timestamp;
      if (kind === 'video') this.keepKeyframesComing(keyframeStart);
      if (kind === 'video' && this.videoNeedsKeyframe) {
        if (!keyframeStart) {
          this.counters.dropped++;
          return;
        }
        this.videoNeedsKeyframe = false;
      }
      if (!this.streamStarted) {
        if (!cut) {
          this.counters.dropped++;
          return;
        }
        this.streamStarted = true;
      }
      const now = Date.now();
      const numbered: RtpView = { ...view, sequenceNumber: track.gaps.renumber(view.sequenceNumber) };
      const headerLength = track.rewriter.writeHeader(numbered, now, this.scratch);
      const out = Buffer.allocUnsafe(headerLength + view.payloadLength);
      this.scratch.copy(out, 0, 0, headerLength);
      packet.copy(out, headerLength, view.payloadOffset, view.payloadOffset + view.payloadLength);
      const entry: Entry = { kind, packet: out, ts: out.readUInt32BE(4), at: now, cut };
      this.accept(entry);
    } catch (e) {
      if (!this.packetErrorLogged) {
        this.packetErrorLogged = true;
        this.log.error('recorder: packet handling failed', { room: this.opts.room, id: this.opts.id, error: errorText(e) });
      }
    }
  }

  /**
   * With H.264 copied, HLS can only cut a segment at a keyframe. OBS sends one every
   * keyframe interval; Chromium only when asked. Asking whenever ~2 s pass without
   * one keeps segments near HLS_SEGMENT_SECONDS for every publisher.
   */
  private keepKeyframesComing(keyframeStart: boolean): void {
    const now = Date.now();
    if (keyframeStart) {
      this.lastKeyframeAt = now;
      return;
    }
    if (now - this.lastKeyframeAt >= KEYFRAME_EVERY_MS && now - this.lastKeyframeAsk >= KEYFRAME_EVERY_MS / 2) {
      this.lastKeyframeAsk = now;
      this.requestKeyframe();
    }
  }

  /** A Sender Report of the publisher's for `kind` (kept for the clock reports of the next run's start). Never throws. */
  onSenderReport(kind: RecorderKind, sr: SenderReport): void {
    try {
      const track = this.tracks[kind];
      if (!track) return;
      track.lastSr = sr;
      const run = this.run;
      if (run && run.clock === 'pending' && run.cursor >= 0) this.settleClock(run, false);
    } catch (e) {
      this.log.debug('recorder: sender report not used', { error: errorText(e) });
    }
  }

  /**
   * Every stream's wall clock, from the publisher's last Sender Reports mapped onto the
   * recorder's timestamps; undefined while a stream has no report (or no packet) yet.
   */
  private mediaClocks(): Map<RecorderKind, MediaClock> | undefined {
    const clocks = new Map<RecorderKind, MediaClock>();
    for (const track of Object.values(this.tracks)) {
      const sr = track.lastSr;
      const offset = track.rewriter.timestampOffset;
      // An SR of an earlier publisher says nothing about this one's timestamps.
      if (!sr || offset === undefined || track.rewriter.sourceSsrc() !== sr.ssrc) return undefined;
      clocks.set(track.kind, { ntpTime: sr.ntpTime, rtpTimestamp: (sr.rtpTimestamp + offset) >>> 0, clockRate: track.codec.clockRate });
    }
    return clocks;
  }

  /**
   * The Sender Reports that set ffmpeg's clock for a run: one per stream, all naming the
   * same instant, CLOCK_LEAD_S before the run's first keyframe, each with the RTP timestamp
   * its stream has then. ffmpeg's RTP demuxer times every stream from its first SR on,
   * relative to the first SR it read; a stream that gets its SR only after its first
   * packets is timed from its own first packet until then, and jumps when it comes. Chromium
   * sends its first audio SR ~2.5 s in: the audio went ~0.3 s back in time mid-recording
   * ("Queue input is backward in time", "Non-monotonous DTS"). So the reports go before any
   * media, and none later: one fixed mapping keeps every stream's timestamps strictly
   * monotonic.
   */
  private sendClockReports(run: Run, clocks: Map<RecorderKind, MediaClock>): void {
    const first = this.entries[run.cursor]!;
    const instant = ntpAt(clocks.get(first.kind)!, first.ts) - ntpSeconds(CLOCK_LEAD_S);
    for (const track of Object.values(this.tracks)) {
      const report = buildSr({
        ssrc: track.rewriter.ssrc,
        ntpTime: instant,
        rtpTimestamp: rtpAt(clocks.get(track.kind)!, instant),
        packetCount: track.rewriter.packetsSent,
        octetCount: track.rewriter.octetsSent,
      });
      this.safeSend(report, run.ports[track.kind]! + 1);
      this.counters.senderReports++;
    }
  }

  /**
   * ffmpeg 5.1's H.264 parser hands out a stream's first access unit without a timestamp,
   * and ffmpeg stamps it with the input's start instead: the earliest first timestamp of
   * the other streams, usually the first audio packet, a few ms AFTER the keyframe (the
   * recording's first two frames came out 13.6 ms apart, and ffmpeg's own decoder
   * complained). Opus silence ahead of the run's first audio packet, back to the keyframe's
   * instant, makes the input start there: the keyframe lands at most one 20 ms frame early.
   */
  private leadInSilence(run: Run, clocks: Map<RecorderKind, MediaClock>): void {
    const audioPort = run.ports.audio;
    if (this.tracks.video?.codec.name !== 'H264' || audioPort === undefined) return;
    const keyframe = this.entries[run.cursor]!;
    const audio = this.entries.slice(run.cursor).find((e) => e.kind === 'audio');
    if (!audio) return;
    const late = ntpAt(clocks.get('audio')!, audio.ts) - ntpAt(clocks.get('video')!, keyframe.ts);
    const frames = Math.min(MAX_LEAD_IN_FRAMES, Math.ceil(Number(late) / Number(ntpSeconds(OPUS_FRAME_TICKS / 48000))));
    const seq = audio.packet.readUInt16BE(2);
    for (let k = frames; k >= 1; k--) {
      const packet = Buffer.concat([audio.packet.subarray(0, 12), OPUS_SILENCE]);
      packet[0] = 0x80; // no extension, no padding: the recorder's header is the bare 12 bytes
      packet[1] &= 0x7f;
      packet.writeUInt16BE((seq - k) & 0xffff, 2);
      packet.writeUInt32BE((audio.ts - k * OPUS_FRAME_TICKS) >>> 0, 4);
      this.safeSend(packet, audioPort);
    }
  }

  // ---------------------------------------------------------------------------------
  // Lifecycle

  private async begin(): Promise<void> {
    try {
      await fs.mkdir(this.opts.dir, { recursive: true });
    } catch (e) {
      await this.fail(`cannot create the recording directory "${this.opts.dir}": ${errorText(e)}`);
      return;
    }
    const lowSpace = await this.lowDiskSpace();
    if (lowSpace) {
      await this.fail(lowSpace);
      return;
    }
    try {
      // Continue a playlist already there (the same recording id started again).
      const text = await fs.readFile(this.playlistFile, 'utf8').catch(() => '');
      const p = parsePlaylist(text);
      if (p.valid) {
        this.lastGood = p;
        this.lastGoodText = text;
      }
      await this.writeMeta();
      this.tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-rec-'));
    } catch (e) {
      await this.fail(`cannot write the recording to "${this.opts.dir}": ${errorText(e)}`);
      return;
    }
    if (this._state !== 'starting') return;
    this.pollTimer = setInterval(() => void this.poll(), PLAYLIST_POLL_MS);
    await this.launch();
  }

  /** Starting, recording or restarting: the recording goes on (not stopping, finished or failed). */
  get active(): boolean {
    return this._state === 'starting' || this._state === 'restarting' || this._state === 'recording';
  }

  private async launch(): Promise<void> {
    if (!this.active) return;
    const kinds = (['video', 'audio'] as const).filter((k) => this.tracks[k]);
    let picked: number[];
    try {
      picked = await pickRtpPorts(kinds.length);
    } catch (e) {
      await this.fail(`cannot find local UDP ports for ffmpeg: ${errorText(e)}`);
      return;
    }
    if (!this.active) return;
    const ports: Partial<Record<RecorderKind, number>> = {};
    kinds.forEach((k, i) => (ports[k] = picked[i]!));
    const sdpFile = path.join(this.tmpDir!, 'input.sdp');
    try {
      const video = this.tracks.video;
      await fs.writeFile(
        sdpFile,
        buildRecorderSdp({
          name: `onecast ${this.opts.room}/${this.opts.id}`,
          ...(video ? { video: { codec: video.codec.name as 'H264' | 'VP8', port: ports.video! } } : {}),
          ...(this.tracks.audio ? { audio: { port: ports.audio! } } : {}),
        }),
      );
      await this.restorePlaylistIfNeeded();
    } catch (e) {
      await this.fail(`cannot prepare ffmpeg's input: ${errorText(e)}`);
      return;
    }
    if (!this.active) return;
    const append = this.lastGood.segments.length > 0;
    const run: Run = {
      proc: undefined as unknown as HlsProcess,
      ports,
      launchedAt: Date.now(),
      ready: false,
      exited: false,
      listedAtStart: this.lastGood.segments.length,
      cursor: -1,
      live: false,
      clock: 'pending',
      clockDeadline: 0,
      clockTimer: undefined,
      pumpTimer: undefined,
      keepaliveTimer: undefined,
      pumpStartedAt: 0,
      pumpFromAt: 0,
      anchorTs0: undefined,
      replayFrom: 0,
      replayEnd: 0,
      producedSegment: false,
      outputError: undefined,
    };
    run.proc = startHls({
      ffmpegPath: this.opts.ffmpegPath,
      sdpFile,
      outDir: this.opts.dir,
      ...(this.tracks.video ? { video: this.tracks.video.codec.name as 'H264' | 'VP8' } : {}),
      audio: this.tracks.audio !== undefined,
      append,
      onStderr: (line) => this.onStderr(run, line),
    });
    this.run = run;
    void run.proc.exited.then((exit) => this.onExit(run, exit));
    this.requestKeyframe();

    const rtpAndRtcp = Object.values(ports).flatMap((p) => [p!, p! + 1]);
    const result = await waitForUdpPorts(rtpAndRtcp, {
      timeoutMs: 15_000,
      fallbackMs: 750,
      abort: () => run.exited || this.run !== run,
    });
    if (this.run !== run || run.exited || !this.active) return;
    if (result === 'timeout') {
      this.log.warn('recorder: ffmpeg did not open its RTP ports; restarting it', { room: this.opts.room, id: this.opts.id });
      run.proc.kill();
      return;
    }
    run.ready = true;
    this.keepInputAwake(run);
    this.bindFailures = 0;
    this._state = 'recording';
    this.beginRun(run);
    this.log.info(this.everStarted ? 'recorder: ffmpeg restarted' : 'recorder: recording', {
      room: this.opts.room,
      id: this.opts.id,
      pid: run.proc.pid,
      ports,
      append,
      replayPackets: run.replayEnd - run.replayFrom,
    });
    if (!this.everStarted) {
      this.everStarted = true;
      this.settleStart();
      this.emit('started');
    } else {
      this.emit('restarted', { restarts: this.counters.restarts, reason: this.lastRestartReason });
    }
  }

  private onStderr(run: Run, line: string): void {
    this.log.debug('ffmpeg', { room: this.opts.room, id: this.opts.id, line });
    const reason = outputErrorIn(line);
    if (reason && !run.outputError) {
      run.outputError = reason;
      run.proc.kill();
    }
  }

  /**
   * ffmpeg ends its input after INPUT_TIMEOUT_S without a datagram, so that it does not
   * outlive onecast; while the run is up, an empty RTCP receiver report (8 bytes: ffmpeg
   * reads it and, being under 12 bytes, ignores it) every KEEPALIVE_MS keeps pauses in
   * the media (a publisher gone quiet, a wait for a keyframe or for Sender Reports) from
   * ending it.
   */
  private keepInputAwake(run: Run): void {
    const port = run.ports[this.anchor]! + 1;
    const report = buildRr({ ssrc: this.tracks[this.anchor]!.rewriter.ssrc, reports: [] });
    run.keepaliveTimer = setInterval(() => this.safeSend(report, port), KEEPALIVE_MS);
  }

  private onExit(run: Run, exit: HlsExit): void {
    run.exited = true;
    clearInterval(run.keepaliveTimer);
    this.stopPump(run);
    if (this.run !== run) return;
    this.run = undefined;
    if (!this.active) return; // stopping or failed: they handle the exit themselves
    const tail = run.proc.stderrTail();
    if (exit.error) {
      void this.fail(exit.error);
      return;
    }
    const outputError = run.outputError ?? tail.split('\n').map(outputErrorIn).find((r) => r !== undefined);
    if (outputError) {
      void this.fail(outputError);
      return;
    }
    const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const lastLine = tail.split('\n').filter((l) => l.trim()).pop() ?? '';
    if (isBindFailure(tail)) {
      // (Another process took a port between the probe and ffmpeg's bind; it may even have
      // looked like ffmpeg's in /proc/net/udp.)
      this.bindFailures++;
      if (this.bindFailures > MAX_BIND_RETRIES) {
        void this.fail(`ffmpeg could not bind its RTP ports ${this.bindFailures} times: ${lastLine}`);
        return;
      }
      this.log.info('recorder: ffmpeg could not bind its ports; trying others', { room: this.opts.room, id: this.opts.id });
      this._state = 'restarting';
      this.restartTimer = setTimeout(() => void this.launch(), 0);
      return;
    }
    const lived = Date.now() - run.launchedAt;
    if (lived >= QUICK_FAILURE_MS || run.producedSegment) this.quickFailures = 0;
    this.quickFailures++;
    const maxQuick = this.opts.maxQuickFailures ?? 5;
    const what = `${how}${lastLine ? `: ${lastLine}` : ''}`;
    const reason = `ffmpeg ${what}`;
    if (this.quickFailures >= maxQuick) {
      void this.fail(`ffmpeg failed ${this.quickFailures} times in a row; the last time it ${what}`);
      return;
    }
    const delay = RESTART_DELAYS_MS[Math.min(this.quickFailures - 1, RESTART_DELAYS_MS.length - 1)]!;
    this.counters.restarts++;
    this.lastRestartReason = reason;
    this.log.warn('recorder: ffmpeg died; restarting it', { room: this.opts.room, id: this.opts.id, reason, inMs: delay, attempt: this.quickFailures });
    this._state = 'restarting';
    this.restartTimer = setTimeout(() => void this.launch(), delay);
  }

  /**
   * Ends the recording: ffmpeg stopped (gracefully when `graceful`), the playlist closed,
   * meta.json final, then 'failed'. Never throws.
   */
  private fail(reason: string, graceful = false): Promise<void> {
    if (this.terminal) return this.terminal;
    this._state = 'failed';
    this.meta.error = reason;
    this.log.error('recorder: recording failed', { room: this.opts.room, id: this.opts.id, reason });
    this.terminal = (async () => {
      this.clearTimers();
      const run = this.run;
      this.run = undefined;
      if (run) {
        if (graceful) {
          await this.stopRun(run);
        } else {
          this.stopPump(run);
          await this.killRun(run);
        }
      }
      await this.finalize('failed', reason);
      this.settleStart();
      this.emit('failed', reason);
    })().catch((e: unknown) => {
      this.log.error('recorder: finishing a failed recording went wrong', { error: errorText(e) });
    });
    return this.terminal;
  }

  private settleStart(): void {
    const resolve = this.resolveStart;
    this.resolveStart = undefined;
    resolve?.();
  }

  private clearTimers(): void {
    clearTimeout(this.restartTimer);
    clearInterval(this.pollTimer);
    clearTimeout(this.keyframeTimer);
    this.restartTimer = undefined;
    this.pollTimer = undefined;
    this.keyframeTimer = undefined;
  }

  private requestKeyframe(): void {
    try {
      this.opts.requestKeyframe();
    } catch (e) {
      this.log.debug('recorder: requestKeyframe threw', { error: errorText(e) });
    }
  }

  /** While a run waits for a keyframe, ask again every 2 s (a PLI can be lost, and OBS ignores them). */
  private keepAskingForKeyframe(run: Run): void {
    clearTimeout(this.keyframeTimer);
    this.keyframeTimer = setTimeout(() => {
      if (this.run !== run || run.cursor >= 0 || !this.active) return;
      this.requestKeyframe();
      this.keepAskingForKeyframe(run);
    }, KEYFRAME_REQUEST_MS);
  }

  // ---------------------------------------------------------------------------------
  // The stream: buffer, replay, live

  private accept(entry: Entry): void {
    const run = this.run;
    // Keep everything from a cut point on; an empty buffer waits for the next one.
    const retain = this.entries.length > 0 || entry.cut;
    if (retain) {
      this.entries.push(entry);
      this.bufferBytes += entry.packet.length;
    }
    if (run && run.ready) {
      if (run.cursor < 0 && entry.cut) {
        // The run was waiting for a cut point: this is where its stream begins.
        this.startStream(run, this.entries.length - 1);
      } else if (run.cursor >= 0 && run.live) {
        // Live: caught up, so this entry is the next one due.
        this.transmit(run, entry, false);
        if (retain) run.cursor = this.entries.length;
      } else if (run.cursor >= 0 && run.clock === 'pending') {
        // Perhaps the packet the clock reports were waiting for (a stream's first).
        this.settleClock(run, false);
      }
      // Otherwise the pump sends it in turn (replay in progress), or it waits in the buffer.
    }
    if (retain) this.enforceBufferLimits();
  }

  private transmit(run: Run, entry: Entry, replay: boolean): void {
    const port = run.ports[entry.kind];
    if (port === undefined) return;
    if (run.anchorTs0 === undefined && entry.kind === this.anchor) run.anchorTs0 = entry.ts;
    try {
      this.opts.send(entry.packet, port);
      this.counters.sent++;
      if (replay) this.counters.replayed++;
    } catch (e) {
      this.log.debug('recorder: send failed', { error: errorText(e) });
    }
  }

  /** A run is ready: start its stream from the buffer (replay) or wait for the next cut point. */
  private beginRun(run: Run): void {
    let start = -1;
    const video = this.tracks.video;
    // Transcoded video's segments are cut at the encoder's keyframes, not the publisher's,
    // so a replay starts at the first publisher keyframe after what is already recorded
    // (nothing twice); copied video and audio replay from the unfinished segment's start.
    const strictAfterCommitted = video?.codec.name === 'VP8' && this.committedTs !== undefined;
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (!e.cut) continue;
      if (strictAfterCommitted && tsDiff(e.ts, this.committedTs!) < -CUT_TOLERANCE_S * 90000) continue;
      start = i;
      break;
    }
    run.replayFrom = Math.max(0, start);
    run.replayEnd = start < 0 ? 0 : this.entries.length;
    if (start < 0) {
      run.cursor = -1;
      run.live = false;
      this.keepAskingForKeyframe(run);
      return;
    }
    this.startStream(run, start);
  }

  /** The run's stream begins at entry `index` (a cut point): sent from there once ffmpeg's clock is settled. */
  private startStream(run: Run, index: number): void {
    clearTimeout(this.keyframeTimer);
    run.cursor = index;
    run.live = false;
    run.clock = 'pending';
    run.clockDeadline = Date.now() + SENDER_REPORT_WAIT_MS;
    this.settleClock(run, false);
  }

  /**
   * Sends the clock reports and starts the pump once every stream has a Sender Report
   * (or, `now` or past the deadline, without them: ffmpeg then times each stream from its
   * own first packet, as for a publisher that sends no SRs). Until then the run's media
   * waits in the buffer. Returns whether the clock is settled.
   */
  private settleClock(run: Run, now: boolean): boolean {
    if (run.clock !== 'pending') return true;
    if (run.cursor < 0 || (!now && this.run !== run)) return false;
    // With one stream there is nothing to synchronize (and ffmpeg ignores SRs).
    const needsClocks = Object.keys(this.tracks).length > 1;
    const clocks = needsClocks ? this.mediaClocks() : undefined;
    if (needsClocks && clocks === undefined && !now && Date.now() < run.clockDeadline) {
      run.clockTimer ??= setTimeout(() => {
        run.clockTimer = undefined;
        this.settleClock(run, true);
      }, run.clockDeadline - Date.now());
      return false;
    }
    clearTimeout(run.clockTimer);
    run.clockTimer = undefined;
    if (clocks) {
      this.sendClockReports(run, clocks);
      this.leadInSilence(run, clocks);
      run.clock = 'reports';
    } else {
      run.clock = 'arrival';
      if (needsClocks) this.log.info('recorder: no sender report from every stream in time; audio and video aligned by arrival', { room: this.opts.room, id: this.opts.id });
    }
    if (!now) {
      run.pumpStartedAt = Date.now();
      run.pumpFromAt = this.entries[run.cursor]!.at;
      this.pump(run);
    }
    return true;
  }

  private pump(run: Run): void {
    run.pumpTimer = undefined;
    if (this.run !== run || !run.ready || run.live || run.cursor < 0 || run.clock === 'pending' || !this.active) return;
    const now = Date.now();
    const allowedAt = run.pumpFromAt + (now - run.pumpStartedAt) * REPLAY_SPEED;
    let bytes = 0;
    while (run.cursor < this.entries.length && bytes < REPLAY_TICK_BYTES) {
      const e = this.entries[run.cursor]!;
      if (e.at > allowedAt) break;
      this.transmit(run, e, run.cursor < run.replayEnd);
      bytes += e.packet.length;
      run.cursor++;
    }
    if (run.cursor >= this.entries.length) {
      run.live = true;
      return;
    }
    run.pumpTimer = setTimeout(() => this.pump(run), REPLAY_TICK_MS);
  }

  private stopPump(run: Run): void {
    clearTimeout(run.pumpTimer);
    clearTimeout(run.clockTimer);
    run.pumpTimer = undefined;
    run.clockTimer = undefined;
  }

  /** Drops entries before index `n` (all already sent to the current run, if any). */
  private dropBefore(n: number): void {
    if (n <= 0) return;
    for (let i = 0; i < n; i++) this.bufferBytes -= this.entries[i]!.packet.length;
    this.entries.splice(0, n);
    const run = this.run;
    if (run) {
      if (run.cursor >= 0) run.cursor = Math.max(0, run.cursor - n);
      run.replayFrom = Math.max(0, run.replayFrom - n);
      run.replayEnd = Math.max(0, run.replayEnd - n);
    }
  }

  /** How far the buffer may be trimmed: entries a waiting or replaying run still needs stay. */
  private sentLimit(): number {
    const run = this.run;
    if (!run || !run.ready) return this.entries.length;
    if (run.cursor < 0) return this.entries.length;
    return run.cursor;
  }

  private enforceBufferLimits(): void {
    const first = this.entries[0];
    const last = this.entries[this.entries.length - 1];
    if (!first || !last) return;
    if (this.bufferBytes <= MAX_BUFFER_BYTES && last.at - first.at <= MAX_BUFFER_MS) return;
    const limit = this.sentLimit();
    // Keep from the newest cut point that has been sent; with none, keep nothing sent.
    let cut = -1;
    for (let i = Math.min(limit, this.entries.length - 1); i > 0; i--) {
      if (this.entries[i]!.cut) {
        cut = i;
        break;
      }
    }
    this.dropBefore(cut > 0 ? cut : limit);
  }

  /** The playlist grew: media up to its end is safe on disk; keep only what the unfinished segment holds. */
  private onPlaylistProgress(): void {
    const run = this.run;
    if (!run || !run.ready || run.anchorTs0 === undefined) return;
    const added = this.lastGood.segments.slice(run.listedAtStart);
    if (added.length === 0) return;
    run.producedSegment = true;
    const seconds = added.reduce((s, seg) => s + seg.duration, 0);
    const clock = this.tracks[this.anchor]!.codec.clockRate;
    const committed = (run.anchorTs0 + Math.round(seconds * clock)) >>> 0;
    this.committedTs = committed;
    const tolerance = CUT_TOLERANCE_S * clock;
    const limit = this.sentLimit();
    let head = -1;
    for (let i = 0; i < limit; i++) {
      const e = this.entries[i]!;
      if (e.kind !== this.anchor || !e.cut) continue;
      if (tsDiff(e.ts, committed) <= tolerance) head = i;
      else break;
    }
    if (head > 0) this.dropBefore(head);
  }

  /** Ends ffmpeg's input (endInput), then waits for it to finish: gracefully, or killed after stopTimeoutMs. */
  private async stopRun(run: Run): Promise<void> {
    this.stopPump(run);
    if (!run.ready) {
      // Still starting: it has been sent nothing.
      await this.killRun(run);
      return;
    }
    const timeoutMs = this.opts.stopTimeoutMs ?? 5000;
    await this.endInput(run, timeoutMs);
    await run.proc.stop({ timeoutMs });
  }

  /** SIGKILL, then wait for the exit (at most 2 s). */
  private async killRun(run: Run): Promise<void> {
    run.proc.kill();
    await Promise.race([run.proc.exited, new Promise((r) => setTimeout(r, 2000))]);
  }

  /**
   * Ends ffmpeg's input the way an RTP sender ends a stream: the buffered media still due
   * goes out at once; once ffmpeg has read all of it (its sockets' queues are empty: it
   * reads RTCP before RTP, so a BYE sent earlier would overtake media) and has gone past
   * any gap in its reorder queue, an RTCP BYE on every stream. Its SDP demuxer then
   * reports the end of the input and ffmpeg writes out all it holds (the open segment,
   * the interleaving queue, the encoders' delay) and exits 0, on a loaded machine too.
   * (A SIGINT is only seen when a packet arrives, and ffmpeg then stops reading: what was
   * still queued was lost.)
   */
  private async endInput(run: Run, timeoutMs: number): Promise<void> {
    if (run.exited) return;
    if (run.cursor >= 0) {
      this.settleClock(run, true);
      while (run.cursor < this.entries.length) {
        const index = run.cursor++;
        this.transmit(run, this.entries[index]!, index < run.replayEnd);
      }
      run.live = true;
    }
    const ports = Object.values(run.ports);
    const deadline = Date.now() + timeoutMs;
    // The last datagrams arrive and ffmpeg goes past any gap; again while it is still reading them.
    do {
      await new Promise((r) => setTimeout(r, REORDER_DELAY_MS + 100));
    } while (((await udpBytesQueued(ports)) ?? 0) > 0 && Date.now() < deadline);
    for (const track of Object.values(this.tracks)) {
      const port = run.ports[track.kind];
      if (port !== undefined) this.safeSend(rtcpBye(track.rewriter.ssrc), port + 1);
    }
  }

  private safeSend(packet: Buffer, port: number): void {
    try {
      this.opts.send(packet, port);
    } catch {
      // closing anyway
    }
  }

  // ---------------------------------------------------------------------------------
  // Files

  private async poll(): Promise<void> {
    if (this.polling || !this.active) return;
    this.polling = true;
    try {
      this.polls++;
      if (this.polls % DISK_CHECK_EVERY_POLLS === 0) {
        const low = await this.lowDiskSpace();
        if (low && this.active) {
          void this.fail(low, true);
          return;
        }
      }
      const run = this.run;
      if (!run) return;
      let text: string;
      try {
        text = await fs.readFile(this.playlistFile, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && this.lastGood.segments.length === 0) return;
        throw e;
      }
      if (text === this.lastGoodText || !this.active) return;
      const p = parsePlaylist(text);
      if (extendsPlaylist(this.lastGood, p)) {
        this.lastGood = p;
        this.lastGoodText = text;
        this.onPlaylistProgress();
        return;
      }
      // ffmpeg only ever appends: an empty or shorter playlist means its write failed.
      const low = await this.lowDiskSpace(true);
      void this.fail(low ?? `writing the recording failed: ffmpeg wrote an ${text.length === 0 ? 'empty' : 'incomplete'} playlist`);
    } catch (e) {
      if (this.active) void this.fail(`cannot read the recording's playlist: ${errorText(e)}`);
    } finally {
      this.polling = false;
    }
  }

  /**
   * A reason when the disk holding the recording has less than minFreeBytes free; or,
   * after a write failed (`afterFailedWrite`), less than FULL_DISK_BYTES.
   */
  private async lowDiskSpace(afterFailedWrite = false): Promise<string | undefined> {
    const min = Math.max(1, afterFailedWrite ? FULL_DISK_BYTES : (this.opts.minFreeBytes ?? 32 * 1024 * 1024));
    try {
      const s = await fs.statfs(this.opts.dir);
      const free = Number(s.bavail) * Number(s.bsize);
      if (free < min) {
        const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
        return `the disk is full: ${mib(free)} MiB free for "${this.opts.dir}"${afterFailedWrite ? '' : ` (recording stops below ${mib(min)} MiB)`}`;
      }
    } catch {
      // statfs unsupported: the playlist check still catches failed writes
    }
    return undefined;
  }

  /** Before a restart: the playlist on disk must list everything the last good one did (ffmpeg appends to it). */
  private async restorePlaylistIfNeeded(): Promise<void> {
    if (!this.lastGood.valid) return;
    const text = await fs.readFile(this.playlistFile, 'utf8').catch(() => '');
    const p = parsePlaylist(text);
    if (extendsPlaylist(this.lastGood, p)) {
      if (text !== this.lastGoodText) {
        this.lastGood = p;
        this.lastGoodText = text;
      }
      return;
    }
    this.log.warn('recorder: putting back the last good playlist', { room: this.opts.room, id: this.opts.id });
    await writeAtomic(this.playlistFile, this.lastGoodText);
  }

  /** Closes the playlist (ENDLIST; the last good one if ffmpeg's final write failed) and writes the final meta.json. */
  private async finalize(status: 'finished' | 'failed', error: string | null): Promise<void> {
    let duration: number | null = null;
    try {
      let text = await fs.readFile(this.playlistFile, 'utf8').catch(() => '');
      const p = parsePlaylist(text);
      if (!extendsPlaylist(this.lastGood, p) || (!p.valid && this.lastGood.valid)) text = this.lastGoodText;
      const final = await closePlaylist(this.opts.dir, text, this.everStarted || status === 'finished');
      duration = final.valid ? playlistDuration(final) : null;
    } catch (e) {
      this.log.warn('recorder: could not close the playlist', { room: this.opts.room, id: this.opts.id, error: errorText(e) });
      duration = this.lastGood.valid ? playlistDuration(this.lastGood) : null;
    }
    this.meta = { ...this.meta, endedAt: new Date().toISOString(), durationSeconds: duration ?? 0, status, error };
    try {
      await this.writeMeta();
    } catch (e) {
      this.log.warn('recorder: could not write meta.json', { room: this.opts.room, id: this.opts.id, error: errorText(e) });
    }
    if (this.tmpDir) await fs.rm(this.tmpDir, { recursive: true, force: true }).catch(() => {});
    this.entries = [];
    this.bufferBytes = 0;
  }

  private async writeMeta(): Promise<void> {
    await writeAtomic(this.metaFile, JSON.stringify(this.meta, null, 2) + '\n');
  }

  /** meta.json as it stands. */
  get metadata(): RecordingMeta {
    return { ...this.meta };
  }
}
