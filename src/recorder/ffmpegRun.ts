// One ffmpeg run of a recording: the process (started by ffmpeg.ts) and the stream it is
// sent. Once ffmpeg has bound its ports, the run starts its stream at a cut point in the
// replay buffer (replaying, faster than real time, what an earlier run lost, or sending
// what was held while it started), waits for the clock sync when there is more than one
// stream, then goes live. It keeps ffmpeg's input awake through pauses, and ends it the
// way an RTP sender ends a stream (RTCP BYE), with signals only as the fallback. The
// Recorder decides when runs start and what their exits mean.
import { errorText, type Logger } from '../log';
import type { MediaKind } from '../rtp/mediaKind';
import { buildBye, buildRr } from '../rtp/rtcp';
import { delay, type Clock, type Timer } from './clock';
import { clockReports, leadInSilence, mediaClocks } from './clockSync';
import { KEEPALIVE_MS, outputErrorIn, REORDER_DELAY_MS, type HlsProcess } from './ffmpeg';
import type { PacketIntake } from './intake';
import type { PlaylistSegment } from './playlist';
import { udpBytesQueued, waitForUdpPorts } from './ports';
import type { BufferEntry } from './recordedMedia';
import type { ReadPosition, ReplayBuffer } from './replayBuffer';

/** Replay to a restarted ffmpeg at this multiple of the original pace (and at most this many bytes per tick). */
const REPLAY_SPEED = 4;
const REPLAY_TICK_MS = 5;
const REPLAY_TICK_BYTES = 64 * 1024;
/** Slack when matching a segment boundary (playlist seconds) to an RTP timestamp. */
export const CUT_TOLERANCE_S = 0.25;
/** How long a run's media waits for every stream's Sender Report (Chromium's first audio SR comes ~2.5 s in) before going without. */
const SENDER_REPORT_WAIT_MS = 5000;
const KEYFRAME_REQUEST_MS = 2000;

export interface RunCounters {
  sent: number;
  replayed: number;
  senderReports: number;
}

/** What a run shares with its Recorder. */
export interface RunContext {
  clock: Clock;
  /** The recording's logger: its lines carry the room and id. */
  log: Logger;
  intake: PacketIntake;
  buffer: ReplayBuffer;
  /** Sends one datagram to 127.0.0.1:port (may throw). */
  send(packet: Buffer, port: number): void;
  counters: RunCounters;
  requestKeyframe(): void;
  /** Whether `run` is the Recorder's current run. */
  isCurrent(run: FfmpegRun): boolean;
  /** Whether the recording goes on. */
  isActive(): boolean;
}

export class FfmpegRun {
  readonly proc: HlsProcess;
  readonly launchedAt: number;
  /** Where this run reads the replay buffer. */
  readonly position: ReadPosition = { cursor: -1, replayFrom: 0, replayEnd: 0 };
  /** ffmpeg has bound its ports and is being sent its stream. */
  ready = false;
  exited = false;
  /** Caught up with live packets. */
  private live = false;
  /**
   * How ffmpeg times the streams: from the clock reports sent before any media, or (the
   * publisher sent none in time) each stream from its own first packet; 'pending' while
   * the run's media waits for the reports.
   */
  private clock: 'pending' | 'reports' | 'arrival' = 'pending';
  private clockDeadline = 0;
  private clockTimer: Timer | undefined;
  private pumpTimer: Timer | undefined;
  private keyframeTimer: Timer | undefined;
  /** Keeps ffmpeg's input awake while the run is up (see keepInputAwake). */
  private keepaliveTimer: Timer | undefined;
  private pumpStartedAt = 0;
  private pumpFromAt = 0;
  /** First anchor timestamp sent in this run: media time 0 of its segments. */
  private anchorTs0: number | undefined;
  producedSegment = false;
  /** Why ffmpeg cannot record, as a stderr line said while it ran. */
  outputError: string | undefined;

