// The webhook delivery queue on a fake clock with a fake receiver whose every answer the
// test gives: order per room, rooms independent, retries with doubling back-off, giving
// up, the attempt timeout, bounded queues, the request slots, and the shutdown deadline.
import assert from 'node:assert/strict';
import { loggerTo, type LogFields } from '../../src/log';
import { DEFAULT_POLICY, DeliveryQueue, type AttemptResult, type Delivery, type DeliveryPolicy } from '../../src/webhooks/deliveryQueue';
import { FakeClock } from '../support/fakeClock';

interface Call {
  delivery: Delivery;
  signal: AbortSignal;
  at: number;
  answer(result: AttemptResult): void;
}

/** A receiver that answers only when the test says, each attempt in the order it came. */
class FakeReceiver {
  readonly calls: Call[] = [];
  constructor(private readonly clock: FakeClock) {}

  readonly attempt = (delivery: Delivery, signal: AbortSignal): Promise<AttemptResult> =>
    new Promise((resolve) => this.calls.push({ delivery, signal, at: this.clock.now(), answer: resolve }));

  /** The ids of the attempts made so far (a retry appears again). */
  get ids(): string[] {
    return this.calls.map((c) => c.delivery.id);
  }

  /** Answers the oldest unanswered attempt of `id`. */
  async answer(id: string, result: AttemptResult): Promise<void> {
    const call = this.calls.find((c) => c.delivery.id === id && !answered.has(c));
    assert.ok(call, `no open attempt of ${id} (attempts: ${this.ids.join(' ')})`);
    answered.add(call);
    call.answer(result);
    await settle();
  }
}
const answered = new WeakSet<Call>();

