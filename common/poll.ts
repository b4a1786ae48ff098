// Repeating work that must not overlap itself (a slow fetch is not started twice).

/** Runs `task` now and then `everyMs` after each run ends; the returned function stops it. */
export function repeat(everyMs: number, task: () => Promise<void> | void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const run = async (): Promise<void> => {
    try {
      await task();
    } catch (error) {
      // The next run may succeed (the server restarting, a network blip); say what failed meanwhile.
      console.warn(error);
    }
    if (!stopped) timer = setTimeout(run, everyMs);
  };
  void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Polls `load` every `everyMs` and calls `draw` only when the value changed, so an
 * unchanged list is not re-drawn under the user's pointer.
 */
export function pollChanges<T>(everyMs: number, load: () => Promise<T>, draw: (value: T) => void): () => void {
  let shown: string | undefined;
  return repeat(everyMs, async () => {
    const value = await load();
    const key = JSON.stringify(value);
    if (key === shown) return;
    shown = key;
    draw(value);
  });
}
