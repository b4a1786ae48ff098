// How onecast uses ffmpeg: probeFfmpeg (is there a usable ffmpeg?), hlsArguments and
// startHls (RTP described by an SDP file in, HLS out), remuxToMp4 (a recording's HLS into
// one MP4), and the reading of its error lines. The processes themselves are started by
// ffmpegProcess.ts (a plain spawn).
//
// What ffmpeg 5.1 does, checked by hand and by test/e2e/recorder.test.ts:
// - The SDP demuxer ends its input, as at the end of a file, when an RTCP BYE has come
//   on every stream (12 bytes at least: shorter RTCP is ignored). ffmpeg then drains its
//   decoders and encoders, writes the last segment and #EXT-X-ENDLIST, and exits 0: the
//   Recorder ends a recording that way. Signals are only the fallback: ONE SIGINT is
//   looked at between packets only (with no RTP arriving, never), and ffmpeg exits
//   without reading what is still queued; a second one aborts blocking I/O, its own final
//   writes included (an empty last segment, even an empty index.m3u8 were seen).
// - The RTP demuxer cannot know a video stream's frame rate and guesses it from the first
//   second of timestamps; browsers stamp frames with their capture times, and under CPU
//   load the guess fails and becomes 90000 fps (the RTP clock). Each copied packet then
//   lasts one tick, and the hls muxer, which lists its LAST segment as the sum of its
//   packets' durations (the others as the span between their first timestamps), listed
//   1.75 s of video as 0.0004 s; and the transcoder, asked for 90000 frames a second,
//   duplicated every frame thousands of times and wrote almost nothing. So every video
//   packet's duration is set to the time to the next one (setts), and transcoded video
//   keeps the publisher's frame timing (-fps_mode vfr) instead of a guessed constant rate,
//   with x264 told a nominal rate of its own.
// - -max_delay: after a gap in sequence numbers the demuxer holds what follows for that
//   long, waiting for the missing packet (so the Recorder leaves no gaps of its own).
// - The SDP demuxer ends its input after -listen_timeout seconds in which no datagram
//   came on any of its sockets (its poll loop counts 100 ms waits), and ffmpeg then
//   finishes as at a BYE: the open segment written, #EXT-X-ENDLIST, exit 0. With audio
//   and video it took twice that (20.2 s with the default 10; 6.2 s with 3): the flush
//   at the end of the input reads once more. stdin gives no such tie: ffmpeg ignores its
//   EOF (still running 10 s after it, without -nostdin). So when onecast dies (SIGKILL,
//   a crash) its ffmpeg ends by itself within 2 x INPUT_TIMEOUT_S and frees its ports;
//   while onecast lives, the Recorder keeps the input awake through pauses in the media
//   with an RTCP packet ffmpeg reads and ignores (see KEEPALIVE_MS).
// - SIGKILL: the playlist on disk stays as it was (ffmpeg writes index.m3u8.tmp and
//   renames), listing every finished segment. The segment being written is lost: it is
//   kept in memory until it is finished, and nothing of it reaches the disk.
// - append_list: ffmpeg reads the old playlist and keeps its segments; discont_start puts
//   #EXT-X-DISCONTINUITY before the first new segment. The first new segment's number is
//   -start_number PLUS the number of segments read (and EXT-X-MEDIA-SEQUENCE becomes
//   -start_number), so start_number = next free index - listed segments. A new run's
//   timestamps start again near 1.4 s: -output_ts_offset moves them after the recorded
//   media, and mpegts_flags=+initial_discontinuity flags its restarted continuity
//   counters, so even ffmpeg's hls demuxer (which ignores the tag) reads on cleanly.
// - Write errors (disk full) are not reported at all: the segment is cut short, the
//   playlist is written empty, and ffmpeg goes on and exits 0. "Failed to open file" (an
//   unwritable directory) is logged but not fatal either. The Recorder watches the
//   playlist and the free space itself; outputErrorIn() spots the messages there are.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { ffmpegNotFound, firstLine, runFfmpeg, type FfmpegExit, type FfmpegProcess } from './ffmpegProcess';
import { playlistFile, segmentFilePattern } from '../recordings/layout';
import { nextFreeSegmentIndex, parsePlaylist, playlistDuration, startNumberFor } from './playlist';

export type ProbeResult = { ok: true; version: string; note?: string } | { ok: false; reason: string };

export interface HlsOptions {
  ffmpegPath: string;
  sdpFile: string;
  outDir: string;
  /** Absent: audio only. H264 is copied, VP8 transcoded to H.264. */
  video?: 'H264' | 'VP8';
  audio: boolean;
  /** Continue outDir/index.m3u8 (after a restart): append_list + discont_start, numbering after the last segment. */
  append: boolean;
  /** Each line ffmpeg writes to stderr. */
  onStderr?: (line: string) => void;
}

