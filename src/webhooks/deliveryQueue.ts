// Webhook deliveries, in order per room: each room has its own queue, and its next event
// goes only once the one before it was delivered or given up; rooms do not wait for each
// other. A failed attempt (not 2xx, timed out, network error) is retried after a back-off
// that doubles from RETRY_FIRST_MS to RETRY_MAX_MS, and the event is given up after
// MAX_ATTEMPTS attempts. Queues are bounded: past a bound the oldest waiting event goes.
// Nothing here waits for the network on the caller's behalf: enqueue() returns at once.
import type { Logger } from '../log';
import type { Clock, Timer } from '../recorder/clock';

export interface Delivery {
  /** The event's unique id (the body's "id"). */
  id: string;
  /** Deliveries of one room keep their order. */
  room: string;
  type: string;
  /** The JSON body, as it is sent on every attempt. */
  body: string;
}

/** One attempt's outcome: delivered, or why not (an HTTP status, a network error). */
export type AttemptResult = { ok: true } | { ok: false; error: string };

/** Makes one attempt; `signal` aborts it (its timeout, or the shutdown deadline). */
export type Attempt = (delivery: Delivery, signal: AbortSignal) => Promise<AttemptResult>;

export interface DeliveryPolicy {
  /** One attempt's time limit. */
  timeoutMs: number;
  /** The wait before the first retry; each further one waits twice as long, up to retryMaxMs. */
  retryFirstMs: number;
  retryMaxMs: number;
  /** Attempts of one event before it is given up (and the room's next one goes). */
  maxAttempts: number;
  /** Events waiting in one room's queue, and in all of them together. */
  maxQueuedPerRoom: number;
  maxQueued: number;
  /** Requests under way at once, all rooms together. */
  maxConcurrent: number;
}

export const DEFAULT_POLICY: DeliveryPolicy = {
  timeoutMs: 5_000,
  retryFirstMs: 1_000,
  retryMaxMs: 60_000,
  // 1 + 2 + 4 + … + 60 s: the 8th attempt comes about 2 minutes after the first.
  maxAttempts: 8,
  maxQueuedPerRoom: 100,
  maxQueued: 10_000,
  maxConcurrent: 8,
};

/** What became of deliveries so far (onecast_webhook_deliveries_total's results). */
export interface DeliveryCounters {
  /** Events delivered (a 2xx). */
  ok: number;
  /** Attempts that failed and will be retried. */
  retry: number;
  /** Events given up after their last attempt failed. */
  failed: number;
  /** Events never delivered because a queue was full, or the shutdown deadline came first. */
  dropped: number;
}

/** The event a room is on: being attempted, or waiting for its retry. */
interface Current {
  delivery: Delivery;
  attempts: number;
  /** The back-off before the next attempt, while it runs. */
  retryTimer: Timer | undefined;
  /** The attempt under way, while it is. */
  controller: AbortController | undefined;
}

interface Lane {
  room: string;
  waiting: { delivery: Delivery; seq: number }[];
  current: Current | undefined;
}

export class DeliveryQueue {
  readonly counters: DeliveryCounters = { ok: 0, retry: 0, failed: 0, dropped: 0 };
  private readonly lanes = new Map<string, Lane>();
  /** Lanes whose next attempt is due but waits for a free request slot, first come first served. */
  private readonly ready: Lane[] = [];
  private inFlight = 0;
  private waitingCount = 0;
  private seq = 0;
  /** close() has begun: back-offs are cut short; past its deadline nothing more is attempted. */
  private closing = false;
  private closed = false;
  private drained: (() => void) | undefined;
  /** close()'s one drain, however often it is called. */
  private draining: Promise<void> | undefined;

  constructor(
    private readonly attempt: Attempt,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly policy: DeliveryPolicy = DEFAULT_POLICY,
  ) {}

  /** Events not yet delivered or given up: waiting, being attempted, or waiting to be retried. */
  get queued(): number {
    let current = 0;
    for (const lane of this.lanes.values()) if (lane.current !== undefined) current++;
    return this.waitingCount + current;
  }

  /** Queues `delivery` behind its room's earlier events; returns at once. */
  enqueue(delivery: Delivery): void {
    if (this.closed) {
      this.drop(delivery, 'the server has stopped');
      return;
    }
    let lane = this.lanes.get(delivery.room);
    if (lane === undefined) {
      lane = { room: delivery.room, waiting: [], current: undefined };
      this.lanes.set(delivery.room, lane);
    }
    lane.waiting.push({ delivery, seq: this.seq++ });
    this.waitingCount++;
    if (lane.waiting.length > this.policy.maxQueuedPerRoom) this.dropOldest(lane);
    else if (this.waitingCount > this.policy.maxQueued) this.dropOldest(this.oldestLane());
    this.next(lane);
  }

  /**
   * The server is stopping: what is queued gets until `deadlineMs` from now. Retries are
   * made at once, without back-off (still at most maxAttempts); at the deadline, attempts
   * under way are aborted and what is left is dropped. Resolves when every queue is empty or then.
   */
  close(deadlineMs: number): Promise<void> {
    this.draining ??= this.drain(deadlineMs);
    return this.draining;
  }

