// The web pages on a server that guards publishing and watching, in Chromium, under the
// server's Content-Security-Policy, once per way of guarding them: PUBLISH_TOKEN and
// PLAY_TOKEN; a stream key (STREAM_KEYS) and a JWT (JWT_SECRET); an authorization hook
// (AUTH_HOOK_URL). Tokens given as ?token= (then kept out of the address bar) or typed
// in; the publisher page publishes and records, the player plays live with the room's
// events pushed to it (a signed event stream) and plays the recording with hls.js, the
// home page lists rooms and recordings and downloads the MP4. No page logs a CSP violation.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import type { Page } from 'playwright-core';
import { waitFor } from '../support/server';
import { serverAndChromium } from '../support/serverAndChromium';
import { playerStats } from '../support/viewerPage';

const ROOM = 'guarded';

/** One way of guarding the server: its settings, and the tokens the pages are given. */
interface Guard {
  name: string;
  env: Record<string, string>;
  publish: string;
  play: () => Promise<string>;
  /** Whether the publisher page asks for the recording (?record=1, with the admin key); else RECORD=on records. */
  recordBox: boolean;
  before?: () => Promise<void>;
  after?: () => Promise<void> | void;
}

function staticTokens(): Guard {
  return {
    name: 'PUBLISH_TOKEN and PLAY_TOKEN',
    env: { PUBLISH_TOKEN: 'pages-publish-token', PLAY_TOKEN: 'pages-play-token' },
    publish: 'pages-publish-token',
    play: async () => 'pages-play-token',
    recordBox: true,
  };
}

function streamKeyAndJwt(): Guard {
  const secret = 'pages-secret-of-at-least-thirty-two-bytes';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onecast-pages-keys-'));
  writeFileSync(path.join(dir, 'keys.txt'), `${ROOM}:pages-stream-key\n`);
  return {
    name: 'a stream key (STREAM_KEYS) and a JWT (JWT_SECRET)',
    env: { STREAM_KEYS: path.join(dir, 'keys.txt'), JWT_SECRET: secret, RECORD: 'on' },
    publish: 'pages-stream-key',
    play: () =>
      new SignJWT({ exp: Math.floor(Date.now() / 1000) + 600, onecast: { play: [ROOM] } }).setProtectedHeader({ alg: 'HS256' }).sign(Buffer.from(secret)),
    recordBox: false,
    after: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function hook(): Guard {
  const allowed = { publish: 'pages-hook-publish', play: 'pages-hook-play' };
  const hookServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const { action, token } = JSON.parse(body) as { action: 'publish' | 'play'; token: string | null };
      res.writeHead(token === allowed[action] ? 204 : 401).end();
    });
  });
  const env: Record<string, string> = { RECORD: 'on' };
  return {
    name: 'an authorization hook (AUTH_HOOK_URL)',
    env,
    publish: allowed.publish,
    play: async () => allowed.play,
    recordBox: false,
    // Before the server starts, which reads env then.
    before: async () => {
      await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
      env['AUTH_HOOK_URL'] = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/`;
    },
    after: () => new Promise<void>((r) => hookServer.close(() => r())),
  };
}

interface Watched {
  /** Console lines about the Content-Security-Policy, and script errors. */
  violations: string[];
  /** Requests that failed or answered 4xx/5xx, but those `expected` allows. */
  faults: string[];
}

function watch(page: Page, expected: (status: number, url: string) => boolean = () => false): Watched {
  const watched: Watched = { violations: [], faults: [] };
  page.on('console', (m) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(m.text())) watched.violations.push(m.text());
  });
  page.on('pageerror', (e) => watched.violations.push(`script error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A download navigation is reported as aborted by Chromium: it was handed to the download manager.
    if (!/\.mp4$/.test(r.url())) watched.faults.push(`failed: ${r.url()} (${r.failure()?.errorText})`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !expected(r.status(), r.url())) watched.faults.push(`${r.status()} for ${r.url()}`);
  });
  return watched;
}

/** A page's <video id> playback, to know hls.js played it. */
const videoState = (page: Page, id: string) =>
  page.evaluate((videoId) => {
    const v = document.getElementById(videoId) as HTMLVideoElement;
    return { time: v.currentTime, width: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames };
  }, id);