export type HlsExit = FfmpegExit;

export interface HlsProcess {
  /** Resolves once ffmpeg has exited (or could not be started); never rejects. */
  readonly exited: Promise<HlsExit>;
  /** The child's pid once it is spawned. */
  readonly pid: number | undefined;
  /** The -start_number this process was given (known once spawned). */
  readonly startNumber: number | undefined;
  /**
   * Waits for ffmpeg to finish after its input was ended (RTCP BYE on every stream: it
   * writes its last segment and #EXT-X-ENDLIST, then exits). Should it not, it gets a
   * SIGINT at half of timeoutMs (default 5000), another at three quarters, and SIGKILL at
   * the end. Resolves when ffmpeg has exited.
   */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  /** SIGKILL, at once. */
  kill(): void;
  /** The last lines ffmpeg wrote to stderr. */
  stderrTail(): string;
}

/** How long ffmpeg's RTP demuxer waits for a missing packet before going on without it. */
export const REORDER_DELAY_MS = 500;

/**
 * ffmpeg ends its input after this long without a datagram (SDP demuxer -listen_timeout),
 * and exits within twice this once onecast, which keeps the input awake, is gone.
 */
export const INPUT_TIMEOUT_S = 4;

/** How often the Recorder sends ffmpeg its keep-alive: an event loop held up for 3 s does not end the input. */
export const KEEPALIVE_MS = 1000;

/** Timestamp gap left between the end of one ffmpeg run's media and the start of the next (see continuationIn). */
export const RESTART_GAP_S = 0.2;

/** Lines of stderr kept for stderrTail(). */
const TAIL_LINES = 40;

function run(file: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr) }));
      else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Whether ffmpeg is there and can do what recording needs; the reason is one line. */
export async function probeFfmpeg(ffmpegPath: string): Promise<ProbeResult> {
  let version: string;
  try {
    const { stdout } = await run(ffmpegPath, ['-hide_banner', '-version'], 10_000);
    version = /^ffmpeg version (\S+)/m.exec(stdout)?.[1] ?? firstLine(stdout);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
    if (err.code === 'ENOENT') return { ok: false, reason: ffmpegNotFound(ffmpegPath) };
    if (err.code === 'EACCES')
      return { ok: false, reason: `ffmpeg at "${ffmpegPath}" cannot be executed (permission denied; set FFMPEG_PATH to an ffmpeg binary)` };
    if (err.killed) return { ok: false, reason: `ffmpeg at "${ffmpegPath}" did not answer -version within 10 s` };
    const detail = firstLine(err.stderr ?? '') || err.message;
    return { ok: false, reason: `ffmpeg at "${ffmpegPath}" does not run: ${detail}` };
  }
  try {
    const [formats, encoders] = await Promise.all([
      run(ffmpegPath, ['-hide_banner', '-formats'], 10_000).then((r) => parseFormats(r.stdout)),
      run(ffmpegPath, ['-hide_banner', '-encoders'], 10_000).then((r) => parseEncoders(r.stdout)),
    ]);
    const missing: string[] = [];
    if (!formats.get('hls')?.mux) missing.push('the hls muxer');
    if (!formats.get('sdp')?.demux) missing.push('the sdp demuxer');
    if (!encoders.has('aac')) missing.push('the aac encoder');
    if (missing.length > 0) {
      return { ok: false, reason: `ffmpeg ${version} at "${ffmpegPath}" lacks ${missing.join(', ')} (install a full ffmpeg build or set FFMPEG_PATH)` };
    }
    if (!encoders.has('libx264')) return { ok: true, version, note: 'no libx264 encoder: VP8 publishes cannot be recorded' };
    return { ok: true, version };
  } catch (e) {
    return { ok: false, reason: `ffmpeg ${version} at "${ffmpegPath}" could not list its formats: ${firstLine((e as Error).message)}` };
  }
}

/** `ffmpeg -formats`: each line " DE name[,name...]  description" (D: demuxer, E: muxer). */
export function parseFormats(text: string): Map<string, { demux: boolean; mux: boolean }> {
  const formats = new Map<string, { demux: boolean; mux: boolean }>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^ ([D ])([E ]) (\S+)\s/.exec(line);
    if (!m || m[3] === '=') continue;
    for (const name of m[3]!.split(',')) {
      const f = formats.get(name) ?? { demux: false, mux: false };
      formats.set(name, { demux: f.demux || m[1] === 'D', mux: f.mux || m[2] === 'E' });
    }
  }
  return formats;
}

/** `ffmpeg -encoders`: each line " V....D name  description" after the legend. */
export function parseEncoders(text: string): Set<string> {
  const encoders = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^ [VAS.][F.][S.][X.][B.][D.] (\S+)/.exec(line);
    if (m && m[1] !== '=') encoders.add(m[1]!);
  }
  return encoders;
}