  private drain(deadlineMs: number): Promise<void> {
    this.closing = true;
    for (const lane of this.lanes.values()) {
      if (lane.current?.retryTimer === undefined) continue;
      this.clock.clearTimeout(lane.current.retryTimer);
      lane.current.retryTimer = undefined;
      this.due(lane);
    }
    return new Promise<void>((resolve) => {
      const deadline = this.clock.setTimeout(() => this.giveUpAll(), deadlineMs);
      this.drained = () => {
        this.clock.clearTimeout(deadline);
        this.closed = true;
        resolve();
      };
      this.checkDrained();
    });
  }

  /** Starts the lane's next event, if it is not on one already. */
  private next(lane: Lane): void {
    if (lane.current !== undefined) return;
    const head = lane.waiting.shift();
    if (head === undefined) {
      this.lanes.delete(lane.room);
      this.checkDrained();
      return;
    }
    this.waitingCount--;
    lane.current = { delivery: head.delivery, attempts: 0, retryTimer: undefined, controller: undefined };
    this.due(lane);
  }

  /** The lane's current event is due for an attempt: now, or when a request slot frees. */
  private due(lane: Lane): void {
    // Behind the rooms already waiting for a slot, never past them.
    this.ready.push(lane);
    this.pump();
  }

  /** Fills the free request slots from the rooms waiting, oldest first. */
  private pump(): void {
    while (this.inFlight < this.policy.maxConcurrent && this.ready.length > 0) this.send(this.ready.shift()!);
  }

  private send(lane: Lane): void {
    const current = lane.current;
    if (current === undefined || this.closed) return;
    this.inFlight++;
    current.attempts++;
    const controller = new AbortController();
    current.controller = controller;
    let settled = false;
    const settle = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      this.clock.clearTimeout(timeout);
      current.controller = undefined;
      this.inFlight--;
      this.settled(lane, current, result);
      this.pump();
    };
    const timeout = this.clock.setTimeout(() => {
      controller.abort();
      settle({ ok: false, error: `no answer within ${this.policy.timeoutMs} ms` });
    }, this.policy.timeoutMs);
    this.attempt(current.delivery, controller.signal).then(settle, (error: unknown) => settle({ ok: false, error: String(error) }));
  }

  private settled(lane: Lane, current: Current, result: AttemptResult): void {
    if (lane.current !== current) return; // given up at the shutdown deadline meanwhile
    const { delivery, attempts } = current;
    const fields = { room: delivery.room, event: delivery.type, id: delivery.id, attempts };
    if (result.ok) {
      this.counters.ok++;
    } else if (attempts >= this.policy.maxAttempts) {
      this.counters.failed++;
      this.log.error('webhook: event given up, its last attempt failed; the room goes on with its next event', { ...fields, error: result.error });
    } else {
      this.counters.retry++;
      const inMs = Math.min(this.policy.retryFirstMs * 2 ** (attempts - 1), this.policy.retryMaxMs);
      this.log.warn('webhook: delivery failed; retrying', { ...fields, error: result.error, inMs });
      current.retryTimer = this.clock.setTimeout(
        () => {
          current.retryTimer = undefined;
          this.due(lane);
        },
        this.closing ? 0 : inMs,
      );
      return;
    }
    lane.current = undefined;
    this.next(lane);
  }

  private dropOldest(lane: Lane): void {
    const oldest = lane.waiting.shift();
    if (oldest === undefined) return;
    this.waitingCount--;
    this.drop(oldest.delivery, 'its queue is full');
  }

  /** The lane whose first waiting event is the oldest of all (only when over maxQueued). */
  private oldestLane(): Lane {
    let oldest: Lane | undefined;
    for (const lane of this.lanes.values()) {
      const head = lane.waiting[0];
      if (head !== undefined && (oldest === undefined || head.seq < oldest.waiting[0]!.seq)) oldest = lane;
    }
    return oldest!;
  }

  private drop(delivery: Delivery, why: string): void {
    this.counters.dropped++;
    this.log.error(`webhook: event dropped, never delivered: ${why}`, { room: delivery.room, event: delivery.type, id: delivery.id });
  }

  /** The shutdown deadline: attempts under way are aborted, everything left is dropped. */
  private giveUpAll(): void {
    this.closed = true;
    this.ready.length = 0;
    for (const lane of this.lanes.values()) {
      const current = lane.current;
      lane.current = undefined;
      if (current !== undefined) {
        this.clock.clearTimeout(current.retryTimer);
        current.controller?.abort();
        this.drop(current.delivery, 'the shutdown deadline came first');
      }
      for (const { delivery } of lane.waiting) this.drop(delivery, 'the shutdown deadline came first');
      this.waitingCount -= lane.waiting.length;
      lane.waiting.length = 0;
    }
    this.lanes.clear();
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.drained !== undefined && this.lanes.size === 0) this.drained();
  }
}
