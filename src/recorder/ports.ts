// Local UDP ports for ffmpeg's RTP input: even ports whose odd neighbour (RTCP) is free
// too, found by binding probe sockets on 127.0.0.1 and closing them again; and ways to
// see when ffmpeg has bound them, so nothing is sent into the void, and when it has read
// everything sent to them (Linux: /proc/net/udp).
import * as dgram from 'node:dgram';
import { promises as fs } from 'node:fs';

const HOST = '127.0.0.1';

function bindProbe(port: number): Promise<dgram.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    const fail = (): void => {
      socket.close();
      resolve(undefined);
    };
    socket.once('error', fail);
    socket.bind({ port, address: HOST, exclusive: true }, () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

/**
 * `count` distinct even ports P, each with P and P + 1 free on 127.0.0.1 when probed.
 * The probe sockets are closed before this resolves, so another process may still take
 * a port before ffmpeg binds it: ffmpeg then fails with "bind failed", and the caller
 * picks again.
 */
export async function pickRtpPorts(count: number): Promise<number[]> {
  const held: dgram.Socket[] = [];
  const ports: number[] = [];
  try {
    for (let attempt = 0; ports.length < count; attempt++) {
      if (attempt > 200) throw new Error('no free pair of local UDP ports for ffmpeg');
      // Let the kernel pick a free port, then use the even pair at or just above it.
      const any = await bindProbe(0);
      if (!any) continue;
      held.push(any);
      const p = any.address().port;
      const base = p % 2 === 0 ? p : p + 1;
      if (base + 1 > 65535) continue;
      const sockets: dgram.Socket[] = [];
      for (const port of [base, base + 1]) {
        if (port === p) continue;
        const s = await bindProbe(port);
        if (!s) break;
        sockets.push(s);
      }
      held.push(...sockets);
      if (sockets.length === (base === p ? 1 : 2)) ports.push(base);
    }
    return ports;
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** Each bound IPv4 UDP port with the bytes waiting in its receive queue, from /proc/net/udp; undefined when that file cannot be read (not Linux). */
async function udpSockets(): Promise<Map<number, number> | undefined> {
  let text: string;
  try {
    text = await fs.readFile('/proc/net/udp', 'utf8');
  } catch {
    return undefined;
  }
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    // "  sl  local_address rem_address   st tx_queue:rx_queue ..."
    const m = /^\s*\d+:\s+[0-9A-Fa-f]{8}:([0-9A-Fa-f]{4})\s+[0-9A-Fa-f]{8}:[0-9A-Fa-f]{4}\s+[0-9A-Fa-f]{2}\s+[0-9A-Fa-f]{8}:([0-9A-Fa-f]{8})\s/.exec(line);
    if (m) {
      const port = Number.parseInt(m[1]!, 16);
      out.set(port, (out.get(port) ?? 0) + Number.parseInt(m[2]!, 16));
    }
  }
  return out;
}

/** The UDP ports bound on IPv4 (any local address), from /proc/net/udp; undefined when that file cannot be read (not Linux). */
export async function boundUdpPorts(): Promise<Set<number> | undefined> {
  const sockets = await udpSockets();
  return sockets && new Set(sockets.keys());
}

/** The bytes waiting in the receive queues of `ports` (not yet read by their owner); undefined where /proc/net/udp cannot be read. */
export async function udpBytesQueued(ports: readonly number[]): Promise<number | undefined> {
  const sockets = await udpSockets();
  return sockets && ports.reduce((sum, p) => sum + (sockets.get(p) ?? 0), 0);
}

export type WaitResult = 'bound' | 'assumed' | 'timeout' | 'aborted';

/**
 * Resolves 'bound' once every port is bound, 'aborted' when `abort()` says to stop
 * (ffmpeg exited), 'timeout' after timeoutMs; where /proc/net/udp cannot be read it
 * waits `fallbackMs` and resolves 'assumed'.
 */
export async function waitForUdpPorts(
  ports: readonly number[],
  opts: { timeoutMs: number; fallbackMs: number; pollMs?: number; abort: () => boolean },
): Promise<WaitResult> {
  const started = Date.now();
  const poll = opts.pollMs ?? 20;
  for (;;) {
    if (opts.abort()) return 'aborted';
    const bound = await boundUdpPorts();
    if (bound === undefined) {
      const left = opts.fallbackMs - (Date.now() - started);
      if (left <= 0) return 'assumed';
      await new Promise((r) => setTimeout(r, Math.min(poll, left)));
      continue;
    }
    if (ports.every((p) => bound.has(p))) return 'bound';
    if (Date.now() - started >= opts.timeoutMs) return 'timeout';
    await new Promise((r) => setTimeout(r, poll));
  }
}
