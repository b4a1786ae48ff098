// A Clock whose time moves only when a test says so: timers fire in order as advance()
// passes their due time, so timing logic is tested in milliseconds of real time.
import type { Clock, Timer } from '../../src/recorder/clock';

interface Pending {
  at: number;
  fn: () => void;
  every: number | undefined;
}

export class FakeClock implements Clock {
  private readonly pending = new Map<Timer, Pending>();

  constructor(private time = 1_000_000) {}

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer = {};
    this.pending.set(timer, { at: this.time + Math.max(0, ms), fn, every: undefined });
    return timer;
  }

  setInterval(fn: () => void, ms: number): Timer {
    const timer = {};
    this.pending.set(timer, { at: this.time + Math.max(1, ms), fn, every: Math.max(1, ms) });
    return timer;
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer) this.pending.delete(timer);
  }

  clearInterval(timer: Timer | undefined): void {
    if (timer) this.pending.delete(timer);
  }

  /** Timers not yet fired or cleared. */
  get timers(): number {
    return this.pending.size;
  }

  /** Moves time on by `ms`, firing every timer due meanwhile at its own time. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [Timer, Pending] | undefined;
      for (const entry of this.pending) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      const [timer, p] = next;
      this.time = p.at;
      if (p.every === undefined) this.pending.delete(timer);
      else p.at += p.every;
      p.fn();
    }
    this.time = end;
  }
}
