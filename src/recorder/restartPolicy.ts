// What an ffmpeg exit means for the recording: a reason to give up (ffmpeg missing, the
// recording cannot be written, too many quick failures in a row) or a restart after a
// backoff (at once after a lost race for its ports). Pure: the Recorder acts on the answer.
import { isBindFailure, outputErrorIn, type HlsExit } from './ffmpeg';

/** Delay before the n-th consecutive quick restart. */
const RESTART_DELAYS_MS = [250, 500, 1000, 2000, 4000];
/** A run shorter than this that fails counts as a quick failure. */
const QUICK_FAILURE_MS = 10_000;
const MAX_BIND_RETRIES = 10;

/** How a run ended, as far as the restart decision goes. */
export interface RunEnd {
  exit: HlsExit;
  /** ffmpeg's last stderr lines. */
  stderrTail: string;
  /** The reason a stderr line gave while it ran, if one did. */
  outputError: string | undefined;
  livedMs: number;
  producedSegment: boolean;
}

export type ExitDecision =
  | { action: 'fail'; reason: string }
  /** Another process took a port: pick others and start again at once. */
  | { action: 'rebind' }
  | { action: 'restart'; reason: string; delayMs: number; attempt: number };

export class RestartPolicy {
  private quickFailures = 0;
  private bindFailures = 0;

  /** `maxQuickFailures`: consecutive quick failures (each within 10 s of its start) before giving up. */
  constructor(private readonly maxQuickFailures = 5) {}

  /** A run is up and receiving: its ports were bound. */
  bound(): void {
    this.bindFailures = 0;
  }

  decide(end: RunEnd): ExitDecision {
    const { exit, stderrTail: tail } = end;
    if (exit.error) return { action: 'fail', reason: exit.error };
    const outputError =
      end.outputError ??
      tail
        .split('\n')
        .map(outputErrorIn)
        .find((r) => r !== undefined);
    if (outputError) return { action: 'fail', reason: outputError };
    const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const lastLine =
      tail
        .split('\n')
        .filter((l) => l.trim())
        .pop() ?? '';
    if (isBindFailure(tail)) {
      // (Another process took a port between the probe and ffmpeg's bind; it may even have
      // looked like ffmpeg's in /proc/net/udp.)
      this.bindFailures++;
      if (this.bindFailures > MAX_BIND_RETRIES)
        return { action: 'fail', reason: `ffmpeg could not bind its RTP ports ${this.bindFailures} times: ${lastLine}` };
      return { action: 'rebind' };
    }
    if (end.livedMs >= QUICK_FAILURE_MS || end.producedSegment) this.quickFailures = 0;
    this.quickFailures++;
    const what = `${how}${lastLine ? `: ${lastLine}` : ''}`;
    if (this.quickFailures >= this.maxQuickFailures) {
      return { action: 'fail', reason: `ffmpeg failed ${this.quickFailures} times in a row; the last time it ${what}` };
    }
    const delayMs = RESTART_DELAYS_MS[Math.min(this.quickFailures - 1, RESTART_DELAYS_MS.length - 1)]!;
    return { action: 'restart', reason: `ffmpeg ${what}`, delayMs, attempt: this.quickFailures };
  }
}
