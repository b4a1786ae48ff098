// WEBHOOK_URL: the server's events (src/events.ts) as JSON POSTs to one URL, each
// {"id", "type", "time", "data"}, delivered in order per room (src/webhooks/deliveryQueue.ts).
// A 'viewer' event becomes a viewer.joined and/or a viewer.left: at most two requests per
// room a second, however many viewers come and go.
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { ServerEventMap } from '../events';
import type { Logger } from '../log';
import { systemClock, type Clock } from '../recorder/clock';
import { DEFAULT_POLICY, DeliveryQueue, type Attempt, type DeliveryCounters, type DeliveryPolicy } from './deliveryQueue';
import { httpAttempt } from './httpSender';

export type WebhookType = 'publish.started' | 'publish.ended' | 'viewer.joined' | 'viewer.left' | 'recording.finished';

/** How long pending deliveries may still take once the server is stopping. */
export const SHUTDOWN_DEADLINE_MS = 2_000;

export interface WebhookOptions {
  url: string;
  secret: string | undefined;
  log: Logger;
  clock?: Clock;
  policy?: DeliveryPolicy;
  /** How an attempt is made; an HTTP POST to `url` unless a test says otherwise. */
  attempt?: Attempt;
}

export class Webhooks {
  private readonly queue: DeliveryQueue;
  private readonly clock: Clock;

  constructor(events: EventEmitter<ServerEventMap>, options: WebhookOptions) {
    this.clock = options.clock ?? systemClock;
    const attempt = options.attempt ?? httpAttempt(options.url, options.secret, this.clock);
    this.queue = new DeliveryQueue(attempt, this.clock, options.log, options.policy ?? DEFAULT_POLICY);
    events.on('publish', ({ room, sessionId, startedAt }) => this.send(room, 'publish.started', { room, sessionId, startedAt }));
    events.on('unpublish', ({ room, sessionId, reason, startedAt, durationMs }) =>
      this.send(room, 'publish.ended', { room, sessionId, reason, startedAt, durationMs }),
    );
    events.on('viewer', ({ room, joined, left, viewers }) => {
      if (joined > 0) this.send(room, 'viewer.joined', { room, joined, viewers });
      if (left > 0) this.send(room, 'viewer.left', { room, left, viewers });
    });
    events.on('recording', (recording) => this.send(recording.room, 'recording.finished', recording));
  }

  get counters(): Readonly<DeliveryCounters> {
    return this.queue.counters;
  }

  /** Events not yet delivered or given up. */
  get queued(): number {
    return this.queue.queued;
  }

  /** Gives what is queued SHUTDOWN_DEADLINE_MS to go out (the publish.ended of the shutdown among it). */
  close(): Promise<void> {
    return this.queue.close(SHUTDOWN_DEADLINE_MS);
  }

  private send(room: string, type: WebhookType, data: object): void {
    const id = randomUUID();
    const body = JSON.stringify({ id, type, time: new Date(this.clock.now()).toISOString(), data });
    this.queue.enqueue({ id, room, type, body });
  }
}
