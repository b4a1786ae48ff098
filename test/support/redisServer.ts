// A redis-server of the test's own, on a free loopback port in a temporary folder, with
// nothing saved to disk (the cluster keeps nothing in Redis it cannot re-assert), and a
// plain client to look at its keys. kill() and restart() let a test take it away and bring
// it back on the same port; pause() and resume() make it silent without closing anything.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { freePort } from './process';

const clientOf = (url: string) => createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: false } });
type Client = ReturnType<typeof clientOf>;

export class RedisServer {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<RedisServer> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'onecast-redis-'));
    // A port free a moment ago may be taken meanwhile (by a client socket of the other test
    // lane: ephemeral ports come from the same range): then another one.
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(await freePort(), dir);
      try {
        await server.restart();
        return server;
      } catch (error) {
        if (attempt >= 5 || !/Address already in use/.test(String(error))) throw error;
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server (again) on the same port, and resolves once it answers PING. */
  async restart(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}:\n${this.output}`);
      if (await this.answersPing()) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING in 10 s:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: Redis gone at once, as in a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP, then SIGCONT: a Redis whose connections stay open but answer nothing, as behind a partition. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Runs `use` with a fresh client of this server (closed afterwards). */
  async query<T>(use: (client: Client) => Promise<T>): Promise<T> {
    const client = clientOf(this.url);
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await use(client);
    } finally {
      client.destroy();
    }
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async answersPing(): Promise<boolean> {
    try {
      return (await this.query((c) => c.ping())) === 'PONG';
    } catch {
      return false;
    }
  }
}