  constructor(
    private readonly ctx: RunContext,
    /** The local RTP ports ffmpeg listens on (RTCP on each + 1). */
    readonly ports: Partial<Record<MediaKind, number>>,
    /** Segments the playlist listed when this run started. */
    readonly listedAtStart: number,
    /** Starts ffmpeg, its stderr lines going to `onStderr` (startHls; tests give a stand-in). */
    start: (onStderr: (line: string) => void) => HlsProcess,
  ) {
    this.launchedAt = ctx.clock.now();
    this.proc = start((line) => this.onStderr(line));
  }

  /** Resolves 'ready' once ffmpeg has bound all its ports, 'timeout' if it does not, 'gone' if the run ended meanwhile. */
  async bound(): Promise<'ready' | 'timeout' | 'gone'> {
    const rtpAndRtcp = Object.values(this.ports).flatMap((p) => [p!, p! + 1]);
    const result = await waitForUdpPorts(rtpAndRtcp, {
      timeoutMs: 15_000,
      fallbackMs: 750,
      abort: () => this.exited || !this.ctx.isCurrent(this),
    });
    if (!this.ctx.isCurrent(this) || this.exited || !this.ctx.isActive()) return 'gone';
    return result === 'timeout' ? 'timeout' : 'ready';
  }

  /**
   * ffmpeg is receiving: start the stream from the buffer (replay) or wait for the next cut
   * point. With `committedTs` (what earlier runs put in finished segments) and transcoded
   * video, the stream starts after it.
   */
  begin(committedTs: number | undefined): void {
    this.ready = true;
    this.keepInputAwake();
    const { intake, buffer } = this.ctx;
    // Transcoded video's segments are cut at the encoder's keyframes, not the publisher's,
    // so a replay starts at the first publisher keyframe after what is already recorded
    // (nothing twice); copied video and audio replay from the unfinished segment's start.
    const strictAfterCommitted = intake.streams.video?.codec.name === 'VP8' && committedTs !== undefined;
    const start = buffer.startIndex(strictAfterCommitted ? { ts: committedTs, toleranceTicks: CUT_TOLERANCE_S * 90000 } : undefined);
    this.position.replayFrom = Math.max(0, start);
    this.position.replayEnd = start < 0 ? 0 : buffer.length;
    if (start < 0) {
      this.position.cursor = -1;
      this.live = false;
      this.keepAskingForKeyframe();
      return;
    }
    this.startStream(start);
  }

  /** Packets buffered when the run began (replayed, or held during its start). */
  get replayPackets(): number {
    return this.position.replayEnd - this.position.replayFrom;
  }

  /** A new entry (`retained` in the buffer, or not): sent now when live, or the start of the stream. */
  offer(entry: BufferEntry, retained: boolean): void {
    if (!this.ready) return;
    const pos = this.position;
    if (pos.cursor < 0 && entry.cut) {
      // The run was waiting for a cut point: this is where its stream begins.
      this.startStream(this.ctx.buffer.length - 1);
    } else if (pos.cursor >= 0 && this.live) {
      // Live: caught up, so this entry is the next one due.
      this.transmit(entry, false);
      if (retained) pos.cursor = this.ctx.buffer.length;
    } else if (pos.cursor >= 0 && this.clock === 'pending') {
      // Perhaps the packet the clock reports were waiting for (a stream's first).
      this.settleClock(false);
    }
    // Otherwise the pump sends it in turn (replay in progress), or it waits in the buffer.
  }

  /** A Sender Report came: perhaps the one the run's media waits for. */
  senderReport(): void {
    if (this.clock === 'pending' && this.position.cursor >= 0) this.settleClock(false);
  }

  /**
   * The playlist lists `added` segments more than when the run started: returns the anchor
   * timestamp up to which the media is in finished segments.
   */
  committedAfter(added: readonly PlaylistSegment[]): number | undefined {
    if (!this.ready || this.anchorTs0 === undefined || added.length === 0) return undefined;
    this.producedSegment = true;
    const seconds = added.reduce((s, seg) => s + seg.duration, 0);
    const clockRate = this.ctx.intake.streams[this.ctx.intake.anchor]!.codec.clockRate;
    return (this.anchorTs0 + Math.round(seconds * clockRate)) >>> 0;
  }

