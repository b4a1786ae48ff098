// onecast as users run it: its own process, started from the sources, for the
// tests that look at the process from outside (sockets, signals, start-up lines).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `src/main.ts` with `env`, and resolves once it logs that it is listening, or,
 * with `readyUrl` (for LOG_LEVELs that hide that line), once that URL answers. `root`: a
 * copy of the repository to start instead of this one.
 */
/** `startTimeoutMs`: how long it may take to say it listens (tsx compiles the sources first: slow on a cold cache and a busy machine). */
export async function spawnServer(
  env: Record<string, string>,
  args: string[] = [],
  readyUrl?: string,
  root = ROOT,
  startTimeoutMs = 15_000,
): Promise<ServerProcess> {
  // ONECAST_NODE_FLAGS: extra node flags for the server, e.g. --cpu-prof when profiling the bench.
  const nodeFlags = (process.env['ONECAST_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(root, 'src', 'main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${startTimeoutMs / 1000} s:\n${out}`)), startTimeoutMs);
    const check = () => {
      if (out.includes('onecast listening')) {
        clearTimeout(timer);
        resolve();
      }
    };
    if (readyUrl === undefined) {
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
    } else {
      const poll = () => {
        if (child.exitCode !== null) return;
        fetch(readyUrl).then(
          () => {
            clearTimeout(timer);
            resolve();
          },
          () => setTimeout(poll, 100),
        );
      };
      poll();
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  }).catch((error) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    child,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `src/main.ts` to completion (for settings that stop start-up). */
export async function runServerToExit(env: Record<string, string>, args: string[] = [], timeoutMs = 15_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}

/** The UDP sockets a process holds, as local ports, read from /proc. */
export function udpSocketsOf(pid: number): number[] {
  return socketPortsOf(pid, ['/proc/net/udp', '/proc/net/udp6']);
}

/** The TCP ports a process listens on, read from /proc. */
export function tcpListenersOf(pid: number): number[] {
  return socketPortsOf(pid, ['/proc/net/tcp', '/proc/net/tcp6'], '0A');
}

/** Local ports of the sockets in `tables` that `pid` holds (in TCP `state`, e.g. 0A = LISTEN, if given). */
function socketPortsOf(pid: number, tables: string[], state?: string): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // the fd closed while we looked
    }
  }
  const ports: number[] = [];
  for (const table of tables) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || (state !== undefined && cols[3] !== state)) continue;
      if (inodes.has(cols[9]!)) ports.push(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

/** A free TCP/UDP port number on loopback (racy in theory, fine for tests). */
export async function freePort(): Promise<number> {
  const dgram = await import('node:dgram');
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A server process on loopback with fresh ports and RECORD=on (plus `env`): what the
 * recording, crash and shutdown tests run against.
 */
export async function spawnRecordingServer(env: Record<string, string>): Promise<{ proc: ServerProcess; base: string; httpPort: number }> {
  const httpPort = await freePort();
  const proc = await spawnServer({
    HTTP_PORT: String(httpPort),
    UDP_PORT: String(await freePort()),
    BIND: '127.0.0.1',
    PUBLIC_IPS: '127.0.0.1',
    RECORD: 'on',
    ...env,
  });
  return { proc, base: `http://127.0.0.1:${httpPort}`, httpPort };
}
