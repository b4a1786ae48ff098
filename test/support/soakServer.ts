// onecast for the soak: the real server in its own process (forked from this file),
// configured from the environment like `npm start`, plus an IPC channel on which the
// soak asks for a ServerProbe (heap after GC, timers, map sizes): something onecast
// itself does not expose. SOAK_CONSENT_TIMEOUT_MS shortens consent expiry so that
// abandoned sessions end within the run.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { OnecastServer } from '../../src/server';
import { probeServer, trackTimers, type ServerProbe } from './serverProbe';

type Request = { type: 'probe' } | { type: 'stop' };
type Reply = { type: 'listening'; httpPort: number; udpPort: number } | { type: 'probe'; probe: ServerProbe } | { type: 'stopped' };

export interface SoakServer {
  pid: number;
  base: string;
  udpPort: number;
  probe(): Promise<ServerProbe>;
  /** Closes the server (as on SIGTERM) and waits for the process to exit. */
  stop(): Promise<void>;
  output(): string;
}

/** Forks this file with `env` over the loopback defaults; resolves once it listens. */
export async function forkSoakServer(env: Record<string, string>): Promise<SoakServer> {
  const child: ChildProcess = fork(__filename, [], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    cwd: path.resolve(__dirname, '..', '..'),
    // Every soak client comes from 127.0.0.1: the per-address limit of connecting sessions would refuse them.
    env: { ...process.env, HTTP_PORT: '0', UDP_PORT: '0', BIND: '127.0.0.1', PUBLIC_IPS: '127.0.0.1', MAX_PENDING: '0', MAX_PENDING_PER_ADDRESS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');
  const replies: Array<(reply: Reply) => void> = [];
  const listening = new Promise<{ httpPort: number; udpPort: number }>((resolve, reject) => {
    child.on('message', (reply: Reply) => {
      if (reply.type === 'listening') resolve(reply);
      else replies.shift()?.(reply);
    });
    void exited.then(() => reject(new Error(`soak server exited before listening:\n${out}`)));
  });
  const ask = (request: Request): Promise<Reply> =>
    new Promise((resolve) => {
      replies.push(resolve);
      child.send(request);
    });
  const { httpPort, udpPort } = await listening;
  return {
    pid: child.pid!,
    base: `http://127.0.0.1:${httpPort}`,
    udpPort,
    probe: async () => ((await ask({ type: 'probe' })) as Extract<Reply, { type: 'probe' }>).probe,
    stop: async () => {
      if (child.exitCode !== null) return;
      await ask({ type: 'stop' });
      await exited;
    },
    output: () => out,
  };
}

async function main(): Promise<void> {
  const send = (reply: Reply): void => void process.send!(reply);
  trackTimers();
  const consent = Number(process.env['SOAK_CONSENT_TIMEOUT_MS'] ?? '');
  const config = loadConfig([], { ...process.env, HTTP_PORT: '1', UDP_PORT: '1' });
  // Port 0 lets the kernel choose (the settings insist on 1-65535).
  config.httpPort = Number(process.env['HTTP_PORT']);
  config.udpPort = Number(process.env['UDP_PORT']);
  // Logged (stderr, LOG_LEVEL) so that the soak can show the server's side of a failed cycle.
  const server = await OnecastServer.start(config, { log: createLogger(config.logLevel), ...(consent > 0 ? { consentTimeoutMs: consent } : {}) });
  process.on('message', (request: Request) => {
    if (request.type === 'probe') send({ type: 'probe', probe: probeServer(server) });
    else
      void server.close().then(() => {
        send({ type: 'stopped' });
        process.disconnect();
      });
  });
  send({ type: 'listening', httpPort: server.httpPort, udpPort: server.udpPort });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`soak server failed: ${String(error)}\n`);
    process.exit(1);
  });
}
