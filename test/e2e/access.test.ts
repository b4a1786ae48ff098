// Tokens mean what an operator thinks they mean: with
// PLAY_TOKEN set, everything a viewer reads needs it (a signed URL stands in where a
// header cannot be sent); starting and deleting recordings need the admin key, and
// are refused on a server with no token at all; /metrics is this machine's unless
// METRICS_TOKEN says otherwise; management resources take no cross-origin requests.
import assert from 'node:assert/strict';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createLogger } from '../../src/log';
import { newRecordingId } from '../../src/recordings/layout';
import { launchChromium } from '../support/browser';
import { writeHlsClip } from '../support/hlsClip';
import { startServer, type TestServer } from '../support/server';

const OBS_OFFER = readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', 'obs.sdp'), 'utf8');
const RECVONLY_OFFER = readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', 'chromium-recvonly.sdp'), 'utf8');
const PUBLISH = 'access-publish';
const PLAY = 'access-play';
const ADMIN = 'access-admin';
const ROOM = 'vault';

/** A finished 2 s recording (H.264 + AAC, 1 s segments) in `dir`, as the recorder leaves one. */
async function makeRecording(dir: string): Promise<string> {
  const id = newRecordingId(new Date('2026-12-01T10:00:00Z'));
  const folder = path.join(dir, ROOM, id);
  await fs.mkdir(folder, { recursive: true });
  await writeHlsClip(folder, { size: '160x120', fps: 15 });
  const meta = { room: ROOM, id, startedAt: '2026-12-01T10:00:00.000Z', endedAt: '2026-12-01T10:00:02.000Z', durationSeconds: 2, video: 'h264', audio: 'aac' };
  await fs.writeFile(path.join(folder, 'meta.json'), JSON.stringify(meta));
  return id;
}

