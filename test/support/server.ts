// An onecast server in the test process, on free ports, reachable on loopback only.
import { loadConfig, type Config } from '../../src/config';
import { OnecastServer, type ServerOptions } from '../../src/server';
import type { RoomSummary } from '../../src/http/roomSummary';
import type { Session } from '../../src/engine/session';

export async function startServer(env: Record<string, string> = {}, options: ServerOptions = {}): Promise<TestServer> {
  const config: Config = loadConfig([], {
    HTTP_PORT: '1',
    UDP_PORT: '1',
    BIND: '127.0.0.1',
    PUBLIC_IPS: '127.0.0.1',
    // The fan-out path under test (npm test runs the fan-out tests on both).
    ...(process.env['FANOUT'] !== undefined ? { FANOUT: process.env['FANOUT'] } : {}),
    ...env,
  });
  // Port 0: let the kernel pick free ports (the config parser insists on 1-65535).
  config.httpPort = Number(env['HTTP_PORT'] ?? 0);
  config.udpPort = Number(env['UDP_PORT'] ?? 0);
  const server = await OnecastServer.start(config, options);
  return new TestServer(server);
}

export class TestServer {
  constructor(readonly server: OnecastServer) {}

  get url(): string {
    const bind = this.server.config.bind;
    const host = bind === '::1' ? '[::1]' : bind === '::' || bind === '0.0.0.0' ? '127.0.0.1' : bind;
    const scheme = this.server.config.tlsCert !== undefined ? 'https' : 'http';
    return `${scheme}://${host}:${this.server.httpPort}`;
  }

  async rooms(): Promise<RoomSummary[]> {
    const token = this.server.config.playToken;
    const res = await fetch(`${this.url}/api/rooms`, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
    return (await res.json()) as RoomSummary[];
  }

  async room(name: string): Promise<RoomSummary | undefined> {
    return (await this.rooms()).find((r) => r.room === name);
  }

  /** The engine session of `room`'s WHIP publisher (a room's publisher may also be a relay, which has none). */
  publisherSession(room: string): Session | undefined {
    const id = this.server.sfu.rooms.get(room)?.publisher?.session.id;
    return id === undefined ? undefined : this.server.signaling.session('publish', room, id);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
