// The authorization modes over HTTP, with the server in the test process: per-room stream
// keys and JWTs on WHIP/WHEP (POST, PATCH, DELETE), the event streams and every viewer
// read, lists showing only the rooms a JWT grants, signed URLs for the rooms granted, the
// keys file reloaded while the server runs, a JWKS, and a hook's refusals reaching the
// client as problems.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import request from 'supertest';
import type { Config } from '../../src/config';
import { openPublishingWarning } from '../../src/http/access';
import { assertProblem } from '../support/http';
import { freePort } from '../support/process';
import { startServer, waitFor, type TestServer } from '../support/server';

const OBS_OFFER = readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', 'obs.sdp'), 'utf8');
const RECVONLY_OFFER = readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', 'chromium-recvonly.sdp'), 'utf8');
const SECRET = 'integration-secret-of-thirty-two-bytes';
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const inSeconds = (s: number) => Math.floor(Date.now() / 1000) + s;

function hs256(onecast: object, exp = inSeconds(600)): Promise<string> {
  return new SignJWT({ exp, onecast }).setProtectedHeader({ alg: 'HS256' }).sign(Buffer.from(SECRET));
}

/** A finished recording as the recorder leaves its files (the listing and the playlist read no media). */
async function fakeRecording(dir: string, room: string, id: string): Promise<void> {
  const folder = path.join(dir, room, id);
  await fs.mkdir(folder, { recursive: true });
  await fs.writeFile(path.join(folder, 'index.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_00000.ts\n#EXT-X-ENDLIST\n');
  await fs.writeFile(path.join(folder, 'seg_00000.ts'), Buffer.alloc(188, 0x47));
  const meta = { room, id, startedAt: '2026-12-01T10:00:00.000Z', endedAt: '2026-12-01T10:00:02.000Z', durationSeconds: 2, video: 'h264', audio: 'aac' };
  await fs.writeFile(path.join(folder, 'meta.json'), JSON.stringify(meta));
}

const whip = (server: TestServer, room: string, token?: string) => {
  const req = request(server.url).post(`/whip/${room}`).set('Content-Type', 'application/sdp');
  return (token === undefined ? req : req.set(bearer(token))).send(OBS_OFFER);
};
const whep = (server: TestServer, room: string, token?: string) => {
  const req = request(server.url).post(`/whep/${room}`).set('Content-Type', 'application/sdp');
  return (token === undefined ? req : req.set(bearer(token))).send(RECVONLY_OFFER);
};

describe('authorization modes over HTTP', function () {
  this.timeout(30_000);
  let tmp: string;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-auth-http-'));
  });
  after(() => fs.rm(tmp, { recursive: true, force: true }));

  describe('STREAM_KEYS and JWT_SECRET', () => {
    let server: TestServer;
    let keys: string;
    let recordings: string;

    before(async () => {
      keys = path.join(tmp, 'keys.txt');
      recordings = path.join(tmp, 'recordings');
      await fs.writeFile(keys, '# per-room keys\nstudio-a:key-a\nteam-*:key-team\n');
      await fakeRecording(recordings, 'studio-a', '20261201T100000Z-aaaaaaaa');
      await fakeRecording(recordings, 'studio-b', '20261201T100000Z-bbbbbbbb');
      server = await startServer({ STREAM_KEYS: keys, JWT_SECRET: SECRET, RECORDINGS_DIR: recordings });
    });
    after(() => server?.close());

    it("publishes with a room's key to its room only: 401 without, 403 elsewhere, on POST, PATCH and DELETE", async () => {
      const own = await whip(server, 'studio-a', 'key-a');
      assert.equal(own.status, 201, own.text);
      assert.equal((await whip(server, 'team-red', 'key-team')).status, 201, 'a pattern');
      const anonymous = await whip(server, 'studio-b');
      assertProblem(anonymous, 401, /Publishing \(WHIP\) needs an "Authorization: Bearer <token>" header with the room's stream key, or a JWT/);
      assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="onecast"');
      assertProblem(await whip(server, 'studio-b', 'key-a'), 403, /This stream key does not publish to room "studio-b"/);
      assertProblem(await whip(server, 'studio-b', 'wrong'), 401, /not one this server accepts for publishing/);

      const resource = own.headers['location']!;
      const patch = (token: string) =>
        request(server.url)
          .patch(resource)
          .set('Content-Type', 'application/trickle-ice-sdpfrag')
          .set('If-Match', own.headers['etag']!)
          .set(bearer(token))
          .send('a=end-of-candidates\r\n');
      assert.equal((await patch('key-team')).status, 403, 'the key of another room cannot PATCH');
      assert.equal((await patch('key-a')).status, 204);
      assert.equal((await request(server.url).delete(resource).set(bearer('key-team'))).status, 403);
      assert.equal((await request(server.url).delete(resource).set(bearer('key-a'))).status, 200);
    });

    it('plays with a JWT in the rooms it names: WHEP, its signed event stream, HLS, signed URLs; 403 elsewhere', async () => {
      assert.equal((await whip(server, 'studio-a', 'key-a')).status, 201);
      const token = await hs256({ play: ['studio-a'] });
      const viewing = await whep(server, 'studio-a', token);
      assert.equal(viewing.status, 201, viewing.text);
      assertProblem(await whep(server, 'studio-b', token), 403, /does not let its holder watch room "studio-b"/);
      assertProblem(await whep(server, 'studio-a'), 401, /needs an "Authorization: Bearer <token>" header with a JWT/);
      const events = await request(server.url).post(`${viewing.headers['location']}/events`).set(bearer(token));
      assert.equal(events.status, 201);
      assert.match(events.headers['location']!, /^\/signed\/\d+\/[A-Za-z0-9_-]{43}\/whep\/studio-a\//, 'signed: watching is guarded');
      assert.equal(
        (
          await request(server.url)
            .post(`${viewing.headers['location']}/events`)
            .set(bearer(await hs256({ play: ['x'] })))
        ).status,
        403,
      );

      const http = request(server.url);
      assert.equal((await http.get('/recordings/studio-a/20261201T100000Z-aaaaaaaa/index.m3u8').set(bearer(token))).status, 200);
      assertProblem(await http.get('/recordings/studio-b/20261201T100000Z-bbbbbbbb/index.m3u8').set(bearer(token)), 403, /watch room "studio-b"/);
      const signed = await http.get('/api/signed-url?path=/recordings/studio-a/20261201T100000Z-aaaaaaaa/').set(bearer(token));
      assert.equal(signed.status, 200);
      assert.match((signed.body as { url: string }).url, /^\/signed\//);
      assert.equal((await http.get('/api/signed-url?path=/recordings/studio-b/20261201T100000Z-bbbbbbbb/').set(bearer(token))).status, 403);
      assert.equal((await http.get('/api/recordings?room=studio-b').set(bearer(token))).status, 403);
      // A room's own reads under /api/rooms/{room}/ (its thumbnail) are the room's: refused before any route looks.
      assert.equal((await http.get('/api/rooms/studio-b/thumbnail.jpg').set(bearer(token))).status, 403);
      const plainStream = events.headers['location']!.replace(/^\/signed\/\d+\/[^/]+/, '');
      assert.equal((await http.head(plainStream).set(bearer(await hs256({ play: ['studio-b'] })))).status, 403, 'the event stream of another room');
      assert.equal((await http.head(plainStream).set(bearer(token))).status, 200);
      assert.equal((await http.get('/api/rooms').set(bearer('key-a'))).status, 401, 'a stream key reads nothing');
      // A platform's token can be long: 300 rooms make one of ~6 KB, which the Bearer header takes whole.
      const long = await hs256({ play: [...Array.from({ length: 300 }, (_, i) => `room-number-${i}`), 'studio-a'] });
      assert.ok(long.length > 6_000, `${long.length} characters`);
      assert.equal((await whep(server, 'studio-a', long)).status, 201);
    });

    it('lists only the rooms a JWT lets its holder watch', async () => {
      assert.equal((await whip(server, 'team-blue', 'key-team')).status, 201);
      const http = request(server.url);
      const rooms = async (token: string) => ((await http.get('/api/rooms').set(bearer(token))).body as Array<{ room: string }>).map((r) => r.room).sort();
      assert.deepEqual(await rooms(await hs256({ play: ['team-*'] })), ['team-blue', 'team-red']);
      assert.deepEqual(await rooms(await hs256({ play: ['studio-z'] })), []);
      const listed = async (token: string) => ((await http.get('/api/recordings').set(bearer(token))).body as Array<{ room: string }>).map((r) => r.room);
      assert.deepEqual(await listed(await hs256({ play: ['studio-a'] })), ['studio-a']);
      assert.deepEqual((await listed(await hs256({ play: ['studio-*'] }))).sort(), ['studio-a', 'studio-b']);
      const page = await http.get('/api/recordings?limit=1').set(bearer(await hs256({ play: ['studio-b'] })));
      assert.deepEqual(
        (page.body as Array<{ room: string }>).map((r) => r.room),
        ['studio-b'],
        'a page is filled from the rooms granted',
      );
    });

    it('refuses an expired JWT with a 401 that says so', async () => {
      const expired = await whep(server, 'studio-a', await hs256({ play: ['studio-a'] }, inSeconds(-120)));
      assertProblem(expired, 401, /^This token expired at .*; get a new one/);
      assert.equal(expired.headers['www-authenticate'], 'Bearer realm="onecast", error="invalid_token"');
    });

    it('takes a changed keys file without a restart, and keeps the keys when the new file is broken', async () => {
      await fs.writeFile(`${keys}.new`, '{"studio-c": ["key-c"]}');
      await fs.rename(`${keys}.new`, keys);
      await waitFor('the new key to publish', async () => ((await whip(server, 'studio-c', 'key-c')).status === 201 ? true : undefined), 10_000, 200);
      assert.equal((await whip(server, 'studio-a', 'key-a')).status, 401, 'the old key went with the old file');
      await fs.writeFile(keys, '{"studio-c": ["key-c"],}');
      await new Promise((r) => setTimeout(r, 2_500));
      assert.equal((await whip(server, 'studio-c2', 'key-c')).status, 403, 'still the previous keys');
    });

    it('does not warn that anyone can publish when a mode guards publishing', () => {
      const config = { bind: '0.0.0.0' } as Config;
      assert.equal(openPublishingWarning(config, false), undefined);
      assert.match(openPublishingWarning(config, true)!, /^anyone can publish: PUBLISH_TOKEN is not set \(nor STREAM_KEYS, JWT_\* or AUTH_HOOK_URL\)/);
    });
  });

  it('verifies JWTs by a JWKS (RS256, by kid), and refuses with 503 while the key set does not answer or answers an error', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks = http.createServer((req, res) =>
      req.url === '/broken.json'
        ? res.writeHead(500).end('down for maintenance')
        : res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const server = await startServer({
      JWT_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
      RECORDINGS_DIR: path.join(tmp, 'jwks'),
    });
    const down = await startServer({ JWT_JWKS_URL: `http://127.0.0.1:${await freePort()}/jwks.json`, RECORDINGS_DIR: path.join(tmp, 'jwks-down') });
    const broken = await startServer({
      JWT_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/broken.json`,
      RECORDINGS_DIR: path.join(tmp, 'jwks-broken'),
    });
    try {
      const sign = (kid: string) =>
        new SignJWT({ exp: inSeconds(600), onecast: { publish: ['live'] } }).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey);
      assert.equal((await whip(server, 'live', await sign('k1'))).status, 201);
      assertProblem(await whip(server, 'live2', await sign('k1')), 403, /publish to room "live2"/);
      assertProblem(await whip(server, 'live', await sign('unknown')), 401, /no key of the JWT_JWKS_URL key set matches/);
      const refused = await whip(down, 'live', await sign('k1'));
      assertProblem(refused, 503, /The key set at JWT_JWKS_URL did not answer/);
      assert.equal(refused.headers['retry-after'], '5');
      // A key set that answers 500 is the service's fault too, not the token's.
      assertProblem(await whip(broken, 'live', await sign('k1')), 503, /The key set at JWT_JWKS_URL did not answer/);
    } finally {
      await server.close();
      await down.close();
      await broken.close();
      await new Promise((r) => jwks.close(r));
    }
  });

  it("passes a hook's refusal on as a problem with its status and detail; a hook that is down gets 503; a bad room name is never sent to it", async () => {
    let asked = 0;
    const hook = http.createServer((req, res) => {
      asked++;
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const { token } = JSON.parse(body) as { token: string | null };
        if (token === 'paid') return void res.writeHead(204).end();
        res
          .writeHead(402, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ detail: 'This channel needs a subscription: subscribe at example.org.' }));
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const server = await startServer({ AUTH_HOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`, RECORDINGS_DIR: path.join(tmp, 'hook') });
    const down = await startServer({ AUTH_HOOK_URL: `http://127.0.0.1:${await freePort()}/`, RECORDINGS_DIR: path.join(tmp, 'hook-down') });
    try {
      assert.equal((await whip(server, 'show', 'paid')).status, 201);
      assert.equal((await whep(server, 'show', 'paid')).status, 201);
      assertProblem(await whep(server, 'show', 'free'), 402, /^This channel needs a subscription: subscribe at example\.org\.$/);
      assert.equal((await request(server.url).get('/api/rooms').set(bearer('paid'))).status, 200);
      assertProblem(await whip(down, 'show', 'paid'), 503, /authorization service \(AUTH_HOOK_URL\) did not answer/);
      // What is no room name is refused before the hook is asked (nor its cache filled).
      const before = asked;
      for (const path of [`/recordings/${'-'.repeat(65)}/`, '/api/rooms/a%21b/thumbnail.jpg', '/whep/a.b/s/events/x']) {
        assertProblem(await request(server.url).get(path).set(bearer('paid')), 400, /Room names are 1 to 64 characters/);
      }
      assert.equal(asked, before, 'the hook was not asked about a bad room name');
    } finally {
      await server.close();
      await down.close();
      await new Promise((r) => hook.close(r));
    }
  });
});
