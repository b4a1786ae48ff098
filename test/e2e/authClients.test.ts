// The authorization modes with real clients: the OBS-like publisher (libdatachannel) with a
// per-room stream key in OBS's Bearer Token field, Chromium's player page with a JWT in
// its token parameter, and an operator's authorization hook that allows, refuses, or is
// down. What is asserted is what the clients get: a connected publish, decoded frames,
// and the status and sentence of each refusal.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { loadMedia } from '../clients/media';
import { ObsLikePublisher, WhipRequestError, cleanupDataChannel } from '../clients/obsPublisher';
import { freePort } from '../support/process';
import { startServer, waitFor, type TestServer } from '../support/server';
import { serverAndChromium } from '../support/serverAndChromium';
import { openPlayer, playerStats } from '../support/viewerPage';

const SECRET = 'e2e-secret-of-at-least-thirty-two-bytes';
const ROOM = 'studio';
const KEY = 'studio-stream-key';

const jwt = (onecast: object, expInSeconds: number) =>
  new SignJWT({ exp: Math.floor(Date.now() / 1000) + expInSeconds, onecast }).setProtectedHeader({ alg: 'HS256' }).sign(Buffer.from(SECRET));

/** What OBS reports when its WHIP POST is refused. */
async function refusal(start: Promise<ObsLikePublisher>): Promise<{ status: number; detail: string }> {
  try {
    const publisher = await start;
    await publisher.stop();
  } catch (error) {
    if (!(error instanceof WhipRequestError)) throw error;
    return { status: error.status, detail: (JSON.parse(error.body) as { detail: string }).detail };
  }
  throw new Error('the publish was not refused');
}

describe('authorization with real clients', function () {
  this.timeout(90_000);
  let media: Awaited<ReturnType<typeof loadMedia>>;
  const publishers: ObsLikePublisher[] = [];

  before(async () => {
    media = await loadMedia();
  });
  after(() => cleanupDataChannel());

  describe('a stream key for OBS, a JWT for the player page', () => {
    const keysDir = mkdtempSync(path.join(os.tmpdir(), 'onecast-e2e-keys-'));
    writeFileSync(path.join(keysDir, 'keys.txt'), `${ROOM}:${KEY}\n`);
    const ctx = serverAndChromium({
      env: { STREAM_KEYS: path.join(keysDir, 'keys.txt'), JWT_SECRET: SECRET },
      beforeClose: async () => {
        for (const p of publishers.splice(0)) await p.stop();
        rmSync(keysDir, { recursive: true, force: true });
      },
    });

    it("OBS publishes to its room with the room's stream key, and is refused in another room or without one", async () => {
      const publisher = await ObsLikePublisher.start({ endpoint: `${ctx.server.url}/whip/${ROOM}`, token: KEY, media, stripCandidates: true });
      publishers.push(publisher);
      await publisher.waitConnected();
      const elsewhere = await refusal(ObsLikePublisher.start({ endpoint: `${ctx.server.url}/whip/other`, token: KEY, media, stripCandidates: true }));
      assert.equal(elsewhere.status, 403);
      assert.match(elsewhere.detail, /does not publish to room "other"/);
      const without = await refusal(ObsLikePublisher.start({ endpoint: `${ctx.server.url}/whip/other`, media, stripCandidates: true }));
      assert.equal(without.status, 401);
    });

    it('the player page plays with a JWT in its token parameter, its event stream signed, and says so when the JWT has expired', async () => {
      const page = await openPlayer(ctx.browser, ctx.server.url, ROOM, await jwt({ play: [ROOM] }, 600));
      const expiredPage = await openPlayer(ctx.browser, ctx.server.url, ROOM, await jwt({ play: [ROOM] }, -120));
      try {
        await waitFor('the player to decode frames', async () => ((await playerStats(page)).frames > 10 ? true : undefined), 30_000, 250);
        const live = await waitFor('the viewer count from the event stream', async () => {
          const s = await playerStats(page);
          return s.viewersSource === 'events' && s.viewers !== null ? s : undefined;
        });
        assert.equal(live.state, 'live');
        const said = await waitFor('the expired JWT to be refused', async () => {
          const text = await expiredPage.locator('#error').innerText();
          return /expired/.test(text) ? text : undefined;
        });
        assert.match(said, /^This token expired at .*; get a new one/);
        assert.equal((await playerStats(expiredPage)).frames, 0);
      } finally {
        await page.close();
        await expiredPage.close();
      }
    });
  });

  describe('an authorization hook', () => {
    let hook: http.Server;
    let server: TestServer;
    let down: TestServer;

    before(async () => {
      hook = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const asked = JSON.parse(body) as { action: string; room: string; token: string | null; userAgent: string };
          if (asked.token === 'member' && /OBS-Studio/.test(asked.userAgent)) return void res.writeHead(204).end();
          res.writeHead(403, { 'Content-Type': 'application/json' }).end(JSON.stringify({ detail: `Only members publish to ${asked.room}; join first.` }));
        });
      });
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
      server = await startServer({ AUTH_HOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/allow` });
      down = await startServer({ AUTH_HOOK_URL: `http://127.0.0.1:${await freePort()}/allow`, AUTH_HOOK_TIMEOUT: '1s' });
    });
    after(async () => {
      for (const p of publishers.splice(0)) await p.stop();
      await server?.close();
      await down?.close();
      await new Promise((r) => hook?.close(r));
    });

    it('lets OBS publish when the hook allows, passes its refusal and sentence on, and answers 503 while it is down', async () => {
      const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/club`, token: 'member', media, stripCandidates: true });
      publishers.push(publisher);
      await publisher.waitConnected();
      const refused = await refusal(ObsLikePublisher.start({ endpoint: `${server.url}/whip/club`, token: 'guest', media, stripCandidates: true }));
      assert.deepEqual(refused, { status: 403, detail: 'Only members publish to club; join first.' });
      const unanswered = await refusal(ObsLikePublisher.start({ endpoint: `${down.url}/whip/club`, token: 'member', media, stripCandidates: true }));
      assert.equal(unanswered.status, 503);
      assert.match(unanswered.detail, /authorization service \(AUTH_HOOK_URL\) did not answer/);
    });
  });
});