  /** Ends ffmpeg's input (endInput), then waits for it to finish: gracefully, or killed after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopPump();
    if (!this.ready) {
      // Still starting: it has been sent nothing.
      await this.kill();
      return;
    }
    await this.endInput(timeoutMs);
    await this.proc.stop({ timeoutMs });
  }

  /** SIGKILL, then wait for the exit (at most 2 s). */
  async kill(): Promise<void> {
    this.stopPump();
    this.proc.kill();
    await Promise.race([this.proc.exited, delay(this.ctx.clock, 2000)]);
  }

  /** ffmpeg has exited: nothing more is sent. */
  ended(): void {
    this.exited = true;
    this.ctx.clock.clearInterval(this.keepaliveTimer);
    this.stopPump();
  }

  private onStderr(line: string): void {
    this.ctx.log.debug('ffmpeg', { line });
    const reason = outputErrorIn(line);
    if (reason && !this.outputError) {
      this.outputError = reason;
      this.proc.kill();
    }
  }

  private transmit(entry: BufferEntry, replay: boolean): void {
    const port = this.ports[entry.kind];
    if (port === undefined) return;
    if (this.anchorTs0 === undefined && entry.kind === this.ctx.intake.anchor) this.anchorTs0 = entry.ts;
    try {
      this.ctx.send(entry.packet, port);
      this.ctx.counters.sent++;
      if (replay) this.ctx.counters.replayed++;
    } catch (e) {
      this.ctx.log.debug('recorder: send failed', { error: errorText(e) });
    }
  }

  private safeSend(packet: Buffer, port: number): void {
    try {
      this.ctx.send(packet, port);
    } catch {
      // closing anyway, or ffmpeg gets the next one
    }
  }

  /** The run's stream begins at entry `index` (a cut point): sent from there once ffmpeg's clock is settled. */
  private startStream(index: number): void {
    this.ctx.clock.clearTimeout(this.keyframeTimer);
    this.position.cursor = index;
    this.live = false;
    this.clock = 'pending';
    this.clockDeadline = this.ctx.clock.now() + SENDER_REPORT_WAIT_MS;
    this.settleClock(false);
  }

  /**
   * Sends the clock reports and starts the pump once every stream has a Sender Report
   * (or, `now` or past the deadline, without them: ffmpeg then times each stream from its
   * own first packet, as for a publisher that sends no SRs). Until then the run's media
   * waits in the buffer. `pump`: false when the caller sends the media itself (endInput).
   */
  private settleClock(now: boolean, pump = true): void {
    if (this.clock !== 'pending') return;
    const { clock, intake, buffer } = this.ctx;
    if (this.position.cursor < 0 || (!now && !this.ctx.isCurrent(this))) return;
    const streams = intake.streamList;
    // With one stream there is nothing to synchronize (and ffmpeg ignores SRs).
    const needsClocks = streams.length > 1;
    const clocks = needsClocks ? mediaClocks(streams) : undefined;
    if (needsClocks && clocks === undefined && !now && clock.now() < this.clockDeadline) {
      this.clockTimer ??= clock.setTimeout(() => {
        this.clockTimer = undefined;
        this.settleClock(true);
      }, this.clockDeadline - clock.now());
      return;
    }
    clock.clearTimeout(this.clockTimer);
    this.clockTimer = undefined;
    const first = buffer.at(this.position.cursor)!;
    if (clocks) {
      for (const report of clockReports(streams, clocks, first)) {
        this.safeSend(report.packet, this.ports[report.kind]! + 1);
        this.ctx.counters.senderReports++;
      }
      const audio = buffer.find(this.position.cursor, (e) => e.kind === 'audio');
      if (intake.streams.video?.codec.name === 'H264' && this.ports.audio !== undefined && audio) {
        for (const silence of leadInSilence(clocks, first, audio)) this.safeSend(silence, this.ports.audio);
      }
      this.clock = 'reports';
    } else {
      this.clock = 'arrival';
      if (needsClocks) this.ctx.log.info('recorder: no sender report from every stream in time; audio and video aligned by arrival');
    }
    if (pump) {
      this.pumpStartedAt = clock.now();
      this.pumpFromAt = first.at;
      this.pump();
    }
  }

