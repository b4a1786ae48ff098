// Retention: RECORDINGS_MAX_AGE and RECORDINGS_MAX_BYTES. A sweep deletes finished
// recordings, oldest first, that are too old or that keep the recordings over their
// byte budget; a recording being written is never deleted, and counts in the total.
// Sweeps run at start-up, every SWEEP_EVERY_MS and whenever a recording ends.
import type { Logger } from '../log';
import type { Recording, RecordingStore } from './store';

/** The periodic sweep: ages are checked to within this. */
const SWEEP_EVERY_MS = 60_000;

export interface RetentionOptions {
  /** Finished recordings older than this (since they ended) go; 0: no age limit. */
  maxAgeMs: number;
  /** All recordings together may take this much; 0: no limit. */
  maxBytes: number;
  log: Logger;
  /** The clock (ms since the epoch); tests give their own. */
  now?: () => number;
}

export interface Removal {
  room: string;
  id: string;
  bytes: number;
  reason: 'age' | 'bytes';
}

export class RecordingRetention {
  private timer: NodeJS.Timeout | undefined;
  /** The sweep under way: a new one waits for it, so that two never delete at once. */
  private running: Promise<Removal[]> = Promise.resolve([]);

  constructor(
    private readonly store: RecordingStore,
    private readonly options: RetentionOptions,
  ) {}

  get enabled(): boolean {
    return this.options.maxAgeMs > 0 || this.options.maxBytes > 0;
  }

  /** Sweeps now and every SWEEP_EVERY_MS until stop(); nothing when no limit is set. */
  start(): void {
    if (!this.enabled || this.timer !== undefined) return;
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Deletes what the limits say must go; resolves with what it deleted. Never rejects. */
  sweep(): Promise<Removal[]> {
    if (!this.enabled) return Promise.resolve([]);
    this.running = this.running.then(() =>
      this.sweepOnce().catch((error: unknown) => {
        this.options.log.error('recordings retention failed', { error: String((error as Error)?.message ?? error) });
        return [];
      }),
    );
    return this.running;
  }

  private async sweepOnce(): Promise<Removal[]> {
    const { maxAgeMs, maxBytes, log } = this.options;
    const now = (this.options.now ?? Date.now)();
    const all = await this.store.recordings();
    let total = all.reduce((sum, r) => sum + r.info.bytes, 0);
    const removed: Removal[] = [];
    // The store lists newest first.
    for (const recording of all.filter((r) => !r.inProgress).reverse()) {
      const reason = maxAgeMs > 0 && now - endOf(recording) > maxAgeMs ? 'age' : maxBytes > 0 && total > maxBytes ? 'bytes' : undefined;
      if (reason === undefined) continue;
      const { room, id, bytes } = recording.info;
      if (!(await this.store.remove(room, id))) continue;
      total -= bytes;
      removed.push({ room, id, bytes, reason });
      log.info('recording deleted by retention', { room, id, bytes, reason, ...(reason === 'bytes' ? { maxBytes } : { maxAgeMs }) });
    }
    if (maxBytes > 0 && total > maxBytes) {
      log.warn('recordings take more than RECORDINGS_MAX_BYTES, all of it in recordings in progress', { bytes: total, maxBytes });
    }
    return removed;
  }
}

/** When a finished recording ended (ms); when it started, if meta.json has no end (a crash cut it short). */
function endOf(recording: Recording): number {
  const ended = Date.parse(recording.info.endedAt ?? recording.info.startedAt);
  return Number.isNaN(ended) ? 0 : ended;
}
