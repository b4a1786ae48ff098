// Webhooks on the wire: a local HTTP receiver gets a real OBS-like publisher's
// publish.started and publish.ended and a real libdatachannel viewer's viewer.joined and
// viewer.left, in order, signed; a receiver that fails its first answers gets every event
// later, still in order, and /metrics counts the failures; a shutdown's publish.ended goes
// out before close() returns; a recording's recording.finished names a playlist and an
// MP4 that the server then serves.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { ServerEventMap } from '../../src/events';
import { DataChannelViewer } from '../clients/dcViewer';
import { loadMedia, type TestMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { freePort } from '../support/process';
import { startServer, waitFor, type TestServer } from '../support/server';

const SECRET = 'webhook-test-secret-0123456789';
/** How old a signature's timestamp a receiver accepts (README, Webhooks). */
const TOLERANCE_SECONDS = 300;

interface Hook {
  id: string;
  type: string;
  time: string;
  data: Record<string, unknown>;
}

interface Received {
  hook: Hook;
  raw: string;
  headers: http.IncomingHttpHeaders;
  /** The status the receiver answered. */
  status: number;
}

/** A webhook receiver on loopback: answers each request with `respond(n)` (n counts from 1), keeps everything. */
class Receiver {
  readonly requests: Received[] = [];
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(respond: (n: number) => number = () => 204): Promise<Receiver> {
    const port = await freePort();
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const status = respond(receiver.requests.length + 1);
        receiver.requests.push({ hook: JSON.parse(raw) as Hook, raw, headers: req.headers, status });
        res.writeHead(status).end();
      });
    });
    const receiver = new Receiver(server, `http://127.0.0.1:${port}/hooks/onecast`);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return receiver;
  }

  /** The events delivered (answered 2xx), in the order they arrived. */
  get delivered(): Hook[] {
    return this.requests.filter((r) => r.status < 300).map((r) => r.hook);
  }

  until(what: string, done: (delivered: Hook[]) => boolean, timeoutMs = 10_000): Promise<Hook[]> {
    return waitFor(what, () => (done(this.delivered) ? this.delivered : undefined), timeoutMs);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** What a receiver does with Onecast-Signature (README, Webhooks): recompute, compare in constant time, check the age. */
function verifySignature(received: Received): void {
  const header = received.headers['onecast-signature'];
  assert.equal(typeof header, 'string', 'every request is signed');
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header as string);
  assert.ok(m, `signature header: ${String(header)}`);
  const expected = createHmac('sha256', SECRET).update(`${m[1]}.${received.raw}`).digest();
  assert.ok(timingSafeEqual(Buffer.from(m[2]!, 'hex'), expected), 'the signature matches the body');
  assert.ok(Math.abs(Date.now() / 1000 - Number(m[1])) < TOLERANCE_SECONDS, 'its timestamp is recent');
}