  private pump(): void {
    this.pumpTimer = undefined;
    const pos = this.position;
    if (!this.ctx.isCurrent(this) || !this.ready || this.live || pos.cursor < 0 || this.clock === 'pending' || !this.ctx.isActive()) return;
    const { buffer, clock } = this.ctx;
    const allowedAt = this.pumpFromAt + (clock.now() - this.pumpStartedAt) * REPLAY_SPEED;
    let bytes = 0;
    while (pos.cursor < buffer.length && bytes < REPLAY_TICK_BYTES) {
      const e = buffer.at(pos.cursor)!;
      if (e.at > allowedAt) break;
      this.transmit(e, pos.cursor < pos.replayEnd);
      bytes += e.packet.length;
      pos.cursor++;
    }
    if (pos.cursor >= buffer.length) {
      this.live = true;
      return;
    }
    this.pumpTimer = clock.setTimeout(() => this.pump(), REPLAY_TICK_MS);
  }

  private stopPump(): void {
    const { clock } = this.ctx;
    clock.clearTimeout(this.pumpTimer);
    clock.clearTimeout(this.clockTimer);
    clock.clearTimeout(this.keyframeTimer);
    this.pumpTimer = undefined;
    this.clockTimer = undefined;
    this.keyframeTimer = undefined;
  }

  /** While the run waits for a keyframe, ask again every 2 s (a PLI can be lost, and OBS ignores them). */
  private keepAskingForKeyframe(): void {
    const { clock } = this.ctx;
    clock.clearTimeout(this.keyframeTimer);
    this.keyframeTimer = clock.setTimeout(() => {
      if (!this.ctx.isCurrent(this) || this.position.cursor >= 0 || !this.ctx.isActive()) return;
      this.ctx.requestKeyframe();
      this.keepAskingForKeyframe();
    }, KEYFRAME_REQUEST_MS);
  }

  /**
   * ffmpeg ends its input after INPUT_TIMEOUT_S without a datagram, so that it does not
   * outlive onecast; while the run is up, an empty RTCP receiver report (8 bytes: ffmpeg
   * reads it and, being under 12 bytes, ignores it) every KEEPALIVE_MS keeps pauses in
   * the media (a publisher gone quiet, a wait for a keyframe or for Sender Reports) from
   * ending it.
   */
  private keepInputAwake(): void {
    const { intake } = this.ctx;
    const port = this.ports[intake.anchor]! + 1;
    const report = buildRr({ ssrc: intake.streams[intake.anchor]!.rewriter.ssrc, reports: [] });
    this.keepaliveTimer = this.ctx.clock.setInterval(() => this.safeSend(report, port), KEEPALIVE_MS);
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
  private async endInput(timeoutMs: number): Promise<void> {
    if (this.exited) return;
    const { buffer, clock } = this.ctx;
    const pos = this.position;
    if (pos.cursor >= 0) {
      this.settleClock(true, false);
      while (pos.cursor < buffer.length) {
        const index = pos.cursor++;
        this.transmit(buffer.at(index)!, index < pos.replayEnd);
      }
      this.live = true;
    }
    const ports = Object.values(this.ports);
    const deadline = clock.now() + timeoutMs;
    // The last datagrams arrive and ffmpeg goes past any gap; again while it is still reading them.
    do {
      await delay(clock, REORDER_DELAY_MS + 100);
    } while (((await udpBytesQueued(ports)) ?? 0) > 0 && clock.now() < deadline);
    for (const stream of this.ctx.intake.streamList) {
      const port = this.ports[stream.kind];
      if (port !== undefined) this.safeSend(buildBye(stream.rewriter.ssrc, 'end'), port + 1);
    }
  }
}