for (const guard of [staticTokens(), streamKeyAndJwt(), hook()]) {
  describe(`the web pages with ${guard.name}, under the CSP`, function () {
    this.timeout(180_000);
    if (guard.before !== undefined) before(guard.before);
    const ctx = serverAndChromium({ env: guard.env, recordings: true });
    if (guard.after !== undefined) after(guard.after);
    const PUBLISH = guard.publish;

    it('publishes and records, plays live and the recording, lists and downloads, with tokens and no CSP violation', async () => {
      const PLAY = await guard.play();
      const publisher = await ctx.browser.newPage();
      const publisherWatch = watch(publisher);
      const home = await ctx.browser.newPage({ acceptDownloads: true });
      // Before its token is typed in, the home page's polls get 401; a thumbnail asked for as the
      // publish starts or ends may have no picture yet (503) or any more (404).
      const homeWatch = watch(
        home,
        (status, url) => (status === 401 && /\/api\/(rooms|recordings)$/.test(url)) || ((status === 503 || status === 404) && /\/thumbnail\.jpg$/.test(url)),
      );
      let player: Page | undefined;
      try {
        // The token handed out in the link: used, and taken out of the address bar.
        await publisher.goto(`${ctx.server.url}/whip/?room=${ROOM}&token=${PUBLISH}`);
        assert.equal(await publisher.inputValue('#token'), PUBLISH);
        assert.doesNotMatch(publisher.url(), /token/);
        await publisher.selectOption('#codec', 'H264');
        if (guard.recordBox) await publisher.check('#record');
        await publisher.click('#start');
        await publisher.waitForFunction(() => document.body.dataset['state'] === 'connected', undefined, { timeout: 20_000 });

        player = await ctx.browser.newPage();
        const playerWatch = watch(player);
        await player.goto(`${ctx.server.url}/whep/?room=${ROOM}&token=${PLAY}`);
        assert.doesNotMatch(player.url(), /token/);
        await waitFor('the player to decode frames', async () => ((await playerStats(player!)).frames > 10 ? true : undefined), 30_000, 250);
        const live = await waitFor(
          'the viewer count pushed by the signed event stream',
          async () => {
            const s = await playerStats(player!);
            return s.viewers === 1 ? s : undefined;
          },
          15_000,
          250,
        );
        assert.equal(live.viewersSource, 'events');
        assert.equal(live.state, 'live');

        // The home page asks for the viewer token, then lists the live room.
        await home.goto(ctx.server.url);
        await home.waitForFunction(() => /PLAY_TOKEN/.test(document.getElementById('error')!.textContent ?? ''), undefined, { timeout: 10_000 });
        await home.fill('#token', PLAY);
        await home.click('#token-form button');
        await home.waitForSelector(`#rooms tr[data-room="${ROOM}"]`, { timeout: 10_000 });
        assert.equal(await home.locator('#error').innerText(), '');

        // Four seconds recorded, then the publish ends and the recording is finished.
        await new Promise((r) => setTimeout(r, 4_000));
        await publisher.click('#stop');
        await player.waitForSelector('#recordings li a.download', { timeout: 30_000 });

        // The player page plays the recording with hls.js, which sends the token itself.
        await player.locator('#recordings li button').first().click();
        const played = await waitFor(
          'the recording to play on the player page',
          async () => {
            const v = await videoState(player!, 'recording');
            return v.time > 1 && v.frames > 0 ? v : undefined;
          },
          30_000,
          250,
        );
        console.log(`      player page, recording: ${played.time.toFixed(2)} s, ${played.frames} frames, ${played.width} px wide`);

        // The home page lists it, and its download link (a signed URL) gives the MP4.
        const item = home.locator('#recordings li', { hasText: ROOM });
        await item.locator('a.download').waitFor({ timeout: 15_000 });
        const [download] = await Promise.all([home.waitForEvent('download', { timeout: 30_000 }), item.locator('a.download').click()]);
        assert.equal(await download.failure(), null);
        const mp4 = readFileSync(await download.path());
        assert.equal(mp4.toString('latin1', 4, 8), 'ftyp');
        assert.match(download.suggestedFilename(), new RegExp(`^${ROOM}-.+\\.mp4$`));
        console.log(`      home page download: ${download.suggestedFilename()}, ${mp4.length} bytes`);
        assert.match(download.url(), /\/signed\/\d+\/[A-Za-z0-9_-]+\/recordings\//, 'the link was signed, not carrying the token');

        for (const [name, watched] of [
          ['publisher', publisherWatch],
          ['player', playerWatch],
          ['home', homeWatch],
        ] as const) {
          assert.deepEqual(watched.violations, [], `${name} page: CSP violations or script errors`);
          assert.deepEqual(watched.faults, [], `${name} page: failed requests`);
        }
      } finally {
        await player?.close();
        await publisher.close();
        await home.close();
      }
    });
  });
}
