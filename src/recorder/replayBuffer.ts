// The packets a recording keeps for its ffmpeg runs. ffmpeg holds the segment it is
// writing in memory until it is finished, so when it dies the packets since that
// segment's first keyframe are replayed to the next run; and while a run starts up, what
// arrives waits here. The buffer keeps entries from a cut point on, within limits (bytes
// and arrival span), never drops what the run reading it has not sent yet, and lets go of
// what finished segments hold. Pure: no timers, no I/O; arrival times come with the entries.
import type { MediaKind } from '../rtp/mediaKind';
import type { BufferEntry } from './recordedMedia';

/** Where the current run reads the buffer; its indexes move when entries before them are dropped. */
export interface ReadPosition {
  /** Next entry to send; -1 while waiting for a cut point. */
  cursor: number;
  /** Entries from replayFrom to replayEnd were buffered when the run began (replayed or held during the start). */
  replayFrom: number;
  replayEnd: number;
}

export interface ReplayLimits {
  /** Older packets go (up to the newest keyframe sent) beyond this many bytes... */
  maxBytes: number;
  /** ...or beyond this span of arrival times (ms). */
  maxMs: number;
}

/** The buffer never holds more than this: older packets go (up to the newest keyframe). */
const DEFAULT_REPLAY_LIMITS: ReplayLimits = { maxBytes: 32 * 1024 * 1024, maxMs: 20_000 };

/** (a - b) as a signed 32-bit RTP timestamp difference. */
function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export class ReplayBuffer {
  private entries: BufferEntry[] = [];
  private bytes = 0;

  /** `reader` gives the position of the run that is up and reading, if any. */
  constructor(
    private readonly reader: () => ReadPosition | undefined,
    private readonly limits: ReplayLimits = DEFAULT_REPLAY_LIMITS,
  ) {}

  get length(): number {
    return this.entries.length;
  }

  get byteLength(): number {
    return this.bytes;
  }

  at(index: number): BufferEntry | undefined {
    return this.entries[index];
  }

  /** The first entry at or after `from` that `match`es. */
  find(from: number, match: (e: BufferEntry) => boolean): BufferEntry | undefined {
    for (let i = Math.max(0, from); i < this.entries.length; i++) if (match(this.entries[i]!)) return this.entries[i];
    return undefined;
  }

  /** Keeps `entry` if it is a cut point or the buffer already holds one (an empty buffer waits for the next). Returns whether it was kept. */
  add(entry: BufferEntry): boolean {
    if (this.entries.length === 0 && !entry.cut) return false;
    this.entries.push(entry);
    this.bytes += entry.packet.length;
    return true;
  }

  /**
   * Where a new run's stream starts: the first cut point, or with `notBefore`, the first
   * one no earlier than that timestamp less `toleranceTicks`; -1 when there is none yet.
   */
  startIndex(notBefore?: { ts: number; toleranceTicks: number }): number {
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (!e.cut) continue;
      if (notBefore && tsDiff(e.ts, notBefore.ts) < -notBefore.toleranceTicks) continue;
      return i;
    }
    return -1;
  }

  /** Drops entries before index `n` (all already sent to the reading run, if any). */
  dropBefore(n: number): void {
    if (n <= 0) return;
    for (let i = 0; i < n; i++) this.bytes -= this.entries[i]!.packet.length;
    this.entries.splice(0, n);
    const run = this.reader();
    if (run) {
      if (run.cursor >= 0) run.cursor = Math.max(0, run.cursor - n);
      run.replayFrom = Math.max(0, run.replayFrom - n);
      run.replayEnd = Math.max(0, run.replayEnd - n);
    }
  }

  /** How far the buffer may be trimmed: entries a waiting or replaying run still needs stay. */
  sentLimit(): number {
    const run = this.reader();
    if (!run || run.cursor < 0) return this.entries.length;
    return run.cursor;
  }

  /** Over the limits: keep from the newest cut point that has been sent; with none, keep nothing sent. */
  enforceLimits(): void {
    const first = this.entries[0];
    const last = this.entries[this.entries.length - 1];
    if (!first || !last) return;
    if (this.bytes <= this.limits.maxBytes && last.at - first.at <= this.limits.maxMs) return;
    const limit = this.sentLimit();
    let cut = -1;
    for (let i = Math.min(limit, this.entries.length - 1); i > 0; i--) {
      if (this.entries[i]!.cut) {
        cut = i;
        break;
      }
    }
    this.dropBefore(cut > 0 ? cut : limit);
  }

  /**
   * Media up to `committedTs` of the `anchor` stream is in finished segments: keep only
   * from the last sent cut point at or before it (within `toleranceTicks`), where the
   * unfinished segment begins.
   */
  dropCommitted(committedTs: number, anchor: MediaKind, toleranceTicks: number): void {
    const limit = this.sentLimit();
    let head = -1;
    for (let i = 0; i < limit; i++) {
      const e = this.entries[i]!;
      if (e.kind !== anchor || !e.cut) continue;
      if (tsDiff(e.ts, committedTs) <= toleranceTicks) head = i;
      else break;
    }
    if (head > 0) this.dropBefore(head);
  }

  clear(): void {
    this.entries = [];
    this.bytes = 0;
  }
}
