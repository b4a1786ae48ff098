// The one place onecast starts ffmpeg: a plain child_process.spawn of the configured
// binary (FFMPEG_PATH) with the arguments given, for a recording run, an MP4 remux and
// a thumbnail alike. A binary that cannot be run comes back as an exit with one-line
// reason, never as a throw; stderr is handed over line by line and its last lines kept;
// stdin and stdout are used only when asked for (input given, output kept to a limit).
import { spawn, type ChildProcess } from 'node:child_process';

export interface FfmpegExit {
  code: number | null;
  signal: string | null;
  /** Set when ffmpeg could not be run at all (e.g. not found): one line. */
  error?: string;
  /** With `error`: whether the binary is missing or not executable (FFMPEG_PATH is wrong). */
  notRunnable?: boolean;
}

export interface FfmpegProcess {
  /** Resolves once ffmpeg has exited (or could not be started); never rejects. */
  readonly exited: Promise<FfmpegExit>;
  /** The child's pid once it is spawned. */
  readonly pid: number | undefined;
  /** Sends `sig` while ffmpeg runs (default SIGKILL); a no-op once it has exited. */
  signal(sig?: NodeJS.Signals): void;
  /** The last lines ffmpeg wrote to stderr. */
  stderrTail(): string;
  /** What ffmpeg wrote to stdout, when `output` was asked for. */
  output(): Buffer;
  /** Whether stdout went past `output.maxBytes` (ffmpeg was then killed). */
  readonly outputTooLarge: boolean;
}

export interface FfmpegRunOptions {
  /** Each line ffmpeg writes to stderr. */
  onStderr?: (line: string) => void;
  /** Lines of stderr kept for stderrTail(). Default 40. */
  tailLines?: number;
  /** Written to ffmpeg's stdin, which is then closed; without it stdin is not opened. */
  input?: Buffer;
  /** Keep what ffmpeg writes to stdout, at most `maxBytes` of it (past that ffmpeg is killed); without it stdout is not opened. */
  output?: { maxBytes: number };
}

/** The first non-empty line of `s`. */
export function firstLine(s: string): string {
  return (
    s
      .split(/\r?\n/)
      .find((l) => l.trim() !== '')
      ?.trim() ?? ''
  );
}

/** The one-line reason for a missing ffmpeg (probeFfmpeg and a Recorder's 'failed' say the same). */
export function ffmpegNotFound(ffmpegPath: string): string {
  return `ffmpeg not found at "${ffmpegPath}" (install ffmpeg or set FFMPEG_PATH)`;
}

/** Errors of a spawn that mean the binary at that path cannot be run. */
const NOT_RUNNABLE = new Set(['ENOENT', 'EACCES', 'ENOTDIR', 'EISDIR']);

export function runFfmpeg(ffmpegPath: string, args: readonly string[], opts: FfmpegRunOptions = {}): FfmpegProcess {
  const tailLines = opts.tailLines ?? 40;
  const tail: string[] = [];
  let resolveExit!: (e: FfmpegExit) => void;
  let done = false;
  const exited = new Promise<FfmpegExit>((resolve) => {
    resolveExit = (e) => {
      if (done) return;
      done = true;
      resolve(e);
    };
  });

  const onLine = (line: string): void => {
    if (line.trim() === '') return;
    tail.push(line);
    if (tail.length > tailLines) tail.shift();
    try {
      opts.onStderr?.(line);
    } catch {
      // a listener's problem is not ffmpeg's
    }
  };

  let child: ChildProcess | undefined;
  const output: Buffer[] = [];
  let outputBytes = 0;
  let outputTooLarge = false;
  try {
    const stdio = [opts.input !== undefined ? 'pipe' : 'ignore', opts.output !== undefined ? 'pipe' : 'ignore', 'pipe'] as const;
    child = spawn(ffmpegPath, args, { stdio: [...stdio], windowsHide: true });
  } catch (e) {
    // spawn throws synchronously for arguments it cannot pass at all (e.g. a NUL byte).
    resolveExit({ code: null, signal: null, error: firstLine(String((e as Error)?.message ?? e)) });
  }
  if (child) {
    if (opts.input !== undefined && child.stdin) {
      // ffmpeg may exit before reading it all (a bad stream, a kill): EPIPE is its end, not ours.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
    const maxOutput = opts.output?.maxBytes ?? 0;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (outputTooLarge) return;
      outputBytes += chunk.length;
      if (outputBytes > maxOutput) {
        outputTooLarge = true;
        output.length = 0;
        child!.kill('SIGKILL');
        return;
      }
      output.push(chunk);
    });
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n|\r/);
      partial = lines.pop()!;
      for (const line of lines) onLine(line);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Only a spawn that failed resolves here; a running child's end comes with 'close'.
      if (child!.pid !== undefined) return;
      const notRunnable = NOT_RUNNABLE.has(err.code ?? '');
      resolveExit({ code: null, signal: null, error: notRunnable ? ffmpegNotFound(ffmpegPath) : firstLine(err.message), notRunnable });
    });
    child.once('close', (code, signal) => {
      if (child!.pid === undefined) return; // never spawned: 'error' says why
      if (partial !== '') onLine(partial);
      partial = '';
      resolveExit({ code, signal });
    });
  }

  return {
    exited,
    get pid() {
      return child?.pid;
    },
    signal(sig: NodeJS.Signals = 'SIGKILL') {
      if (child && child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          child.kill(sig);
        } catch {
          // already gone
        }
      }
    },
    stderrTail() {
      return tail.join('\n');
    },
    output() {
      return Buffer.concat(output);
    },
    get outputTooLarge() {
      return outputTooLarge;
    },
  };
}
