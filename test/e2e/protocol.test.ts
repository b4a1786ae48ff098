// WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) around the offer and answer:
// ICE servers in Link headers, OPTIONS and CORS, GET/HEAD and 405, unknown sessions,
// MAX_SESSIONS and MAX_PUBLISHERS, and the WHEP server-sent-events extension read by real clients
// (libdatachannel viewers, an OBS-like publisher, Chromium's EventSource).
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { EVENTS_REL } from '../../src/http/events';
import { launchChromium } from '../support/browser';
import { DataChannelViewer } from '../clients/dcViewer';
import { assertProblem, parseLinks } from '../support/http';
import { loadMedia, type TestMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { startServer, waitFor, type TestServer } from '../support/server';
import { SseReader, type SseEvent } from '../support/sse';

const fixture = (name: string) => readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', name), 'utf8');
const OBS_OFFER = fixture('obs.sdp');
const RECVONLY_OFFER = fixture('chromium-recvonly.sdp');
const NO_SESSION = '0'.repeat(32);
const ALL_EVENTS = ['active', 'inactive', 'viewercount'];
/** Counts the timers created from code in files matching `files` that are still pending. */
function timersFrom(files: RegExp): { readonly live: number; stop(): void } {
  const live = new Set<number>();
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 30;
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = limit;
      if (files.test(stack)) live.add(id);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return {
    get live() {
      return live.size;
    },
    stop: () => hook.disable(),
  };
}

const viewercount = (n: number) => (e: SseEvent) => e.event === 'viewercount' && e.data === `{"viewercount":${n}}`;

describe('WHIP/WHEP protocol', function () {
  this.timeout(90_000);

  describe('HTTP around the offer and answer', () => {
    const PUBLISH = 'publish-token';
    const PLAY = 'play-token';
    let server: TestServer;
    let http: ReturnType<typeof request>;

    before(async () => {
      server = await startServer({
        PUBLISH_TOKEN: PUBLISH,
        PLAY_TOKEN: PLAY,
        ICE_SERVERS: 'stun:stun.example.net:3478, turn:alice:s%40cret%2C1@turn.example.net:3478?transport=udp,turns:bob:pw@[2001:db8::1]:5349?transport=tcp',
      });
      http = request(server.url);
    });

    after(() => server.close());

    const ICE_LINKS = [
      { target: 'stun:stun.example.net:3478', params: { rel: 'ice-server' } },
      {
        target: 'turn:turn.example.net:3478?transport=udp',
        params: { rel: 'ice-server', username: 'alice', credential: 's@cret,1', 'credential-type': 'password' },
      },
      { target: 'turns:[2001:db8::1]:5349?transport=tcp', params: { rel: 'ice-server', username: 'bob', credential: 'pw', 'credential-type': 'password' } },
    ];

    const publish = (room: string) =>
      http.post(`/whip/${room}`).set('Content-Type', 'application/sdp').set('Authorization', `Bearer ${PUBLISH}`).send(OBS_OFFER);
    const play = (room: string) =>
      http.post(`/whep/${room}`).set('Content-Type', 'application/sdp').set('Authorization', `Bearer ${PLAY}`).send(RECVONLY_OFFER);
    const end = (location: string, token: string) => http.delete(location).set('Authorization', `Bearer ${token}`);
    const postEvents = (location: string, body: string | undefined, type = 'application/json') => {
      const req = http.post(`${location}/events`).set('Authorization', `Bearer ${PLAY}`);
      return body === undefined ? req : req.set('Content-Type', type).send(body);
    };

    it('offers every ICE server in Link headers of the WHIP and WHEP 201, TURN credentials as attributes', async () => {
      const pub = await publish('ice');
      assert.equal(pub.status, 201);
      assert.deepEqual(parseLinks(pub.headers['link']), ICE_LINKS);
      const view = await play('ice');
      assert.equal(view.status, 201);
      const links = parseLinks(view.headers['link']);
      assert.deepEqual(
        links.filter((l) => l.params['rel'] === 'ice-server'),
        ICE_LINKS,
      );
      assert.deepEqual(
        links.filter((l) => l.params['rel'] !== 'ice-server'),
        [{ target: `${view.headers['location']}/events`, params: { rel: EVENTS_REL, events: 'active,inactive,viewercount' } }],
        'and the WHEP 201 announces the server-sent-events extension',
      );
      assert.equal((await end(view.headers['location']!, PLAY)).status, 200);
      assert.equal((await end(pub.headers['location']!, PUBLISH)).status, 200);
    });

    it('answers OPTIONS on every resource with 204, Allow and CORS; endpoints add Accept-Post, and ICE servers unless it is a preflight', async () => {
      for (const endpoint of ['/whip/opt', '/whep/opt']) {
        const plain = await http.options(endpoint);
        assert.equal(plain.status, 204, `OPTIONS ${endpoint} without Origin`);
        assert.equal(plain.headers['allow'], 'POST, GET, HEAD, OPTIONS');
        assert.equal(plain.headers['accept-post'], 'application/sdp');
        assert.equal(plain.headers['access-control-allow-origin'], '*');
        assert.deepEqual(parseLinks(plain.headers['link']), ICE_LINKS);
        const exposed = plain.headers['access-control-expose-headers']!.split(/,\s*/);
        for (const h of ['Location', 'ETag', 'Link', 'Accept-Post', 'Retry-After']) assert.ok(exposed.includes(h), `${h} is exposed`);

        const preflight = await http
          .options(endpoint)
          .set('Origin', 'http://player.example')
          .set('Access-Control-Request-Method', 'POST')
          .set('Access-Control-Request-Headers', 'authorization, content-type');
        assert.equal(preflight.status, 204);
        assert.equal(preflight.headers['access-control-allow-origin'], '*');
        assert.equal(preflight.headers['access-control-allow-methods'], 'POST, GET, HEAD, OPTIONS');
        assert.match(preflight.headers['access-control-allow-headers']!, /Authorization, Content-Type, If-Match/);
        assert.equal(preflight.headers['accept-post'], 'application/sdp');
        assert.equal(preflight.headers['link'], undefined, 'no ICE servers on a CORS preflight (RFC 9725 §4.6)');
      }
      const pub = await publish('opt');
      const resource = await http.options(pub.headers['location']!);
      assert.equal(resource.status, 204);
      assert.equal(resource.headers['allow'], 'PATCH, DELETE, GET, HEAD, OPTIONS');
      assert.equal(resource.headers['access-control-allow-methods'], 'PATCH, DELETE, GET, HEAD, OPTIONS');
      assert.equal(resource.headers['accept-post'], undefined, 'a session resource takes no POST');
      assert.equal((await http.options(`/whep/opt/${NO_SESSION}/events`)).headers['allow'], 'POST, OPTIONS');
      assert.equal((await http.options(`/whep/opt/${NO_SESSION}/events/${NO_SESSION}`)).headers['allow'], 'GET, HEAD, DELETE, OPTIONS');
      await end(pub.headers['location']!, PUBLISH);
    });

    it('answers GET and HEAD with 2xx and no content on endpoints and sessions, and leaves the pages alone', async () => {
      for (const endpoint of ['/whip/get', '/whep/get']) {
        const get = await http.get(endpoint);
        assert.equal(get.status, 200, `GET ${endpoint}`);
        assert.equal(get.text, '');
        assert.equal(get.headers['content-length'], '0');
        // WHEP's discovery: HEAD tells a player the URL takes SDP offers.
        const head = await http.head(endpoint);
        assert.equal(head.status, 200);
        assert.match(head.headers['content-type']!, /^application\/sdp/);
        assert.equal(head.headers['content-type'], get.headers['content-type']);
      }
      const pub = await publish('get');
      for (const method of ['get', 'head'] as const) {
        const res = await http[method](pub.headers['location']!);
        assert.equal(res.status, 204, `${method} on the session`);
      }
      assertProblem(await http.get(`/whip/get/${NO_SESSION}`), 404, /Nothing is served/);
      await end(pub.headers['location']!, PUBLISH);
      assertProblem(await http.get(pub.headers['location']!), 404, /Nothing is served/);
      for (const page of ['/whip/', '/whep/']) {
        const res = await http.get(page);
        assert.equal(res.status, 200, page);
        assert.match(res.headers['content-type']!, /^text\/html/);
      }
    });

    it('answers 405 with Allow and a problem for methods a resource does not take', async () => {
      const pub = await publish('m405');
      const session = pub.headers['location']!;
      const cases: [method: 'put' | 'delete' | 'patch' | 'post' | 'get', url: string, allow: string][] = [
        ['put', '/whip/m405', 'POST, GET, HEAD, OPTIONS'],
        ['delete', '/whip/m405', 'POST, GET, HEAD, OPTIONS'],
        ['patch', '/whep/m405', 'POST, GET, HEAD, OPTIONS'],
        ['post', session, 'PATCH, DELETE, GET, HEAD, OPTIONS'],
        ['put', `/whep/m405/${NO_SESSION}`, 'PATCH, DELETE, GET, HEAD, OPTIONS'],
        ['get', `/whep/m405/${NO_SESSION}/events`, 'POST, OPTIONS'],
        ['put', `/whep/m405/${NO_SESSION}/events/${NO_SESSION}`, 'GET, HEAD, DELETE, OPTIONS'],
      ];
      for (const [method, url, allow] of cases) {
        const res = await http[method](url).set('Authorization', `Bearer ${PUBLISH}`);
        assertProblem(res, 405, new RegExp(`takes ${allow}; not ${method.toUpperCase()}`));
        assert.equal(res.headers['allow'], allow, `${method} ${url}`);
      }
      assert.equal((await http.get(session)).status, 204, 'a refused method leaves the session alone');
      await end(session, PUBLISH);
    });

    it('answers 404 for sessions that do not exist, under either protocol, another room or the other protocol', async () => {
      const pub = await publish('nf');
      const view = await play('nf');
      const whepId = view.headers['location']!.split('/').pop()!;
      const frag = 'a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwxyz\r\n';
      assertProblem(await end(`/whip/nf/${NO_SESSION}`, PUBLISH), 404, /no WHIP session/);
      assertProblem(await end(`/whep/nf/${NO_SESSION}`, PLAY), 404, /no WHEP session/);
      assertProblem(
        await http
          .patch(`/whep/nf/${NO_SESSION}`)
          .set('Authorization', `Bearer ${PLAY}`)
          .set('Content-Type', 'application/trickle-ice-sdpfrag')
          .set('If-Match', '*')
          .send(frag),
        404,
        /no WHEP session/,
      );
      assertProblem(await end(`/whip/nf/${whepId}`, PUBLISH), 404, /no WHIP session/);
      assertProblem(await end(`/whep/other/${whepId}`, PLAY), 404, /no WHEP session/);
      assertProblem(await postEvents(`/whep/nf/${NO_SESSION}`, JSON.stringify(ALL_EVENTS)), 404, /no WHEP session/);
      assert.equal((await http.get(view.headers['location']!)).status, 204, 'the real session is untouched');
      await end(view.headers['location']!, PLAY);
      await end(pub.headers['location']!, PUBLISH);
    });

    it('gives each session an absolute-path Location and its own strong ETag', async () => {
      const a = await publish('loc-a');
      const b = await publish('loc-b');
      const v = await play('loc-a');
      assert.match(a.headers['location']!, /^\/whip\/loc-a\/[0-9a-f]{32}$/);
      assert.match(b.headers['location']!, /^\/whip\/loc-b\/[0-9a-f]{32}$/);
      assert.match(v.headers['location']!, /^\/whep\/loc-a\/[0-9a-f]{32}$/);
      const tags = [a, b, v].map((r) => r.headers['etag']!);
      for (const tag of tags) assert.match(tag, /^"[^"]+"$/, 'quoted and not weak (W/)');
      assert.equal(new Set(tags).size, 3);
      // DELETE needs no ICE session match, so an entity-tag on it is ignored (RFC 9725 §4.3.1).
      assert.equal((await end(v.headers['location']!, PLAY).set('If-Match', '"not-the-etag"')).status, 200);
      await end(a.headers['location']!, PUBLISH);
      await end(b.headers['location']!, PUBLISH);
    });

    it('creates event streams for the play token only, refuses bad event lists, and serves the stream by its signed Location', async () => {
      const pub = await publish('ev');
      const view = await play('ev');
      const session = view.headers['location']!;
      assertProblem(
        await http.post(`${session}/events`).set('Content-Type', 'application/json').send(JSON.stringify(ALL_EVENTS)),
        401,
        /Authorization: Bearer/,
      );
      assertProblem(await postEvents(session, '["active","layers","scte35"]'), 400, /does not send "layers", "scte35"/);
      assertProblem(await postEvents(session, '[]'), 400, /JSON array of event names/);
      assertProblem(await postEvents(session, '{"events":["active"]}'), 400, /JSON array of event names/);
      assertProblem(await postEvents(session, '[1,2]'), 400, /JSON array of event names/);
      assertProblem(await postEvents(session, '["active"'), 400, /JSON array of event names/);
      assertProblem(await postEvents(session, '["active"]', 'text/plain'), 415, /application\/json/);

      const created = await postEvents(session, '["viewercount","inactive"]');
      assert.equal(created.status, 201);
      const location = created.headers['location']!;
      // EventSource sends no Authorization header: with PLAY_TOKEN set, the Location is a signed URL.
      assert.match(location, new RegExp(`^/signed/\\d+/[A-Za-z0-9_-]{43}${session}/events/[0-9a-f]{32}$`));
      const reader = await SseReader.open(`${server.url}${location}`);
      try {
        // The publisher never connected (no DTLS): the room is not live. One viewer.
        await reader.next('the state at once', viewercount(1));
        assert.deepEqual(reader.events, [
          { event: 'inactive', data: '{}' },
          { event: 'viewercount', data: '{"viewercount":1}' },
        ]);
        // A second GET (a reconnecting EventSource) takes the stream over; the first read ends.
        const takeover = await SseReader.open(`${server.url}${location}`);
        await reader.waitEnded();
        await takeover.next('the state again', viewercount(1));
        takeover.abort();
      } finally {
        reader.abort();
      }

      // No body: every event the Link announced (the draft makes the list optional).
      const everything = await postEvents(session, undefined);
      assert.equal(everything.status, 201);
      assert.equal((await http.head(everything.headers['location']!)).headers['content-type'], 'text/event-stream; charset=utf-8');

      assert.equal((await http.delete(location)).status, 200, 'DELETE ends a stream (no token: the URL is the capability)');
      assertProblem(await http.get(location), 404, /does not exist/);
      assertProblem(await http.delete(location), 404, /does not exist/);

      // A session keeps its four newest streams: a fifth replaces the oldest.
      const more: string[] = [];
      for (let i = 0; i < 4; i++) more.push((await postEvents(session, '["active"]')).headers['location']!);
      assert.equal((await http.head(everything.headers['location']!)).status, 404, 'the oldest stream made way');
      for (const stream of more) assert.equal((await http.head(stream)).status, 200);

      await end(session, PLAY);
      for (const stream of more) assertProblem(await http.get(stream), 404, /ends with its WHEP session/);
      await end(pub.headers['location']!, PUBLISH);
    });

    it("is read by Chromium's EventSource, which stops once the session is gone", async () => {
      const pub = await publish('browser');
      const view = await play('browser');
      const created = await postEvents(view.headers['location']!, JSON.stringify(ALL_EVENTS));
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(`${server.url}/api/rooms`);
        // A string, not a function: tsx would put its __name helper into a function's source.
        await page.evaluate(`(() => {
          window.received = [];
          window.stream = new EventSource(${JSON.stringify(created.headers['location'])});
          for (const name of ['active', 'inactive', 'viewercount']) {
            window.stream.addEventListener(name, (e) => window.received.push(name + ' ' + e.data));
          }
        })()`);
        const received = await waitFor('events in Chromium', async () => {
          const r = (await page.evaluate('window.received')) as string[];
          return r.length >= 2 ? r : undefined;
        });
        assert.deepEqual(received, ['inactive {}', 'viewercount {"viewercount":1}']);
        await end(view.headers['location']!, PLAY);
        // The stream ends; EventSource reconnects, gets 404, and gives up (readyState CLOSED).
        await waitFor('EventSource closed', async () => ((await page.evaluate('window.stream.readyState')) === 2 ? true : undefined), 20_000);
      } finally {
        await browser.close();
        await end(pub.headers['location']!, PUBLISH);
      }
    });
  });

  describe('MAX_SESSIONS and MAX_PUBLISHERS', () => {
    let server: TestServer;
    let http: ReturnType<typeof request>;

    before(async () => {
      server = await startServer({ MAX_SESSIONS: '2', MAX_PUBLISHERS: '2' });
      http = request(server.url);
    });

    after(() => server.close());

    it('refuses WHEP POSTs past MAX_SESSIONS with 503, Retry-After and a problem, but not publishers, who have MAX_PUBLISHERS', async () => {
      const pub = await http.post('/whip/full').set('Content-Type', 'application/sdp').send(OBS_OFFER);
      const view = await http.post('/whep/full').set('Content-Type', 'application/sdp').send(RECVONLY_OFFER);
      assert.deepEqual([pub.status, view.status], [201, 201]);
      const refusedView = await http.post('/whep/full').set('Content-Type', 'application/sdp').send(RECVONLY_OFFER);
      assertProblem(refusedView, 503, /already has 2 sessions, its MAX_SESSIONS limit/);
      assert.match(refusedView.headers['retry-after']!, /^\d+$/);
      const second = await http.post('/whip/other').set('Content-Type', 'application/sdp').send(OBS_OFFER);
      assert.equal(second.status, 201, "viewers cannot take the publishers' places");
      const refusedPub = await http.post('/whip/third').set('Content-Type', 'application/sdp').send(OBS_OFFER);
      assertProblem(refusedPub, 503, /already has 2 publishers, its MAX_PUBLISHERS limit/);
      assert.ok(refusedPub.headers['retry-after']);
      assert.equal(server.server.signaling.sessionCount, 3, 'a refused POST creates nothing');
      assert.equal(await server.room('third'), undefined);
      assert.equal((await http.delete(view.headers['location']!)).status, 200);
      assert.equal((await http.delete(second.headers['location']!)).status, 200);
      const again = await http.post('/whep/full').set('Content-Type', 'application/sdp').send(RECVONLY_OFFER);
      assert.equal(again.status, 201, 'room again once sessions ended');
      await http.delete(again.headers['location']!);
      await http.delete(pub.headers['location']!);
    });
  });

  describe('server-sent events', () => {
    let server: TestServer;
    let media: TestMedia;
    /** Pending timers the events code made (keep-alives, viewer-count holds). */
    let timers: ReturnType<typeof timersFrom>;

    before(async () => {
      timers = timersFrom(/src[\\/](http[\\/]events|sfu[\\/]roomWatch)\.ts/);
      server = await startServer();
      media = await loadMedia();
    });

    after(async () => {
      timers.stop();
      await server.close();
      cleanupDataChannel();
    });

    /** POSTs for a stream of `viewer`'s events at the URL its 201's Link gave, and opens it. */
    async function openEvents(viewer: DataChannelViewer): Promise<{ location: string; reader: SseReader }> {
      const link = parseLinks(viewer.headers.get('link') ?? undefined).find((l) => l.params['rel'] === EVENTS_REL);
      assert.ok(link, 'the WHEP 201 announces the events extension');
      assert.equal(link.params['events'], 'active,inactive,viewercount');
      const res = await fetch(new URL(link.target, server.url), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(ALL_EVENTS),
      });
      assert.equal(res.status, 201);
      const location = new URL(res.headers.get('location')!, server.url).toString();
      return { location, reader: await SseReader.open(location) };
    }

    const publishTo = async (room: string) => {
      const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/${room}`, media, stripCandidates: true });
      await publisher.waitConnected(15_000);
      return publisher;
    };
    const watch = async (room: string) => {
      const viewer = await DataChannelViewer.start(`${server.url}/whep/${room}`);
      await waitFor('video at the viewer', () => (viewer.video().length > 0 ? true : undefined), 15_000);
      return viewer;
    };

    it('tells viewers active, their count, inactive and active again, and ends with the viewer session', async () => {
      let publisher = await publishTo('sse');
      const first = await watch('sse');
      const a = await openEvents(first);
      await a.reader.next('the state at once', viewercount(1));
      assert.deepEqual(a.reader.events, [
        { event: 'active', data: '{}' },
        { event: 'viewercount', data: '{"viewercount":1}' },
      ]);

      const second = await watch('sse');
      await a.reader.next('viewercount 2', viewercount(2));
      const b = await openEvents(second);
      await b.reader.next("the second viewer's state", viewercount(2));
      assert.equal(b.reader.events[0]!.event, 'active');

      let mark = a.reader.events.length;
      assert.equal(await publisher.stop(), 200);
      await a.reader.next('inactive', (e) => e.event === 'inactive', mark);
      await b.reader.next('inactive', (e) => e.event === 'inactive');
      mark = a.reader.events.length;
      publisher = await publishTo('sse');
      await a.reader.next('active again', (e) => e.event === 'active', mark);

      // The first viewer leaves: its stream ends, the second hears the count drop.
      const markB = b.reader.events.length;
      assert.equal(await first.stop(), 200);
      await a.reader.waitEnded();
      assert.equal(a.reader.error, undefined, 'the server ended the stream cleanly');
      await b.reader.next('viewercount 1', viewercount(1), markB);
      assert.equal((await fetch(a.location)).status, 404, 'the stream is gone with its session');
      assert.ok(
        a.reader.events.every((e) => e.data === '{}' || /^\{"viewercount":\d+\}$/.test(e.data)),
        'data is one JSON line',
      );

      assert.equal(await second.stop(), 200);
      await b.reader.waitEnded();
      await waitFor('no timer of the events code left', () => (timers.live === 0 ? true : undefined));
      await publisher.stop();
    });

    it('releases every listener and timer when a stream is dropped, deleted, or its session ends', async () => {
      const publisher = await publishTo('leak');
      const viewer = await watch('leak');
      const room = server.server.sfu.rooms.get('leak')!;
      const session = server.server.signaling.session('play', 'leak', viewer.resourceUrl.split('/').pop()!);
      const roomEvents = ['publisherConnected', 'publisherLeft', 'viewerJoined', 'viewerLeft', 'closed'] as const;
      const counts = () => ({
        room: roomEvents.map((e) => room.listenerCount(e)),
        session: session.listenerCount('closed'),
        timers: timers.live,
      });
      const before = counts();
      assert.equal(before.timers, 0);
      const backTo = (what: string, expected: ReturnType<typeof counts>) =>
        waitFor(what, () => {
          const now = counts();
          if (JSON.stringify(now) === JSON.stringify(expected)) return true;
          throw new Error(`counts ${JSON.stringify(now)}, expected ${JSON.stringify(expected)}`);
        });

      const { location, reader } = await openEvents(viewer);
      await reader.next('state', viewercount(1));
      const reading = counts();
      assert.ok(
        reading.room.some((n, i) => n > before.room[i]!),
        'a read stream watches the room',
      );
      assert.equal(reading.session, before.session + 1, 'and follows its session');
      assert.equal(reading.timers, 1, 'and keeps a keep-alive timer');
      // Viewer-count changes while the stream is read (each arms the timer that holds back the next).
      const extra = await DataChannelViewer.start(`${server.url}/whep/leak`);
      await reader.next('viewercount 2', viewercount(2));
      const mark = reader.events.length;
      assert.equal(await extra.stop(), 200);
      await reader.next('viewercount 1', viewercount(1), mark);

      // 1. The client drops the connection: the stream stays (for EventSource to come back), nothing else.
      reader.abort();
      await backTo('everything but the stream itself released', { ...before, session: before.session + 1 });

      // 2. Read again, then DELETE it.
      const again = await SseReader.open(location);
      await again.next('state', viewercount(1));
      assert.equal((await fetch(location, { method: 'DELETE' })).status, 200);
      await again.waitEnded();
      await backTo('all released after DELETE', before);

      // 3. A new stream, ended by its session's end.
      const last = await openEvents(viewer);
      await last.reader.next('state', viewercount(1));
      assert.equal(await viewer.stop(), 200);
      await last.reader.waitEnded();
      await backTo('all released with the session', { ...before, session: 0 });
      await publisher.stop();
    });
  });

  describe('server-sent events and consent', () => {
    let server: TestServer;
    let http: ReturnType<typeof request>;

    before(async () => {
      server = await startServer({}, { consentTimeoutMs: 3_000 });
      http = request(server.url);
    });

    after(() => server.close());

    it('ends a stream when its viewer session loses consent', async () => {
      const pub = await http.post('/whip/consent').set('Content-Type', 'application/sdp').send(OBS_OFFER);
      const view = await http.post('/whep/consent').set('Content-Type', 'application/sdp').send(RECVONLY_OFFER);
      const created = await http.post(`${view.headers['location']}/events`).set('Content-Type', 'application/json').send(JSON.stringify(ALL_EVENTS));
      const reader = await SseReader.open(`${server.url}${created.headers['location']}`);
      await reader.next('state', viewercount(1));
      // Neither client ever sends a STUN check: consent (3 s here) expires.
      await reader.waitEnded(20_000);
      assert.equal(reader.error, undefined);
      assert.equal((await http.get(created.headers['location']!)).status, 404);
      assert.equal((await http.delete(pub.headers['location']!)).status, 404, 'the publisher expired too');
    });
  });
});
