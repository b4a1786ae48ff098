// How late the test process's event loop ran, measured over the same window as a latency the
// test asserts. The server under test, its clients and the test share that loop: when the
// machine is busy, every timer and every datagram handler runs late by about this much, so a
// bound on the server's reaction time is checked as the bound plus this measured lateness.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopDelay {
  /** The longest the loop was late since start, in ms. */
  maxMs(): number;
  stop(): void;
}

export function watchLoopDelay(): LoopDelay {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return {
    maxMs: () => histogram.max / 1e6,
    stop: () => histogram.disable(),
  };
}