describe('webhooks', function () {
  this.timeout(60_000);
  let media: TestMedia;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    media = await loadMedia();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  after(() => cleanupDataChannel());

  async function serve(receiver: Receiver, env: Record<string, string> = {}): Promise<TestServer> {
    const server = await startServer({ WEBHOOK_URL: receiver.url, ...env });
    cleanups.push(() => server.close());
    return server;
  }

  async function receive(respond?: (n: number) => number): Promise<Receiver> {
    const receiver = await Receiver.start(respond);
    cleanups.push(() => receiver.close());
    return receiver;
  }

  it("sends an OBS-like publisher's and a viewer's events in order, signed, and emits them as the server's events", async () => {
    const receiver = await receive();
    const server = await serve(receiver, { WEBHOOK_SECRET: SECRET });
    const emitted: string[] = [];
    for (const name of ['publish', 'unpublish', 'viewer', 'recording'] as const) {
      server.server.events.on(name, (event: ServerEventMap[typeof name][0]) => emitted.push(`${name} ${JSON.stringify(event)}`));
    }
    const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/hooked`, media, stripCandidates: true });
    await publisher.waitConnected(5_000);
    await receiver.until('publish.started', (d) => d.length >= 1);
    const viewer = await DataChannelViewer.start(`${server.url}/whep/hooked`);
    await waitFor('video at the viewer', () => (viewer.video().length >= 20 ? true : undefined), 5_000);
    assert.equal(await viewer.stop(), 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await publisher.stop(), 200);
    const delivered = await receiver.until('publish.ended', (d) => d.some((h) => h.type === 'publish.ended'));

    assert.deepEqual(
      delivered.map((h) => h.type),
      ['publish.started', 'viewer.joined', 'viewer.left', 'publish.ended'],
    );
    const [started, joined, left, ended] = delivered as [Hook, Hook, Hook, Hook];
    const sessionId = new URL(publisher.resourceUrl).pathname.split('/').pop();
    assert.deepEqual(Object.keys(started.data).sort(), ['room', 'sessionId', 'startedAt']);
    assert.equal(started.data['room'], 'hooked');
    assert.equal(started.data['sessionId'], sessionId, "the WHIP session's id, as in its Location");
    assert.deepEqual(joined.data, { room: 'hooked', joined: 1, viewers: 1 });
    assert.deepEqual(left.data, { room: 'hooked', left: 1, viewers: 0 });
    assert.equal(ended.data['reason'], 'deleted');
    assert.equal(ended.data['sessionId'], sessionId);
    assert.equal(ended.data['startedAt'], started.data['startedAt']);
    const durationMs = ended.data['durationMs'] as number;
    const sinceStart = Date.parse(ended.time) - Date.parse(started.data['startedAt'] as string);
    assert.ok(durationMs >= 300 && Math.abs(durationMs - sinceStart) < 50, `durationMs ${durationMs}, from startedAt to the event's time ${sinceStart}`);
    assert.equal(new Set(delivered.map((h) => h.id)).size, 4, 'every event has its own id');
    for (const r of receiver.requests) {
      assert.equal(r.headers['content-type'], 'application/json');
      verifySignature(r);
    }
    assert.equal(receiver.requests.length, 4, 'one request per event, none repeated');
    assert.deepEqual(
      emitted.map((e) => e.split(' ')[0]),
      ['publish', 'viewer', 'viewer', 'unpublish'],
      'the library events are the same facts',
    );
  });

  it('retries a failing receiver with back-off: every event arrives later, in order, and /metrics counts the failed attempts', async () => {
    // The first two requests fail: 500, then 503.
    const receiver = await receive((n) => (n === 1 ? 500 : n === 2 ? 503 : 200));
    const server = await serve(receiver);
    const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/flaky`, media, stripCandidates: true });
    await publisher.waitConnected(5_000);
    // publish.ended is queued while publish.started waits for its retry.
    await waitFor('the first failed attempt', () => (receiver.requests.length >= 1 ? true : undefined));
    assert.equal(await publisher.stop(), 200);
    const delivered = await receiver.until('both events', (d) => d.length >= 2, 15_000);
    assert.deepEqual(
      receiver.requests.map((r) => `${r.hook.type} ${r.status}`),
      ['publish.started 500', 'publish.started 503', 'publish.started 200', 'publish.ended 200'],
    );
    assert.equal(new Set(receiver.requests.slice(0, 3).map((r) => r.hook.id)).size, 1, 'a retry sends the same event (same id)');
    assert.equal(delivered[1]!.data['reason'], 'deleted');
    assert.equal(receiver.requests[0]!.headers['onecast-signature'], undefined, 'no WEBHOOK_SECRET: unsigned');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const count = (result: string) => Number(new RegExp(`^onecast_webhook_deliveries_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    assert.deepEqual(['ok', 'retry', 'failed', 'dropped'].map(count), [2, 2, 0, 0]);
    assert.match(metrics, /^onecast_webhook_queued 0$/m);
  });

  it('says why a publish ended: a publisher that vanishes without a DELETE, and one replaced by a new WHIP POST', async () => {
    const receiver = await receive();
    // A short consent timeout: the vanished publisher is noticed in 3 s rather than 30.
    const server = await startServer({ WEBHOOK_URL: receiver.url }, { consentTimeoutMs: 3_000 });
    cleanups.push(() => server.close());
    const vanishing = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/gone`, media, stripCandidates: true });
    await vanishing.waitConnected(5_000);
    vanishing.abandon();
    const delivered = await receiver.until('publish.ended', (d) => d.some((h) => h.type === 'publish.ended'));
    console.log(`      vanished publisher: reason ${String(delivered[1]?.data['reason'])}`);
    assert.deepEqual(
      delivered.map((h) => [h.type, h.data['reason']]),
      [
        ['publish.started', undefined],
        ['publish.ended', 'timeout'],
      ],
    );

    const second = await receive();
    const other = await serve(second);
    const first = await ObsLikePublisher.start({ endpoint: `${other.url}/whip/taken`, media, stripCandidates: true });
    await first.waitConnected(5_000);
    await waitFor('media in the room', async () => ((await other.room('taken'))?.video?.keyframes ?? 0) >= 1 || undefined);
    // OBS crashed mid-stream: no media, no DELETE; restarted, it POSTs again and takes the room once the old one is idle.
    first.abandon();
    const next = await ObsLikePublisher.start({ endpoint: `${other.url}/whip/taken`, media, stripCandidates: true });
    await next.waitConnected(5_000);
    assert.equal(await next.stop(), 200);
    const events = await second.until('the second publish.ended', (d) => d.filter((h) => h.type === 'publish.ended').length >= 2);
    assert.deepEqual(
      events.map((h) => [h.type, h.data['reason']]),
      [
        ['publish.started', undefined],
        ['publish.ended', 'replaced'],
        ['publish.started', undefined],
        ['publish.ended', 'deleted'],
      ],
    );
    assert.notEqual(events[0]!.data['sessionId'], events[2]!.data['sessionId']);
  });

  it("sends the shutdown's publish.ended before close() returns", async () => {
    const receiver = await receive();
    const server = await startServer({ WEBHOOK_URL: receiver.url });
    const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/closing`, media, stripCandidates: true });
    await publisher.waitConnected(5_000);
    await receiver.until('publish.started', (d) => d.length >= 1);
    await server.close();
    assert.deepEqual(
      receiver.delivered.map((h) => [h.type, h.data['reason']]),
      [
        ['publish.started', undefined],
        ['publish.ended', 'shutdown'],
      ],
    );
    await publisher.stop();
  });

  it('sends recording.finished with RECORD=on: its playlist and MP4 paths answer 200', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-webhooks-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    const receiver = await receive();
    const server = await serve(receiver, { RECORD: 'on', RECORDINGS_DIR: dir });
    const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/taped`, media, stripCandidates: true });
    await publisher.waitConnected(5_000);
    await waitFor('3 keyframes recorded', async () => ((await server.room('taped'))?.video?.keyframes ?? 0) >= 4 || undefined, 10_000);
    assert.equal(await publisher.stop(), 200);
    const delivered = await receiver.until('recording.finished', (d) => d.some((h) => h.type === 'recording.finished'), 20_000);
    assert.deepEqual(
      delivered.map((h) => h.type),
      ['publish.started', 'publish.ended', 'recording.finished'],
    );
    const data = delivered[2]!.data;
    const id = data['id'] as string;
    assert.equal(data['room'], 'taped');
    assert.equal(data['reason'], 'unpublished');
    assert.equal(data['playlist'], `/recordings/taped/${id}/index.m3u8`);
    assert.equal(data['mp4'], `/recordings/taped/${id}.mp4`);
    assert.ok((data['durationMs'] as number) >= 1_000, `durationMs ${String(data['durationMs'])}`);
    const playlist = await fetch(`${server.url}${data['playlist'] as string}`);
    assert.equal(playlist.status, 200);
    assert.match(await playlist.text(), /#EXT-X-ENDLIST/);
    const mp4 = await fetch(`${server.url}${data['mp4'] as string}`);
    assert.equal(mp4.status, 200);
    const bytes = Buffer.from(await mp4.arrayBuffer());
    assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp', 'an MP4');
  });
});
