// PATCH on a session resource (RFC 9725 §4.3.1, RFC 8840): trickle → 204; ICE
// restart → 200 with new credentials and ETag, guarded by If-Match; a refused
// restart leaves the old credentials working. Checked with real STUN checks.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { startServer, type TestServer } from '../support/server';
import { stunMessage } from '../clients/stunMessage';

const OBS_OFFER = readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', 'obs.sdp'), 'utf8');
const RECVONLY_OFFER = readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', 'chromium-recvonly.sdp'), 'utf8');
const FRAG = 'application/trickle-ice-sdpfrag';

describe('PATCH: trickle ICE and ICE restart', () => {
  let server: TestServer;
  let http: ReturnType<typeof request>;
  let socket: dgram.Socket;

  before(async () => {
    server = await startServer();
    http = request(server.url);
    socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  });

  after(async () => {
    socket.close();
    await server.close();
  });

  /** Whether a Binding Request with these credentials gets an answer. */
  async function checkAnswered(ufrag: string, pwd: string): Promise<boolean> {
    const reply = once(socket, 'message').then(() => true);
    socket.send(stunMessage({ username: `${ufrag}:client`, password: pwd }), server.server.udpPort, '127.0.0.1');
    return Promise.race([reply, new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
  }

  async function publish(room: string) {
    const res = await http.post(`/whip/${room}`).set('Content-Type', 'application/sdp').send(OBS_OFFER);
    assert.equal(res.status, 201);
    return {
      location: res.headers['location']!,
      etag: res.headers['etag']!,
      ufrag: /a=ice-ufrag:(\S+)/.exec(res.text)![1]!,
      pwd: /a=ice-pwd:(\S+)/.exec(res.text)![1]!,
      offerUfrag: /a=ice-ufrag:(\S+)/.exec(OBS_OFFER)![1]!,
    };
  }

  it('answers trickled candidates with 204 and no body', async () => {
    const s = await publish('trickle');
    const res = await http
      .patch(s.location)
      .set('Content-Type', FRAG)
      .set('If-Match', s.etag)
      .send(
        `a=ice-ufrag:${s.offerUfrag}\r\na=ice-pwd:Qz77oMe+rXcLxT3TLzc+fq\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host\r\na=end-of-candidates\r\n`,
      );
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    assert.equal(res.headers['etag'], undefined, 'a trickle answer carries no ETag (RFC 9725 §4.3.2)');
    assert.equal(await checkAnswered(s.ufrag, s.pwd), true, 'the credentials are unchanged');
  });

  it('makes trickle conditional too: 428 without If-Match, 412 with a stale one, 204 with "*"', async () => {
    const s = await publish('trickle-guard');
    const body = `a=ice-ufrag:${s.offerUfrag}\r\na=ice-pwd:Qz77oMe+rXcLxT3TLzc+fq\r\na=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host\r\n`;
    const none = await http.patch(s.location).set('Content-Type', FRAG).send(body);
    assert.equal(none.status, 428);
    assert.match(JSON.parse(none.text).detail, /If-Match/);
    assert.equal((await http.patch(s.location).set('Content-Type', FRAG).set('If-Match', '"stale"').send(body)).status, 412);
    assert.equal((await http.patch(s.location).set('Content-Type', FRAG).set('If-Match', '*').send(body)).status, 204);
    assert.equal(await checkAnswered(s.ufrag, s.pwd), true);
  });

  it('restarts ICE: 200, new ufrag/pwd/ETag; only the new credentials are answered', async () => {
    const s = await publish('restart');
    const res = await http.patch(s.location).set('Content-Type', FRAG).set('If-Match', '*').send('a=ice-ufrag:newU\r\na=ice-pwd:aNewPasswordOf22Chars12\r\n');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type']!, /^application\/trickle-ice-sdpfrag/);
    assert.match(res.text, /^a=ice-lite\r\n/);
    const ufrag = /a=ice-ufrag:(\S+)/.exec(res.text)![1]!;
    const pwd = /a=ice-pwd:(\S+)/.exec(res.text)![1]!;
    assert.notEqual(ufrag, s.ufrag);
    assert.notEqual(pwd, s.pwd);
    assert.ok(ufrag.startsWith('restart/'), ufrag);
    assert.match(res.text, new RegExp(`a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${server.server.udpPort} typ host`));
    assert.match(res.headers['etag']!, /^"[0-9a-f]+"$/);
    assert.notEqual(res.headers['etag'], s.etag);
    assert.equal(await checkAnswered(s.ufrag, s.pwd), false, 'the old credentials no longer work');
    assert.equal(await checkAnswered(ufrag, pwd), true, 'the new ones do');
    // The old ETag is now stale.
    const stale = await http
      .patch(s.location)
      .set('Content-Type', FRAG)
      .set('If-Match', s.etag)
      .send('a=ice-ufrag:nextU\r\na=ice-pwd:aNewPasswordOf22Chars34\r\n');
    assert.equal(stale.status, 412);
  });

  it('refuses a restart without If-Match (428), with a stale one (412), or malformed (400), keeping the old credentials', async () => {
    const s = await publish('guarded');
    const body = 'a=ice-ufrag:zzzz\r\na=ice-pwd:aNewPasswordOf22Chars56\r\n';
    const none = await http.patch(s.location).set('Content-Type', FRAG).send(body);
    assert.equal(none.status, 428);
    assert.match(JSON.parse(none.text).detail, /If-Match/);
    assert.equal((await http.patch(s.location).set('Content-Type', FRAG).set('If-Match', '"0000"').send(body)).status, 412);
    assert.equal((await http.patch(s.location).set('Content-Type', FRAG).set('If-Match', '*').send('a=ice-ufrag:zzzz\r\n')).status, 400, 'no password');
    assert.equal((await http.patch(s.location).set('Content-Type', FRAG).set('If-Match', '*').send('not sdp at all')).status, 400);
    assert.equal((await http.patch(s.location).set('Content-Type', 'application/sdp').set('If-Match', '*').send(body)).status, 415);
    assert.equal((await http.patch('/whip/guarded/00000000000000000000000000000000').set('Content-Type', FRAG).send(body)).status, 404);
    assert.equal(await checkAnswered(s.ufrag, s.pwd), true, 'a refused restart keeps the session as it was');
  });

  it('takes the same PATCHes on a WHEP session', async () => {
    await publish('whep-patch');
    const view = await http.post('/whep/whep-patch').set('Content-Type', 'application/sdp').send(RECVONLY_OFFER);
    assert.equal(view.status, 201);
    const location = view.headers['location']!;
    const [ufrag, pwd] = [/a=ice-ufrag:(\S+)/.exec(view.text)![1]!, /a=ice-pwd:(\S+)/.exec(view.text)![1]!];
    const trickle = await http
      .patch(location)
      .set('Content-Type', FRAG)
      .set('If-Match', view.headers['etag']!)
      .send('a=candidate:1 1 udp 2113937151 127.0.0.1 50001 typ host\r\n');
    assert.equal(trickle.status, 204);
    const restart = await http.patch(location).set('Content-Type', FRAG).set('If-Match', '*').send('a=ice-ufrag:wXyZ\r\na=ice-pwd:aNewPasswordOf22Chars78\r\n');
    assert.equal(restart.status, 200);
    assert.notEqual(restart.headers['etag'], view.headers['etag']);
    assert.equal(await checkAnswered(ufrag, pwd), false, 'the old credentials no longer work');
    assert.equal(await checkAnswered(/a=ice-ufrag:(\S+)/.exec(restart.text)![1]!, /a=ice-pwd:(\S+)/.exec(restart.text)![1]!), true, 'the new ones do');
  });
});
