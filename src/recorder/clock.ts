// The recorder's time source, injected so that its timing logic (replay pacing, the wait
// for Sender Reports, keyframe asks, restart backoff, playlist polling) can be driven by a
// fake clock in unit tests, in milliseconds, without ffmpeg and without waiting.

/** A pending timer, as returned by setTimeout/setInterval; only good for clearing it. */
export type Timer = object;

export interface Clock {
  /** Milliseconds since the epoch (as Date.now()). */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer | undefined): void;
  setInterval(fn: () => void, ms: number): Timer;
  clearInterval(timer: Timer | undefined): void;
}

/** Wall-clock time and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (timer) => clearInterval(timer as NodeJS.Timeout | undefined),
};

/** Resolves after `ms` on `clock`. */
export function delay(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
