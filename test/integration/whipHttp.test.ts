// WHIP over HTTP as RFC 9725 and the README's "HTTP API" describe it, request by request.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { assertProblem } from '../support/http';
import { startServer, waitFor, type TestServer } from '../support/server';

const OBS_OFFER = readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', 'obs.sdp'), 'utf8');
const CHROMIUM_RECVONLY = readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', 'chromium-recvonly.sdp'), 'utf8');
const TOKEN = 'http-test-token';

describe('WHIP HTTP contract', () => {
  let server: TestServer;
  let http: ReturnType<typeof request>;

  before(async () => {
    server = await startServer({ PUBLISH_TOKEN: TOKEN });
    http = request(server.url);
  });

  after(() => server.close());

  const post = (room: string, body = OBS_OFFER, token = TOKEN) =>
    http.post(`/whip/${room}`).set('Content-Type', 'application/sdp').set('Authorization', `Bearer ${token}`).send(body);

  it('answers an OBS offer with exactly 201, Location, ETag and an application/sdp answer', async () => {
    const res = await post('contract');
    assert.equal(res.status, 201);
    assert.match(res.headers['location']!, /^\/whip\/contract\/[0-9a-f]{32}$/);
    assert.match(res.headers['etag']!, /^"[0-9a-f]+"$/);
    assert.match(res.headers['content-type']!, /^application\/sdp/);
    assert.equal(res.headers['link'], undefined, 'no ICE_SERVERS, no Link');
    const answer = res.text;
    const sessionId = res.headers['location']!.split('/').pop();
    assert.match(answer, /^v=0\r\n/);
    assert.match(answer, /\r\na=ice-lite\r\n/);
    // The ufrag's user part is random and unrelated to the session id: checks carry it in clear.
    const user = /a=ice-ufrag:contract\/([0-9a-f]{24})\r\n/.exec(answer)?.[1];
    assert.ok(user !== undefined && !sessionId!.includes(user), `ufrag user part ${user} is not the session id ${sessionId}`);
    assert.match(answer, /a=ice-pwd:[A-Za-z0-9+/]{22,}\r\n/);
    assert.match(answer, /a=setup:passive/);
    assert.match(answer, /a=group:BUNDLE 0 1/);
    assert.match(answer, /a=rtcp-mux/);
    assert.match(answer, /a=recvonly/);
    assert.match(answer, /a=fingerprint:sha-256 [0-9A-F:]{95}/);
    assert.match(answer, new RegExp(`a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${server.server.udpPort} typ host`));
    const del = await http.delete(res.headers['location']!).set('Authorization', `Bearer ${TOKEN}`);
    assert.equal(del.status, 200);
  });

  it('puts rooms with - and _ into the ufrag in ICE characters only', async () => {
    const res = await post('my_room-1');
    assert.equal(res.status, 201);
    const ufrag = /a=ice-ufrag:(\S+)/.exec(res.text)![1]!;
    assert.match(ufrag, /^[A-Za-z0-9+/]+$/);
    assert.ok(ufrag.startsWith('my+5Froom+2D1/'), ufrag);
    await http.delete(res.headers['location']!).set('Authorization', `Bearer ${TOKEN}`);
  });

  it('DELETE ends the session at once and frees the room', async () => {
    const res = await post('deleted');
    assert.ok(await server.room('deleted'));
    const del = await http.delete(res.headers['location']!).set('Authorization', `Bearer ${TOKEN}`);
    assert.equal(del.status, 200);
    assert.equal(await server.room('deleted'), undefined);
    assert.equal(server.server.engine.sessionCount, 0);
    assertProblem(await http.delete(res.headers['location']!).set('Authorization', `Bearer ${TOKEN}`), 404, /no WHIP session/);
  });

  it('refuses a second publisher in a room with 409', async () => {
    const first = await post('busy');
    assertProblem(await post('busy'), 409, /already has a live publisher/);
    await http.delete(first.headers['location']!).set('Authorization', `Bearer ${TOKEN}`);
    const again = await post('busy');
    assert.equal(again.status, 201, 'the room is free again after DELETE');
    await http.delete(again.headers['location']!).set('Authorization', `Bearer ${TOKEN}`);
  });

  it('asks for the bearer token with 401 and WWW-Authenticate', async () => {
    const none = await http.post('/whip/auth').set('Content-Type', 'application/sdp').send(OBS_OFFER);
    assertProblem(none, 401, /Authorization: Bearer/);
    assert.match(none.headers['www-authenticate']!, /^Bearer/);
    const wrong = await post('auth', OBS_OFFER, 'not-the-token');
    assertProblem(wrong, 401, /not one this server accepts for publishing: it takes PUBLISH_TOKEN/);
    assert.match(wrong.headers['www-authenticate']!, /invalid_token/);
    const del = await http.delete('/whip/auth/0123');
    assertProblem(del, 401, /Bearer/);
    assert.equal(await server.room('auth'), undefined);
  });

  it('415 for a body that is not application/sdp', async () => {
    const res = await http.post('/whip/ctype').set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', 'text/plain').send(OBS_OFFER);
    assertProblem(res, 415, /Content-Type: application\/sdp/);
  });

  it('400 for room names outside 1-64 of A-Z a-z 0-9 _ -', async () => {
    for (const room of ['a.b', 'caf%C3%A9', 'x'.repeat(65), 'sp%20ace', '..']) {
      assertProblem(await post(room), 400, /Room names are 1 to 64 characters/);
    }
    assert.equal((await post('x'.repeat(64))).status, 201);
  });

  it('400 or 422 with a reason for offers it cannot serve', async () => {
    assertProblem(await post('bad', 'hello world'), 400, /./);
    assertProblem(await post('bad', CHROMIUM_RECVONLY), 422, /send|recvonly/i);
    assertProblem(await post('bad', OBS_OFFER.replace(/a=group:BUNDLE 0 1\r?\n/, '')), 422, /BUNDLE/);
    assertProblem(await post('bad', OBS_OFFER.replace(/a=ice-pwd:.*\r?\n/g, '')), 400, /ice/i);
    assert.equal(await server.room('bad'), undefined, 'a refused offer leaves no room behind');
  });

  it('413 for bodies over 64 KiB', async () => {
    assertProblem(await post('big', OBS_OFFER + `a=x-pad:${'x'.repeat(70_000)}\r\n`), 413, /64kb/i);
  });

  it('says what to fix when the body or URL cannot be read before any handler runs', async () => {
    const withEncoding = (encoding: string, body: string) =>
      http.post('/whip/encoded').set('Content-Type', 'application/sdp').set('Authorization', `Bearer ${TOKEN}`).set('Content-Encoding', encoding).send(body);
    assertProblem(await withEncoding('gzip', OBS_OFFER), 400, /could not be decompressed as its Content-Encoding says/);
    assertProblem(await withEncoding('bogus', OBS_OFFER), 415, /Content-Encoding "bogus" is not one onecast reads/);
    const badPercent = await http.delete('/whip/room/%E0%A4%A').set('Authorization', `Bearer ${TOKEN}`);
    assertProblem(badPercent, 400, /malformed percent-encoding/);
  });

  it('lists live rooms at /api/rooms with codecs', async () => {
    const res = await post('listed');
    const rooms = await waitFor('room listed', async () => ((await server.room('listed')) ? server.rooms() : undefined));
    const listed = rooms.find((r) => r.room === 'listed')!;
    assert.deepEqual(Object.keys(listed).sort(), ['audio', 'live', 'publisher', 'recording', 'room', 'thumbnail', 'video', 'viewers'].sort());
    assert.equal(listed.video?.codec, 'H264');
    assert.equal(listed.audio?.codec, 'opus');
    assert.equal(listed.live, false, 'not live until the publisher connects');
    assert.equal(listed.thumbnail, null, 'no thumbnail before it is live');
    assert.equal(listed.viewers, 0);
    await http.delete(res.headers['location']!).set('Authorization', `Bearer ${TOKEN}`);
  });

  it('serves the publisher page at /whip/ and problem JSON for unknown paths', async () => {
    const page = await http.get('/whip/');
    assert.equal(page.status, 200);
    assert.match(page.text, /<title>onecast · publish<\/title>/);
    assertProblem(await http.get('/nothing-here'), 404, /Nothing is served/);
  });
});