/** The ffmpeg options before `-i` (input) and before the playlist name (output). Pure. */
export function hlsArguments(opts: Pick<HlsOptions, 'sdpFile' | 'outDir' | 'video' | 'audio' | 'append'> & { startNumber: number; tsOffset?: number }): {
  input: string[];
  output: string[];
} {
  if (!opts.video && !opts.audio) throw new Error('a recording needs audio, video or both');
  const input = [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'level+warning',
    // The SDP file may only open RTP/UDP (ffmpeg refuses anything else anyway without this).
    '-protocol_whitelist',
    'file,udp,rtp',
    // Bind the RTP/RTCP ports on loopback only: nobody else can inject media.
    '-localaddr',
    '127.0.0.1',
    // Reorder queue: hold up to 1000 packets, up to REORDER_DELAY_MS, for late and retransmitted ones.
    '-reorder_queue_size',
    '1000',
    '-max_delay',
    String(REORDER_DELAY_MS * 1000),
    '-buffer_size',
    String(4 * 1024 * 1024),
    // Start quickly: the first packet is a keyframe with SPS/PPS, Opus needs no probing.
    '-analyzeduration',
    '1000000',
    '-probesize',
    '1000000',
    '-fflags',
    '+genpts',
    // End of input after this long without a datagram: ffmpeg outlives onecast only so long.
    '-listen_timeout',
    String(INPUT_TIMEOUT_S),
    '-f',
    'sdp',
  ];
  const output: string[] = [];
  if (opts.video) output.push('-map', '0:v:0');
  if (opts.audio) output.push('-map', '0:a:0');
  if (opts.video === 'H264') {
    output.push('-c:v', 'copy');
  } else if (opts.video === 'VP8') {
    output.push(
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-tune',
      'zerolatency',
      '-pix_fmt',
      'yuv420p',
      // A keyframe every 2 s of media whatever the frame rate, so segments can be cut at hls_time.
      '-force_key_frames',
      'expr:gte(t,n_forced*2)',
      '-g',
      '60',
      '-sc_threshold',
      '0',
      // Each frame at its own time: a constant rate would be the demuxer's guess (see above).
      '-fps_mode',
      'vfr',
      // x264's rate control and level assume a nominal 30 fps whatever that guess (at a
      // guessed 90000 it declared level 6.2 and coarser quantizers); force-cfr=0 keeps the
      // stream marked variable-rate, timed by its timestamps.
      '-x264-params',
      'fps=30:force-cfr=0',
    );
  }
  // Each video packet lasts until the next one (the last: as long as the one before it).
  if (opts.video) output.push('-bsf:v', 'setts=duration=if(gt(NEXT_DTS\\,DTS)\\,NEXT_DTS-DTS\\,PREV_OUTDURATION)');
  if (opts.audio) output.push('-c:a', 'aac', '-b:a', '128k');
  // After a restart, timestamps go on from the end of what is recorded: players follow the
  // discontinuity anyway, and ffmpeg's own hls demuxer (which ignores it) sees no jump back.
  if (opts.tsOffset) output.push('-output_ts_offset', opts.tsOffset.toFixed(3));
  const flags = ['independent_segments', 'program_date_time'];
  if (opts.append) flags.push('append_list', 'discont_start');
  output.push(
    '-f',
    'hls',
    '-hls_time',
    '2',
    '-hls_list_size',
    '0',
    '-hls_playlist_type',
    'event',
    '-hls_flags',
    flags.join('+'),
    '-hls_segment_type',
    'mpegts',
    // A new run's MPEG-TS continuity counters start again: flag that, so demuxers that read
    // across the playlist's discontinuity (ffmpeg's) do not take the previous run's last frame for corrupt.
    ...(opts.append ? ['-hls_ts_options', 'mpegts_flags=+initial_discontinuity'] : []),
    '-start_number',
    String(opts.startNumber),
    '-hls_segment_filename',
    segmentFilePattern(opts.outDir),
  );
  return { input, output };
}

/**
 * Where a run in outDir continues: the -start_number (0 for a fresh playlist, else after
 * every segment listed or on disk) and the media time the playlist already holds (the
 * new run's timestamps start there, so they run on across restarts).
 */
