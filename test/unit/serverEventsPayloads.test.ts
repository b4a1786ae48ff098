// What the server's events look like to a listener and to a webhook receiver: viewer changes
// batched per room (at most one event a second), each event as its webhook JSON, and the
// signature checked as the README tells a receiver to check it.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ServerEventMap, ViewerEvent } from '../../src/events';
import { silentLogger } from '../../src/log';
import { ViewerBatches } from '../../src/serverEvents/viewerBatches';
import type { AttemptResult, Delivery } from '../../src/webhooks/deliveryQueue';
import { signatureHeader } from '../../src/webhooks/httpSender';
import { Webhooks } from '../../src/webhooks/webhooks';
import { FakeClock } from '../support/fakeClock';

describe('viewer events', () => {
  function setup() {
    const clock = new FakeClock();
    const told: ViewerEvent[] = [];
    return { clock, told, batches: new ViewerBatches(clock, (event) => told.push(event)) };
  }

  it('tells the first change at once, then at most one event per room a second with the counts since the last', () => {
    const { clock, told, batches } = setup();
    batches.changed('a', 1, 1);
    assert.deepEqual(told, [{ room: 'a', joined: 1, left: 0, viewers: 1 }]);
    // A burst: 50 join and 20 leave within the second.
    for (let i = 0; i < 50; i++) batches.changed('a', 1, 2 + i);
    for (let i = 0; i < 20; i++) batches.changed('a', -1, 50 - i);
    batches.changed('b', 1, 1);
    assert.equal(told.length, 2, 'room b is told at once, room a waits');
    clock.advance(999);
    assert.equal(told.length, 2);
    clock.advance(1);
    assert.deepEqual(told.slice(2), [{ room: 'a', joined: 50, left: 20, viewers: 31 }]);
    clock.advance(1000);
    assert.equal(told.length, 3, 'nothing changed: nothing told');
    clock.advance(5000);
    batches.changed('a', -1, 30);
    assert.deepEqual(told.at(-1), { room: 'a', joined: 0, left: 1, viewers: 30 }, 'after a quiet second, at once again');
    assert.equal(clock.timers, 1);
  });

  it('tells what is held back before another event of the room, the second still running', () => {
    const { clock, told, batches } = setup();
    batches.changed('a', 1, 1);
    batches.changed('a', -1, 0);
    batches.tellHeldBack('b');
    batches.tellHeldBack('a');
    assert.deepEqual(told.at(-1), { room: 'a', joined: 0, left: 1, viewers: 0 });
    batches.tellHeldBack('a');
    batches.changed('a', 1, 1);
    assert.equal(told.length, 2, 'the next change still waits for the second');
    clock.advance(1000);
    assert.deepEqual(told.at(-1), { room: 'a', joined: 1, left: 0, viewers: 1 });
  });

  it('flush tells what is held back and leaves no timer', () => {
    const { clock, told, batches } = setup();
    batches.changed('a', 1, 1);
    batches.changed('a', -1, 0);
    batches.changed('b', 1, 1);
    batches.flush();
    assert.deepEqual(told, [
      { room: 'a', joined: 1, left: 0, viewers: 1 },
      { room: 'b', joined: 1, left: 0, viewers: 1 },
      { room: 'a', joined: 0, left: 1, viewers: 0 },
    ]);
    assert.equal(clock.timers, 0);
  });
});

describe('webhook payloads', () => {
  const SECRET = 'whsec-0123456789abcdef';

  function setup() {
    const clock = new FakeClock(Date.parse('2026-01-02T03:04:05.000Z'));
    const events = new EventEmitter<ServerEventMap>();
    const sent: Delivery[] = [];
    const attempt = (delivery: Delivery): Promise<AttemptResult> => {
      sent.push(delivery);
      return Promise.resolve({ ok: true });
    };
    new Webhooks(events, { url: 'http://127.0.0.1:1/', secret: SECRET, log: silentLogger, clock, attempt });
    const bodies = () => sent.map((d) => JSON.parse(d.body) as { id: string; type: string; time: string; data: Record<string, unknown> });
    return { events, sent, bodies };
  }

  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('sends each event as {id, type, time, data}, a viewer event as viewer.joined and viewer.left', async () => {
    const { events, bodies } = setup();
    const startedAt = new Date('2026-01-02T03:00:00.000Z');
    events.emit('publish', { room: 'r', sessionId: 's1', startedAt });
    events.emit('viewer', { room: 'r', joined: 3, left: 1, viewers: 2 });
    events.emit('viewer', { room: 'r', joined: 0, left: 2, viewers: 0 });
    events.emit('unpublish', { room: 'r', sessionId: 's1', reason: 'deleted', startedAt, durationMs: 245_000 });
    events.emit('recording', {
      room: 'r',
      id: '20260102-030000-abcd1234',
      reason: 'unpublished',
      durationMs: 244_000,
      playlist: '/recordings/r/20260102-030000-abcd1234/index.m3u8',
      mp4: '/recordings/r/20260102-030000-abcd1234.mp4',
    });
    for (let i = 0; i < 6; i++) await settle();
    const got = bodies();
    assert.deepEqual(
      got.map((b) => [b.type, b.data]),
      [
        ['publish.started', { room: 'r', sessionId: 's1', startedAt: '2026-01-02T03:00:00.000Z' }],
        ['viewer.joined', { room: 'r', joined: 3, viewers: 2 }],
        ['viewer.left', { room: 'r', left: 1, viewers: 2 }],
        ['viewer.left', { room: 'r', left: 2, viewers: 0 }],
        ['publish.ended', { room: 'r', sessionId: 's1', reason: 'deleted', startedAt: '2026-01-02T03:00:00.000Z', durationMs: 245_000 }],
        [
          'recording.finished',
          {
            room: 'r',
            id: '20260102-030000-abcd1234',
            reason: 'unpublished',
            durationMs: 244_000,
            playlist: '/recordings/r/20260102-030000-abcd1234/index.m3u8',
            mp4: '/recordings/r/20260102-030000-abcd1234.mp4',
          },
        ],
      ],
    );
    assert.equal(new Set(got.map((b) => b.id)).size, got.length, 'every id is unique');
    for (const b of got) {
      assert.match(b.id, /^[0-9a-f-]{36}$/);
      assert.equal(b.time, '2026-01-02T03:04:05.000Z');
    }
  });

  it('signs "<t>.<body>" with HMAC-SHA256, as a receiver checks it', () => {
    const body = '{"id":"x","type":"publish.started","time":"2026-01-02T03:04:05.000Z","data":{}}';
    const header = signatureHeader(SECRET, 1767323045, body);
    // The receiver's side, as the README describes it.
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
    assert.ok(m, header);
    const expected = createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest();
    assert.ok(timingSafeEqual(Buffer.from(m[2]!, 'hex'), expected));
    assert.equal(m[1], '1767323045');
    assert.notEqual(signatureHeader(SECRET, 1767323045, body.replace('x', 'y')), header, 'another body, another signature');
    assert.notEqual(signatureHeader(SECRET, 1767323046, body), header, 'another time, another signature');
  });
});
