// Records one publish to HLS through ffmpeg. The recorder is fed like a viewer: the SFU
// hands it the publisher's decrypted RTP and Sender Reports; it sends plain RTP to
// ffmpeg's RTP input on 127.0.0.1 (RTCP to port + 1) through the send function it is
// given. ffmpeg writes dir/index.m3u8 and dir/seg_NNNNN.ts; the recorder writes dir/meta.json.
//
// This module is the recording's state machine and its events; the work is in its parts:
// - intake.ts: the packets rewritten for ffmpeg (own SSRCs and numbering, continuous
//   across restarts and changes of publisher; the stream starts on a video keyframe);
// - replayBuffer.ts: the packets since the keyframe that began ffmpeg's current,
//   unfinished segment (ffmpeg holds it in memory until it is finished);
// - clockSync.ts: audio and video synchronized by the publisher's Sender Reports, given
//   to ffmpeg once, before any media;
// - ffmpegRun.ts: one ffmpeg run: its stream (replay, live), its keep-alive, its end
//   with an RTCP BYE on every stream (ffmpeg takes it for the end of its input; it also
//   ends by itself after a few seconds without a datagram, so it does not outlive onecast);
// - restartPolicy.ts: what an exit means: when ffmpeg dies (crash, SIGKILL) it is
//   restarted (within ~250 ms; backoff; 'failed' after 5 quick failures in a row) and the
//   buffer replayed, faster than real time, before going live again. The new ffmpeg
//   appends to the playlist after #EXT-X-DISCONTINUITY and numbers its segments after
//   every existing one;
// - playlistGuard.ts: progress, low disk, the last good playlist put back, the playlist
//   closed and meta.json written at the end.
//
// Failure to write (directory cannot be created, ffmpeg cannot open its files, the disk
// fills up) ends the recording with 'failed' and a reason; nothing ever throws into
// onPacket/onSenderReport. Time comes from an injected Clock (the system's by default).
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errorText, silentLogger, type Logger } from '../log';
import type { MediaKind } from '../rtp/mediaKind';
import type { RtpView } from '../rtp/rtpPacket';
import type { Codec } from '../sdp/types';
import { systemClock, type Clock, type Timer } from './clock';
import { CUT_TOLERANCE_S, FfmpegRun, type RunContext } from './ffmpegRun';
import { startHls, type HlsExit } from './ffmpeg';
import { PacketIntake } from './intake';
import { PlaylistGuard, type RecordingMeta } from './playlistGuard';
import { pickRtpPorts } from './ports';
import type { BufferEntry, SenderReport } from './recordedMedia';
import { buildRecorderSdp } from './recorderSdp';
import { ReplayBuffer } from './replayBuffer';
import { RestartPolicy } from './restartPolicy';

export type { SenderReport } from './recordedMedia';
export type { RecordingMeta } from './playlistGuard';

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
  /** Time and timers (tests drive a fake one). Default: the system's. */
  clock?: Clock;
}

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

export class Recorder extends EventEmitter<RecorderEvents> {
  readonly counters: RecorderCounters = { received: 0, dropped: 0, sent: 0, replayed: 0, senderReports: 0, restarts: 0 };
  private _state: RecorderState = 'idle';
  /** Its lines carry the recording's room and id. */
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly intake: PacketIntake;
  private readonly buffer: ReplayBuffer;
  private readonly guard: PlaylistGuard;
  private readonly restarts: RestartPolicy;
  private tmpDir: string | undefined;
  private run: FfmpegRun | undefined;
  /** The run that ended last, until the next one starts: the segments it finished count too. */
  private endedRun: FfmpegRun | undefined;
  /** Anchor timestamp up to which the media is in finished segments (for choosing where a replay starts). */
  private committedTs: number | undefined;
  private restartTimer: Timer | undefined;
  private terminal: Promise<void> | undefined;
  private everStarted = false;
  private resolveStart: (() => void) | undefined;
  private lastRestartReason = '';
  private packetErrorLogged = false;

  constructor(private readonly opts: RecorderOptions) {
    super();
    this.log = (opts.log ?? silentLogger).child({ room: opts.room, id: opts.id });
    this.clock = opts.clock ?? systemClock;
    if (!opts.video && !opts.audio) throw new Error('a recording needs audio, video or both');
    if (opts.video && opts.video.name !== 'H264' && opts.video.name !== 'VP8') throw new Error(`cannot record video codec ${opts.video.name}`);
    if (opts.audio && opts.audio.name !== 'opus') throw new Error(`cannot record audio codec ${opts.audio.name}`);
    this.intake = new PacketIntake({
      video: opts.video,
      audio: opts.audio,
      clock: this.clock,
      requestKeyframe: () => this.requestKeyframe(),
      dropped: () => this.counters.dropped++,
    });
    this.buffer = new ReplayBuffer(() => (this.run?.ready ? this.run.position : undefined));
    this.restarts = new RestartPolicy(opts.maxQuickFailures ?? 5);
    this.guard = new PlaylistGuard(
      {
        dir: opts.dir,
        minFreeBytes: opts.minFreeBytes,
        clock: this.clock,
        log: this.log,
        isActive: () => this.active,
        hasRun: () => this.run !== undefined,
        progress: (playlist) => {
          const run = this.run ?? this.endedRun;
          const committed = run?.committedAfter(playlist.segments.slice(run.listedAtStart));
          if (committed === undefined) return;
          this.committedTs = committed;
          const clockRate = this.intake.streams[this.intake.anchor]!.codec.clockRate;
          this.buffer.dropCommitted(committed, this.intake.anchor, CUT_TOLERANCE_S * clockRate);
        },
        fail: (reason, graceful) => void this.fail(reason, graceful),
      },
      {
        room: opts.room,
        id: opts.id,
        startedAt: new Date(this.clock.now()).toISOString(),
        endedAt: null,
        durationSeconds: null,
        video: opts.video?.name ?? null,
        audio: opts.audio?.name ?? null,
        status: 'recording',
        error: null,
      },
    );
  }

