// The one connection to the cluster's Redis (node-redis). It reconnects by itself, and
// while it is down every command fails at once (no offline queue) instead of waiting: a
// WHIP POST that needs the directory gets its 503 now, not when Redis is back. Each
// outage is logged once, when it starts and when it ends.
import { createClient } from 'redis';
import type { Logger } from '../log';

/** Longest wait between two connection attempts while Redis is away. */
const MAX_RECONNECT_DELAY_MS = 1_000;
/** A connection attempt fails after this (and a node starting without Redis waits this long for it). */
const CONNECT_TIMEOUT_MS = 2_000;

/** A Redis command's arguments, command first; its reply as Redis sends it. */
export type Command = (args: string[]) => Promise<unknown>;

export class DirectoryConnection {
  private readonly client: ReturnType<typeof createClient>;
  private readonly onReady: Array<() => void> = [];
  private wasUp = false;
  private closed = false;

  constructor(
    url: string,
    private readonly log: Logger,
  ) {
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS) },
    });
    this.client.on('ready', () => {
      this.wasUp = true;
      this.log.info('cluster directory connected', { redis: redactedUrl(url) });
      for (const listener of this.onReady) listener();
    });
    // node-redis emits each failed attempt; one line per outage is enough.
    this.client.on('error', (error: unknown) => {
      if (this.closed || !this.wasUp) return;
      this.wasUp = false;
      this.log.warn('cluster directory unreachable: serving local rooms only until it is back', { redis: redactedUrl(url), error: String(error) });
    });
  }

  /**
   * Connects; when Redis cannot be reached now, says so and goes on trying in the
   * background, so a node starts (and serves its own rooms) without its directory.
   */
  async open(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const ready = new Promise<boolean>((resolve) => {
      this.client.once('ready', () => resolve(true));
      timer = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
    });
    // It resolves once connected, retrying meanwhile; it rejects only when closed first.
    this.client.connect().catch((error: unknown) => this.log.debug('cluster directory: connecting stopped', { error: String(error) }));
    if (!(await ready)) this.log.warn('cluster directory unreachable at start: serving local rooms only until it is reached');
    clearTimeout(timer);
  }

  /** Runs `listener` each time the connection is (again) ready. */
  whenReady(listener: () => void): void {
    this.onReady.push(listener);
  }

  get up(): boolean {
    return this.client.isReady;
  }

  readonly command: Command = (args) => this.client.sendCommand(args);

  async close(): Promise<void> {
    this.closed = true;
    if (!this.client.isOpen) return;
    // Connected, what was sent (a lease let go) is answered first; still trying, it stops at once.
    if (this.client.isReady) await this.client.close();
    else this.client.destroy();
  }
}

/** The URL without its password, for the log. */
function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.href;
}