export async function continuationIn(outDir: string, append: boolean): Promise<{ startNumber: number; tsOffset: number }> {
  let text = '';
  let names: string[] = [];
  try {
    text = await fs.readFile(playlistFile(outDir), 'utf8');
  } catch {
    // no playlist yet
  }
  try {
    names = await fs.readdir(outDir);
  } catch {
    // no directory: ffmpeg will say so
  }
  const playlist = parsePlaylist(text);
  // Each run's timestamps start a little before its first video frame (AAC priming, the
  // streams' first packets), so the EXTINF sum alone would overlap the previous run by a
  // few tens of ms: leave RESTART_GAP_S per run started so far instead.
  const runs = 1 + playlist.segments.slice(1).filter((s) => s.discontinuity).length;
  return {
    startNumber: startNumberFor(nextFreeSegmentIndex(playlist, names), playlist.segments.length, append),
    tsOffset: append && playlist.segments.length > 0 ? playlistDuration(playlist) + runs * RESTART_GAP_S : 0,
  };
}

/** An ffmpeg log line without its "[component @ 0x...]" and "[level]" prefixes. */
function bareMessage(line: string): string {
  return line.replace(/^(\s*\[[^\]]*\]\s*)+/, '').trim();
}

/** A stderr line that means ffmpeg cannot write the recording, as a reason; undefined otherwise. */
export function outputErrorIn(line: string): string | undefined {
  if (/No space left on device|Disk quota exceeded/i.test(line)) return 'the disk is full';
  if (/Read-only file system/i.test(line)) return 'the file system is read-only';
  if (/Failed to open (file|segment)|failed to rename file|Permission denied|Not a directory|Is a directory|Error writing/i.test(line)) {
    return `ffmpeg cannot write the recording: ${bareMessage(line)}`;
  }
  if (/Unknown encoder|Encoder not found|Unrecognized option|Option not found/i.test(line)) {
    return `ffmpeg cannot record: ${bareMessage(line)}`;
  }
  return undefined;
}

/** Whether ffmpeg failed because an RTP/RTCP port was taken (pick other ports and retry). */
export function isBindFailure(stderr: string): boolean {
  return /bind failed|Address already in use/i.test(stderr);
}

export function startHls(opts: HlsOptions): HlsProcess {
  let proc: FfmpegProcess | undefined;
  let startNumber: number | undefined;
  let killed = false;
  const started = (async (): Promise<FfmpegProcess | HlsExit> => {
    const continuation = await continuationIn(opts.outDir, opts.append);
    startNumber = continuation.startNumber;
    if (killed) return { code: null, signal: 'SIGKILL' };
    const args = hlsArguments({ ...opts, ...continuation });
    proc = runFfmpeg(opts.ffmpegPath, [...args.input, '-i', opts.sdpFile, '-y', ...args.output, playlistFile(opts.outDir)], {
      tailLines: TAIL_LINES,
      ...(opts.onStderr ? { onStderr: opts.onStderr } : {}),
    });
    return proc;
  })().catch((e: unknown): HlsExit => ({ code: null, signal: null, error: firstLine(String((e as Error)?.message ?? e)) }));
  const exited = started.then((p) => ('exited' in p ? p.exited : p));

  return {
    exited,
    get pid() {
      return proc?.pid;
    },
    get startNumber() {
      return startNumber;
    },
    async stop(stopOpts = {}) {
      const timeoutMs = stopOpts.timeoutMs ?? 5000;
      if (!proc) {
        // Not spawned yet (or never will be): nothing was recorded by it.
        killed = true;
        await Promise.race([exited, new Promise((r) => setTimeout(r, timeoutMs))]);
        return;
      }
      const running = proc;
      const escalation = [
        setTimeout(() => running.signal('SIGINT'), timeoutMs / 2),
        // The first one is only seen when a packet arrives: interrupt the blocking read (its last writes may be cut short).
        setTimeout(() => running.signal('SIGINT'), (timeoutMs * 3) / 4),
        setTimeout(() => running.signal('SIGKILL'), timeoutMs),
      ];
      await exited;
      for (const timer of escalation) clearTimeout(timer);
    },
    kill() {
      killed = true;
      proc?.signal('SIGKILL');
    },
    stderrTail() {
      return proc?.stderrTail() ?? '';
    },
  };
}

/**
 * Copies a recording's HLS into one MP4 at `target`, the index up front (faststart);
 * SIGKILLed after `timeoutMs`. Resolves with how ffmpeg ended and its last stderr lines.
 */
export async function remuxToMp4(
  ffmpegPath: string,
  playlist: string,
  target: string,
  opts: { aac: boolean; timeoutMs: number },
): Promise<{ exit: FfmpegExit; stderrTail: string }> {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', playlist, '-c', 'copy'];
  // The MP4 muxer inserts this filter for AAC itself; named explicitly it would refuse Opus.
  if (opts.aac) args.push('-bsf:a', 'aac_adtstoasc');
  args.push('-movflags', '+faststart', '-f', 'mp4', target);
  const proc = runFfmpeg(ffmpegPath, args, { tailLines: 3 });
  const timer = setTimeout(() => proc.signal('SIGKILL'), opts.timeoutMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { exit, stderrTail: proc.stderrTail() };
}
