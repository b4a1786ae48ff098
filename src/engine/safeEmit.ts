// Emitting an event whose listeners keep state in step: a session's end frees its ufrag
// and addresses in the mux, its place in the engine, the signaling service's session
// resource, the room's publisher or viewer. EventEmitter.emit stops at the first listener that throws,
// and every listener after it would then keep a session that is gone. mediasoup's
// EnhancedEventEmitter.safeEmit guards the emitter's caller by catching and reporting what
// a listener threw; here every listener runs, and the error still reaches the caller
// (there is no logger in the engine), once the others have run.
import type { EventEmitter } from 'node:events';

/**
 * Calls every listener of `event` in order (once-listeners are removed as emit would),
 * even when some throw; then throws the first error, or an AggregateError naming them all.
 */
export function safeEmit<T extends Record<keyof T, unknown[]>, K extends keyof T & string>(emitter: EventEmitter<T>, event: K, ...args: T[K]): void {
  const untyped = emitter as unknown as EventEmitter;
  const errors: unknown[] = [];
  // rawListeners: a copy, with once-wrappers that remove themselves when called.
  for (const listener of untyped.rawListeners(event) as ((...a: unknown[]) => void)[]) {
    try {
      listener.apply(emitter, args);
    } catch (error) {
      errors.push(error);
    }
  }
  throwCollected(errors, `listeners of '${event}'`);
}

/** Nothing, the one error, or an AggregateError naming them all. */
function throwCollected(errors: unknown[], what: string): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} ${what} threw`);
}

/**
 * Calls `fn` on every item even when some calls throw (closing every session of a shutting
 * down engine, every room, every member of a room); then throws as safeEmit does.
 */
export function forEachSafely<T>(items: Iterable<T>, fn: (item: T) => void): void {
  const errors: unknown[] = [];
  for (const item of [...items]) {
    try {
      fn(item);
    } catch (error) {
      errors.push(error);
    }
  }
  throwCollected(errors, 'calls');
}