  get state(): RecorderState {
    return this._state;
  }

  /** The running ffmpeg's pid (for tests and diagnostics). */
  get ffmpegPid(): number | undefined {
    return this.run?.proc.pid;
  }

  /** The local RTP ports ffmpeg listens on (RTCP on each + 1). */
  get ports(): Partial<Record<MediaKind, number>> {
    return { ...(this.run?.ports ?? {}) };
  }

  get playlistPath(): string {
    return this.guard.playlistFile;
  }

  /** Why the recording failed, once it has. */
  get error(): string | null {
    return this.guard.meta.error;
  }

  /** meta.json as it stands. */
  get metadata(): RecordingMeta {
    return { ...this.guard.meta };
  }

  /** The last ffmpeg's stderr lines. */
  stderrTail(): string {
    return this.run?.proc.stderrTail() ?? '';
  }

  /** Starting, recording or restarting: the recording goes on (not stopping, finished or failed). */
  get active(): boolean {
    return this._state === 'starting' || this._state === 'restarting' || this._state === 'recording';
  }

  /**
   * Creates the directory, writes meta.json and starts ffmpeg. Resolves once ffmpeg is
   * receiving, or once the recording has failed ('failed' says why) or was closed; never rejects.
   */
  start(): Promise<void> {
    if (this._state !== 'idle') return Promise.resolve();
    this._state = 'starting';
    this.guard.meta.startedAt = new Date(this.clock.now()).toISOString();
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
      if (run) await run.stop(this.opts.stopTimeoutMs ?? 5000);
      await this.finalize('finished', null);
      this._state = 'finished';
      this.settleStart();
      this.emit('finished', this.metadata);
    })();
    return this.terminal;
  }

  /** A packet of the publisher's (decrypted). Never throws. */
  onPacket(kind: MediaKind, packet: Buffer, view: RtpView, keyframeStart: boolean): void {
    try {
      this.counters.received++;
      if (!this.active) {
        this.counters.dropped++;
        return;
      }
      const entry = this.intake.take(kind, packet, view, keyframeStart);
      if (entry) this.accept(entry);
    } catch (e) {
      if (!this.packetErrorLogged) {
        this.packetErrorLogged = true;
        this.log.error('recorder: packet handling failed', { error: errorText(e) });
      }
    }
  }

  /** A Sender Report of the publisher's for `kind` (kept for the clock reports of the next run's start). Never throws. */
  onSenderReport(kind: MediaKind, sr: SenderReport): void {
    try {
      if (this.intake.takeSenderReport(kind, sr)) this.run?.senderReport();
    } catch (e) {
      this.log.debug('recorder: sender report not used', { error: errorText(e) });
    }
  }

  /** Into the buffer (from a cut point on), and to the current run when it is due. */
  private accept(entry: BufferEntry): void {
    const retained = this.buffer.add(entry);
    this.run?.offer(entry, retained);
    if (retained) this.buffer.enforceLimits();
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
    const lowSpace = await this.guard.lowDiskSpace();
    if (lowSpace) {
      await this.fail(lowSpace);
      return;
    }
    try {
      await this.guard.open();
      this.tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-rec-'));
    } catch (e) {
      await this.fail(`cannot write the recording to "${this.opts.dir}": ${errorText(e)}`);
      return;
    }
    if (this._state !== 'starting') return;
    this.guard.startPolling();
    await this.launch();
  }

  private async launch(): Promise<void> {
    if (!this.active) return;
    const streams = this.intake.streamList;
    let picked: number[];
    try {
      picked = await pickRtpPorts(streams.length);
    } catch (e) {
      await this.fail(`cannot find local UDP ports for ffmpeg: ${errorText(e)}`);
      return;
    }
    if (!this.active) return;
    const ports: Partial<Record<MediaKind, number>> = {};
    streams.forEach((t, i) => (ports[t.kind] = picked[i]!));
    const video = this.intake.streams.video;
    const videoCodec = video?.codec.name as 'H264' | 'VP8' | undefined;
    const sdpFile = path.join(this.tmpDir!, 'input.sdp');
    try {
      await fs.writeFile(
        sdpFile,
        buildRecorderSdp({
          name: `onecast ${this.opts.room}/${this.opts.id}`,
          ...(videoCodec ? { video: { codec: videoCodec, port: ports.video! } } : {}),
          ...(this.intake.streams.audio ? { audio: { port: ports.audio! } } : {}),
        }),
      );
      await this.guard.restoreIfNeeded();
    } catch (e) {
      await this.fail(`cannot prepare ffmpeg's input: ${errorText(e)}`);
      return;
    }
    if (!this.active) return;
    const listed = this.guard.lastGood.segments.length;
    const append = listed > 0;
    const run = new FfmpegRun(this.runContext(), ports, listed, (onStderr) =>
      startHls({
        ffmpegPath: this.opts.ffmpegPath,
        sdpFile,
        outDir: this.opts.dir,
        ...(videoCodec ? { video: videoCodec } : {}),
        audio: this.intake.streams.audio !== undefined,
        append,
        onStderr,
      }),
    );
    this.run = run;
    this.endedRun = undefined;
    void run.proc.exited.then((exit) => this.onExit(run, exit));
    this.requestKeyframe();

    const bound = await run.bound();
    if (bound === 'gone') return;
    if (bound === 'timeout') {
      this.log.warn('recorder: ffmpeg did not open its RTP ports; restarting it');
      run.proc.kill();
      return;
    }
    this.restarts.bound();
    this._state = 'recording';
    run.begin(this.committedTs);
    this.log.info(this.everStarted ? 'recorder: ffmpeg restarted' : 'recorder: recording', {
      pid: run.proc.pid,
      ports,
      append,
      replayPackets: run.replayPackets,
    });
    if (!this.everStarted) {
      this.everStarted = true;
      this.settleStart();
      this.emit('started');
    } else {
      this.emit('restarted', { restarts: this.counters.restarts, reason: this.lastRestartReason });
    }
  }

  private runContext(): RunContext {
    return {
      clock: this.clock,
      log: this.log,
      intake: this.intake,
      buffer: this.buffer,
      send: (packet: Buffer, port: number) => this.opts.send(packet, port),
      counters: this.counters,
      requestKeyframe: () => this.requestKeyframe(),
      isCurrent: (run: FfmpegRun) => this.run === run,
      isActive: () => this.active,
    };
  }

  private onExit(run: FfmpegRun, exit: HlsExit): void {
    run.ended();
    if (this.run !== run) return;
    this.run = undefined;
    this.endedRun = run;
    if (!this.active) return; // stopping or failed: they handle the exit themselves
    const decision = this.restarts.decide({
      exit,
      stderrTail: run.proc.stderrTail(),
      outputError: run.outputError,
      livedMs: this.clock.now() - run.launchedAt,
      producedSegment: run.producedSegment,
    });
    if (decision.action === 'fail') {
      void this.fail(decision.reason);
      return;
    }
    if (decision.action === 'rebind') {
      this.log.info('recorder: ffmpeg could not bind its ports; trying others');
      this._state = 'restarting';
      this.restartTimer = this.clock.setTimeout(() => void this.launch(), 0);
      return;
    }
    const { reason, delayMs, attempt } = decision;
    this.counters.restarts++;
    this.lastRestartReason = reason;
    this.log.warn('recorder: ffmpeg died; restarting it', { reason, inMs: delayMs, attempt });
    this._state = 'restarting';
    this.restartTimer = this.clock.setTimeout(() => void this.launch(), delayMs);
  }

  /**
   * Ends the recording: ffmpeg stopped (gracefully when `graceful`), the playlist closed,
   * meta.json final, then 'failed'. Never throws.
   */
  private fail(reason: string, graceful = false): Promise<void> {
    if (this.terminal) return this.terminal;
    this._state = 'failed';
    this.guard.meta.error = reason;
    this.log.error('recorder: recording failed', { reason });
    this.terminal = (async () => {
      this.clearTimers();
      const run = this.run;
      this.run = undefined;
      if (run) {
        if (graceful) await run.stop(this.opts.stopTimeoutMs ?? 5000);
        else await run.kill();
      }
      await this.finalize('failed', reason);
      this.settleStart();
      this.emit('failed', reason);
    })().catch((e: unknown) => {
      this.log.error('recorder: finishing a failed recording went wrong', { error: errorText(e) });
    });
    return this.terminal;
  }

  /** The playlist closed, meta.json final, the temporary files and the buffer gone. */
  private async finalize(status: 'finished' | 'failed', error: string | null): Promise<void> {
    await this.guard.finalize(status, error, this.everStarted || status === 'finished');
    if (this.tmpDir) await fs.rm(this.tmpDir, { recursive: true, force: true }).catch(() => {});
    this.buffer.clear();
  }

  private settleStart(): void {
    const resolve = this.resolveStart;
    this.resolveStart = undefined;
    resolve?.();
  }

  private clearTimers(): void {
    this.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.guard.stopPolling();
  }

  private requestKeyframe(): void {
    try {
      this.opts.requestKeyframe();
    } catch (e) {
      this.log.debug('recorder: requestKeyframe threw', { error: errorText(e) });
    }
  }
}