/** Lets the promise callbacks of answered attempts run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const delivery = (room: string, id: string): Delivery => ({ id, room, type: 'test', body: `{"id":"${id}"}` });
const OK: AttemptResult = { ok: true };
const FAIL: AttemptResult = { ok: false, error: 'HTTP 500' };

function setup(policy: Partial<DeliveryPolicy> = {}) {
  const clock = new FakeClock();
  const receiver = new FakeReceiver(clock);
  const lines: { level: string; msg: string; fields?: LogFields }[] = [];
  const log = loggerTo((level, msg, fields) => void lines.push({ level, msg, ...(fields !== undefined ? { fields } : {}) }));
  const queue = new DeliveryQueue(receiver.attempt, clock, log, { ...DEFAULT_POLICY, ...policy });
  return { clock, receiver, queue, lines };
}

describe('webhook delivery queue', () => {
  it("delivers a room's events one after another, in order, while other rooms go on", async () => {
    const { receiver, queue } = setup();
    queue.enqueue(delivery('a', 'a1'));
    queue.enqueue(delivery('a', 'a2'));
    queue.enqueue(delivery('b', 'b1'));
    assert.deepEqual(receiver.ids, ['a1', 'b1'], 'a2 waits for a1; b1 does not wait for room a');
    await receiver.answer('b1', OK);
    queue.enqueue(delivery('b', 'b2'));
    assert.deepEqual(receiver.ids, ['a1', 'b1', 'b2']);
    await receiver.answer('a1', OK);
    assert.deepEqual(receiver.ids, ['a1', 'b1', 'b2', 'a2']);
    await receiver.answer('a2', OK);
    await receiver.answer('b2', OK);
    assert.deepEqual(queue.counters, { ok: 4, retry: 0, failed: 0, dropped: 0 });
    assert.equal(queue.queued, 0);
  });

  it('retries a failed event after 1, 2, 4, … s up to 60 s, gives it up after 8 attempts, then sends the next; the room behind it waits, other rooms do not', async () => {
    const { clock, receiver, queue, lines } = setup();
    queue.enqueue(delivery('a', 'a1'));
    queue.enqueue(delivery('a', 'a2'));
    const start = clock.now();
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      await receiver.answer('a1', attempt % 2 === 1 ? { ok: false, error: 'fetch failed (ECONNREFUSED)' } : FAIL);
      if (attempt === 8) break;
      const before = receiver.calls.length;
      const failedAt = clock.now();
      // Room b is not held up by room a's retries.
      queue.enqueue(delivery('b', `b${attempt}`));
      await receiver.answer(`b${attempt}`, OK);
      clock.advance(1);
      while (receiver.calls.filter((c) => c.delivery.id === 'a1').length === attempt) clock.advance(1);
      waits.push(clock.now() - failedAt);
      assert.equal(receiver.calls.length, before + 2, 'one retry of a1 (after b)');
      assert.ok(!receiver.ids.includes('a2'), 'a2 waits while a1 is retried');
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 32000, 60000]);
    assert.equal(clock.now() - start, 123_000);
    assert.deepEqual(receiver.ids.at(-1), 'a2', 'given up, a1 makes way for a2');
    assert.deepEqual(queue.counters, { ok: 7, retry: 7, failed: 1, dropped: 0 });
    assert.equal(lines.filter((l) => l.level === 'warn' && l.msg.startsWith('webhook: delivery failed')).length, 7, 'each failed attempt is logged');
    const gaveUp = lines.find((l) => l.level === 'error');
    assert.match(gaveUp!.msg, /given up/);
    assert.deepEqual(gaveUp!.fields, { room: 'a', event: 'test', id: 'a1', attempts: 8, error: 'HTTP 500' });
  });

  it('a retry that succeeds delivers the event once and the room goes on', async () => {
    const { clock, receiver, queue } = setup();
    queue.enqueue(delivery('a', 'a1'));
    queue.enqueue(delivery('a', 'a2'));
    await receiver.answer('a1', FAIL);
    clock.advance(1000);
    await receiver.answer('a1', OK);
    assert.deepEqual(receiver.ids, ['a1', 'a1', 'a2']);
    assert.deepEqual(queue.counters, { ok: 1, retry: 1, failed: 0, dropped: 0 });
  });

  it('aborts an attempt with no answer after 5 s and counts it as failed', async () => {
    const { clock, receiver, queue, lines } = setup();
    queue.enqueue(delivery('a', 'a1'));
    clock.advance(4_999);
    assert.equal(receiver.calls[0]!.signal.aborted, false);
    clock.advance(1);
    assert.equal(receiver.calls[0]!.signal.aborted, true, 'the request is aborted');
    await settle();
    assert.equal(queue.counters.retry, 1);
    assert.equal(lines[0]!.fields!['error'], 'no answer within 5000 ms');
    // The late answer of the aborted attempt changes nothing.
    receiver.calls[0]!.answer(OK);
    await settle();
    assert.equal(queue.counters.ok, 0);
    clock.advance(1000);
    assert.equal(receiver.calls.length, 2, 'retried after 1 s');
  });

  it("drops a room's oldest waiting event past its bound, and the oldest of all past the total bound, logged and counted", async () => {
    const { receiver, queue, lines } = setup({ maxQueuedPerRoom: 3, maxQueued: 4 });
    for (const id of ['a1', 'a2', 'a3', 'a4', 'a5']) queue.enqueue(delivery('a', id));
    assert.equal(queue.counters.dropped, 1, 'a1 is being sent; a2 waited longest of the four waiting');
    assert.match(lines.at(-1)!.msg, /dropped.*queue is full/);
    assert.equal(lines.at(-1)!.fields!['id'], 'a2');
    queue.enqueue(delivery('b', 'b1'));
    queue.enqueue(delivery('b', 'b2'));
    // b1 is being sent; a3 a4 a5 b2 wait: four, the total bound. One more goes over it.
    queue.enqueue(delivery('b', 'b3'));
    assert.equal(queue.counters.dropped, 2);
    assert.equal(lines.at(-1)!.fields!['id'], 'a3', 'the oldest waiting event of all');
    assert.equal(queue.queued, 6);
    for (const id of ['a1', 'a4', 'a5']) await receiver.answer(id, OK);
    for (const id of ['b1', 'b2', 'b3']) await receiver.answer(id, OK);
    assert.deepEqual(receiver.ids, ['a1', 'b1', 'a4', 'a5', 'b2', 'b3']);
    assert.equal(queue.queued, 0);
  });

  it('sends at most maxConcurrent requests at once, the next room in line taking the first free slot', async () => {
    const { receiver, queue } = setup({ maxConcurrent: 2 });
    for (const room of ['a', 'b', 'c']) queue.enqueue(delivery(room, `${room}1`));
    assert.deepEqual(receiver.ids, ['a1', 'b1']);
    await receiver.answer('b1', OK);
    assert.deepEqual(receiver.ids, ['a1', 'b1', 'c1']);
  });

  it("never goes past maxConcurrent when a room's next event follows the one that freed a slot, nor past rooms already waiting", async () => {
    const { receiver, queue } = setup({ maxConcurrent: 2 });
    for (const room of ['a', 'b', 'c']) for (const n of [1, 2]) queue.enqueue(delivery(room, `${room}${n}`));
    assert.deepEqual(receiver.ids, ['a1', 'b1']);
    await receiver.answer('a1', OK);
    // a2 is due now, but c1 has waited longer for a slot; two requests, no more.
    assert.deepEqual(receiver.ids, ['a1', 'b1', 'c1']);
    await receiver.answer('b1', OK);
    assert.deepEqual(receiver.ids, ['a1', 'b1', 'c1', 'a2']);
    await receiver.answer('c1', OK);
    assert.deepEqual(receiver.ids, ['a1', 'b1', 'c1', 'a2', 'b2']);
  });

  it('on close, retries at once what waits for a back-off, and resolves when everything is delivered', async () => {
    const { clock, receiver, queue } = setup();
    queue.enqueue(delivery('a', 'a1'));
    queue.enqueue(delivery('a', 'a2'));
    await receiver.answer('a1', FAIL);
    let closed = false;
    const closing = queue.close(2_000).then(() => (closed = true));
    assert.deepEqual(receiver.ids, ['a1', 'a1'], 'retried at once, not after its 1 s back-off');
    await receiver.answer('a1', OK);
    await receiver.answer('a2', OK);
    await closing;
    assert.equal(closed, true);
    assert.equal(clock.timers, 0, 'no timer left behind');
  });

  it('on close, gives queued events 2 s: then aborts what is under way and drops the rest, and drops what comes after', async () => {
    const { clock, receiver, queue, lines } = setup();
    queue.enqueue(delivery('a', 'a1'));
    queue.enqueue(delivery('a', 'a2'));
    let closed = false;
    const closing = queue.close(2_000).then(() => (closed = true));
    clock.advance(1_999);
    await settle();
    assert.equal(closed, false);
    clock.advance(1);
    await closing;
    assert.equal(receiver.calls[0]!.signal.aborted, true);
    assert.deepEqual(queue.counters, { ok: 0, retry: 0, failed: 0, dropped: 2 });
    assert.deepEqual(
      lines.map((l) => l.fields!['id']),
      ['a1', 'a2'],
    );
    queue.enqueue(delivery('a', 'a3'));
    assert.equal(queue.counters.dropped, 3);
    assert.equal(receiver.calls.length, 1);
  });

  it('closes at once with nothing queued', async () => {
    const { clock, queue } = setup();
    await queue.close(2_000);
    assert.equal(clock.timers, 0);
  });
});
