// What the soak looks at inside the server's process: the heap after a full garbage
// collection, the timers alive, and the size of every map that holds a session, a room
// or a recording. The soak (test/support/soakServer.ts) and the scale test call it; onecast
// itself never does.
import { createHook } from 'node:async_hooks';
import { readdirSync, readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { OnecastServer } from '../../src/server';

export interface ServerProbe {
  /** V8 heap in use after two full collections, bytes. */
  heapUsed: number;
  rss: number;
  /** Timers keeping the event loop alive (process.getActiveResourcesInfo()). */
  refTimers: number;
  /**
   * Every timer not yet fired or cleared, unref'd ones included (the publisher's
   * feedback timer is unref'd, so the count above would not see it leak).
   * Counted from trackTimers() on.
   */
  liveTimers: number;
  engineSessions: number;
  sfuSessions: number;
  muxUfrags: number;
  muxAddresses: number;
  rooms: number;
  recordings: number;
  /** Child processes alive (ffmpeg for recordings), from /proc (Linux). */
  childProcesses: number;
}

const live = new Set<number>();
let hook: ReturnType<typeof createHook> | undefined;

/** Starts counting timers (async_hooks 'Timeout' resources) for ServerProbe.liveTimers. */
export function trackTimers(): void {
  hook ??= createHook({
    init(asyncId, type) {
      if (type === 'Timeout') live.add(asyncId);
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
}

let gc: (() => void) | undefined;

/** A full collection, with or without node --expose-gc. */
export function collectGarbage(): void {
  if (gc === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed !== undefined) gc = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    }
  }
  // Twice: the first pass may only run finalizers that free more on the second.
  gc();
  gc();
}

export function probeServer(server: OnecastServer): ServerProbe {
  collectGarbage();
  const memory = process.memoryUsage();
  return {
    heapUsed: memory.heapUsed,
    rss: memory.rss,
    refTimers: process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
    liveTimers: live.size,
    engineSessions: server.engine.sessionCount,
    sfuSessions: server.signaling.sessionCount,
    muxUfrags: server.engine.mux.ufragCount,
    muxAddresses: server.engine.mux.boundAddressCount,
    rooms: server.sfu.rooms.size,
    recordings: server.recordingService.recordingCount,
    childProcesses: childPids('self').length,
  };
}

/** The child processes of a process (Linux, /proc/<pid>/task/<tid>/children). */
export function childPids(pid: number | 'self'): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ')) if (child.trim() !== '') out.push(Number(child));
  }
  return out;
}

/** What must all be zero once every session has ended: maps, recordings, ffmpeg processes. */
export function heldEntries(p: ServerProbe): Record<string, number> {
  return {
    engineSessions: p.engineSessions,
    sfuSessions: p.sfuSessions,
    muxUfrags: p.muxUfrags,
    muxAddresses: p.muxAddresses,
    rooms: p.rooms,
    recordings: p.recordings,
    childProcesses: p.childProcesses,
  };
}