/** Status and headers of a GET (or `method`) whose body is not read: event streams never end. */
function statusOf(
  base: string,
  target: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${target}`, { method, headers }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.destroy();
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('access: tokens mean what an operator thinks they mean', function () {
  this.timeout(60_000);
  let tmp: string;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-access-'));
  });

  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  describe('PLAY_TOKEN (with PUBLISH_TOKEN) covers everything a viewer reads', () => {
    let server: TestServer;
    let id: string;
    let eventStream: string;

    before(async () => {
      const dir = path.join(tmp, 'play');
      id = await makeRecording(dir);
      server = await startServer({ PUBLISH_TOKEN: PUBLISH, PLAY_TOKEN: PLAY, RECORDINGS_DIR: dir });
      const http = request(server.url);
      const published = await http.post(`/whip/${ROOM}`).set('Content-Type', 'application/sdp').set(bearer(PUBLISH)).send(OBS_OFFER);
      assert.equal(published.status, 201, published.text);
      const viewing = await http.post(`/whep/${ROOM}`).set('Content-Type', 'application/sdp').set(bearer(PLAY)).send(RECVONLY_OFFER);
      assert.equal(viewing.status, 201, viewing.text);
      const events = await http.post(`${viewing.headers['location']}/events`).set(bearer(PLAY));
      assert.equal(events.status, 201, events.text);
      eventStream = events.headers['location']!;
    });

    after(() => server?.close());

    it('answers 401 without the token, or with a wrong one, and 200 with it, on every viewer read', async () => {
      const plainStream = eventStream.replace(/^\/signed\/\d+\/[^/]+/, '');
      const reads = [
        '/api/rooms',
        '/api/recordings',
        `/api/recordings?room=${ROOM}`,
        `/api/signed-url?path=/recordings/${ROOM}/${id}/`,
        `/recordings/${ROOM}/${id}/index.m3u8`,
        `/recordings/${ROOM}/${id}/seg_00000.ts`,
        `/recordings/${ROOM}/${id}.mp4`,
        plainStream,
      ];
      for (const target of reads) {
        for (const method of ['GET', 'HEAD']) {
          const anonymous = await statusOf(server.url, target, {}, method);
          assert.equal(anonymous.status, 401, `${method} ${target} without a token`);
          assert.match(String(anonymous.headers['www-authenticate']), /^Bearer/);
          assert.equal((await statusOf(server.url, target, bearer('not-the-token'), method)).status, 401, `${method} ${target} with a wrong token`);
          assert.equal((await statusOf(server.url, target, bearer(PLAY), method)).status, 200, `${method} ${target} with PLAY_TOKEN`);
        }
      }
      // Express matches routes regardless of case and a trailing slash: so does the check.
      for (const target of ['/API/Rooms', '/api/rooms/', `/Recordings/${ROOM}/${id}/index.m3u8`, '/api/recordings/']) {
        assert.equal((await statusOf(server.url, target)).status, 401, target);
      }
      // The publish token is not a viewer token.
      assert.equal((await statusOf(server.url, '/api/rooms', bearer(PUBLISH))).status, 401);
    });

    it("signs the event stream's Location, so EventSource (which sends no header) reads it", async () => {
      assert.match(eventStream, new RegExp(`^/signed/\\d+/[A-Za-z0-9_-]{43}/whep/${ROOM}/[0-9a-f]+/events/[0-9a-f]+$`));
      const res = await statusOf(server.url, eventStream);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    });

    it('gives signed URLs that read one recording without a header, and nothing else', async () => {
      const http = request(server.url);
      const folder = await http.get(`/api/signed-url?path=/recordings/${ROOM}/${id}/`).set(bearer(PLAY));
      assert.equal(folder.status, 200, folder.text);
      const { url, expiresAt } = folder.body as { url: string; expiresAt: string };
      const ttl = Date.parse(expiresAt) - Date.now();
      assert.ok(ttl > 9 * 60_000 && ttl <= 10 * 60_000, `signed for about 10 minutes (${ttl} ms)`);
      const playlist = await http.get(`${url}index.m3u8`);
      assert.equal(playlist.status, 200);
      assert.match(playlist.text, /seg_00000\.ts/);
      assert.equal((await http.get(`${url}seg_00001.ts`)).status, 200, 'a segment named relative to the signed playlist');

      const mp4 = (await http.get(`/api/signed-url?path=/recordings/${ROOM}/${id}.mp4`).set(bearer(PLAY))).body as { url: string };
      const download = await http
        .get(mp4.url)
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done(null, Buffer.concat(chunks)));
        });
      assert.equal(download.status, 200);
      assert.match(String(download.headers['content-disposition']), /attachment/);
      assert.equal((download.body as Buffer).toString('latin1', 4, 8), 'ftyp');

      const prefix = url.slice(0, url.indexOf('/recordings/'));
      assert.equal((await http.get(`${prefix}/recordings/${ROOM}/${newRecordingId()}/index.m3u8`)).status, 401, 'another recording');
      assert.equal((await http.get(`${prefix}/api/rooms`)).status, 401, 'the API');
      assert.equal((await http.delete(`${url.slice(0, -1)}`)).status, 401, 'the folder as a path of its own');
      assert.equal((await http.delete(`${mp4.url.slice(0, -'.mp4'.length)}`)).status, 401);
      for (const bad of ['/api/rooms', `/recordings/${ROOM}/${id}/../../x/index.m3u8`, `/recordings/${ROOM}/%2e%2e/index.m3u8`, '/metrics']) {
        assert.equal((await http.get(`/api/signed-url?path=${encodeURIComponent(bad)}`).set(bearer(PLAY))).status, 400, bad);
      }
    });

    it('/metrics, with no METRICS_TOKEN, answers this machine but not a request a proxy relayed', async () => {
      const http = request(server.url);
      const local = await http.get('/metrics');
      assert.equal(local.status, 200);
      assert.match(local.text, /onecast_sessions/);
      const relayed = await http.get('/metrics').set('X-Forwarded-For', '203.0.113.9');
      assert.equal(relayed.status, 403);
      assert.match(relayed.body.detail, /METRICS_TOKEN/);
    });
  });

  it('/metrics with METRICS_TOKEN needs it, even from this machine', async () => {
    const server = await startServer({ METRICS_TOKEN: 'scrape-me', RECORDINGS_DIR: path.join(tmp, 'metrics') });
    try {
      const http = request(server.url);
      assert.equal((await http.get('/metrics')).status, 401);
      assert.equal((await http.get('/metrics').set(bearer('nope'))).status, 401);
      assert.equal((await http.get('/metrics').set(bearer('scrape-me'))).status, 200);
      assert.equal((await http.get('/api/rooms')).status, 200, 'viewer reads stay open without PLAY_TOKEN');
    } finally {
      await server.close();
    }
  });

  describe('starting and deleting recordings need the admin key', () => {
    const post = (server: TestServer, target: string, token?: string) => {
      const req = request(server.url).post(target).set('Content-Type', 'application/sdp');
      return (token === undefined ? req : req.set(bearer(token))).send(OBS_OFFER);
    };

    it('with no token set, ?record=1 and DELETE are refused (403) and change nothing; publishing stays open', async () => {
      const dir = path.join(tmp, 'open');
      const id = await makeRecording(dir);
      const server = await startServer({ RECORDINGS_DIR: dir });
      try {
        const record = await post(server, '/whip/open-rec?record=1');
        assert.equal(record.status, 403);
        assert.match(record.body.detail, /ADMIN_TOKEN.*PUBLISH_TOKEN/);
        assert.equal(await server.room('open-rec'), undefined, 'no publish was started');
        assert.equal((await post(server, '/whip/open-live')).status, 201);
        const del = await request(server.url).delete(`/recordings/${ROOM}/${id}`);
        assert.equal(del.status, 403);
        assert.ok(existsSync(path.join(dir, ROOM, id, 'index.m3u8')), 'the recording is still there');
      } finally {
        await server.close();
      }
    });

    it('ADMIN_TOKEN starts and deletes recordings, and may publish; PUBLISH_TOKEN then does neither', async () => {
      const dir = path.join(tmp, 'admin');
      const id = await makeRecording(dir);
      const server = await startServer({ PUBLISH_TOKEN: PUBLISH, ADMIN_TOKEN: ADMIN, RECORDINGS_DIR: dir });
      try {
        assert.equal((await post(server, '/whip/rec?record=1', PUBLISH)).status, 401);
        assert.equal((await post(server, '/whip/rec?record=1')).status, 401);
        assert.equal((await post(server, '/whip/rec?record=1', ADMIN)).status, 201);
        assert.equal((await post(server, '/whip/live', ADMIN)).status, 201, 'the admin key publishes');
        assert.equal((await post(server, '/whip/live2', PUBLISH)).status, 201);
        assert.equal((await post(server, '/whip/live3', 'nope')).status, 401);
        const url = `/recordings/${ROOM}/${id}`;
        assert.equal((await request(server.url).delete(url)).status, 401);
        assert.equal((await request(server.url).delete(url).set(bearer(PUBLISH))).status, 401);
        assert.ok(existsSync(path.join(dir, ROOM, id)));
        assert.equal((await request(server.url).delete(url).set(bearer(ADMIN))).status, 204);
        assert.ok(!existsSync(path.join(dir, ROOM, id)));
      } finally {
        await server.close();
      }
    });

    it('without ADMIN_TOKEN, PUBLISH_TOKEN is the admin key; with RECORD=on, ?record=1 asks for nothing more', async () => {
      const dir = path.join(tmp, 'publish');
      const id = await makeRecording(dir);
      const server = await startServer({ PUBLISH_TOKEN: PUBLISH, RECORDINGS_DIR: dir });
      try {
        assert.equal((await post(server, '/whip/rec?record=1', PUBLISH)).status, 201);
        assert.equal((await request(server.url).delete(`/recordings/${ROOM}/${id}`)).status, 401);
        assert.equal((await request(server.url).delete(`/recordings/${ROOM}/${id}`).set(bearer(PUBLISH))).status, 204);
      } finally {
        await server.close();
      }
      const always = await startServer({ RECORD: 'on', RECORDINGS_DIR: dir });
      try {
        assert.equal((await post(always, '/whip/rec?record=1')).status, 201);
      } finally {
        await always.close();
      }
    });
  });

  describe('CORS', () => {
    let server: TestServer;
    let id: string;
    let dir: string;

    before(async () => {
      dir = path.join(tmp, 'cors');
      id = await makeRecording(dir);
      server = await startServer({ PUBLISH_TOKEN: PUBLISH, RECORDINGS_DIR: dir });
    });

    after(() => server?.close());

    it('stays open for WHIP/WHEP and reads; management resources answer no cross-origin preflight', async () => {
      const http = request(server.url);
      const preflight = (target: string, method: string) =>
        http
          .options(target)
          .set('Origin', 'https://elsewhere.example')
          .set('Access-Control-Request-Method', method)
          .set('Access-Control-Request-Headers', 'authorization');
      const whip = await preflight('/whip/x', 'POST');
      assert.equal(whip.headers['access-control-allow-origin'], '*');
      assert.match(String(whip.headers['access-control-allow-methods']), /POST/);
      assert.equal((await http.get('/api/recordings').set('Origin', 'https://elsewhere.example')).headers['access-control-allow-origin'], '*');

      for (const [target, method] of [
        [`/recordings/${ROOM}/${id}`, 'DELETE'],
        ['/metrics', 'GET'],
      ] as const) {
        const res = await preflight(target, method);
        const allow = Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));
        assert.deepEqual(allow, [], `no CORS headers on the preflight of ${method} ${target}`);
      }
      assert.equal((await http.get('/metrics').set('Origin', 'https://elsewhere.example')).headers['access-control-allow-origin'], undefined);
    });

    it("keeps a page on another origin from deleting a recording in a visitor's browser, even with the token", async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        // The same server under another name is another origin.
        await page.goto(server.url.replace('127.0.0.1', 'localhost'));
        const outcome = await page.evaluate(
          `fetch(${JSON.stringify(`${server.url}/recordings/${ROOM}/${id}`)}, { method: 'DELETE', headers: { Authorization: 'Bearer ${PUBLISH}' } })` +
            `.then((r) => 'answered ' + r.status, (e) => 'refused: ' + e.name)`,
        );
        assert.equal(outcome, 'refused: TypeError');
        assert.ok(existsSync(path.join(dir, ROOM, id)), 'the recording is still there');
      } finally {
        await browser.close();
      }
    });
  });

  it('says at start-up, in one line, that anyone can publish when nothing guards publishing on a non-loopback address', async () => {
    const warnings = async (env: Record<string, string>): Promise<string[]> => {
      const lines: string[] = [];
      const server = await startServer({ RECORDINGS_DIR: path.join(tmp, 'warn'), ...env }, { log: createLogger('info', (l) => lines.push(l)) });
      await server.close();
      return lines.filter((l) => l.includes('anyone can publish'));
    };
    const open = await warnings({ BIND: '0.0.0.0' });
    assert.equal(open.length, 1);
    assert.equal(JSON.parse(open[0]!).level, 'warn');
    assert.match(open[0]!, /PUBLISH_TOKEN is not set \(nor STREAM_KEYS, JWT_\* or AUTH_HOOK_URL\) and BIND=0\.0\.0\.0/);
    assert.deepEqual(await warnings({ BIND: '0.0.0.0', PUBLISH_TOKEN: PUBLISH }), []);
    assert.deepEqual(await warnings({ BIND: '0.0.0.0', JWT_SECRET: 'a-secret-of-at-least-thirty-two-bytes' }), [], 'JWTs guard publishing too');
    assert.deepEqual(await warnings({ BIND: '127.0.0.1' }), []);
  });
});
