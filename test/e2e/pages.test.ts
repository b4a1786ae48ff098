// The three web pages in a real Chromium: each opens cleanly; the whip/ page publishes the
// fake camera and the whep/ page plays it (frames decoded), with the viewer count, stats and
// controls; the home page follows rooms and recordings without reloading; tokens are asked
// for; the player comes back by itself after a server restart. Each page's screenshot goes
// to test-output/screenshots/ (git-ignored) for a person to look at.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { PEER_CONNECTIONS_HOOK } from '../support/browser';
import { loadMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { freePort } from '../support/process';
import { startServer, waitFor, type TestServer } from '../support/server';
import { serverAndChromium } from '../support/serverAndChromium';
import { openPlayer, playerStats } from '../support/viewerPage';

const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'test-output', 'screenshots');
const PAGES_ADMIN = 'pages-admin';

/** What went wrong in a page: script errors, and requests that failed or got an error status. */
function watchForFaults(page: Page, expected: (status: number, url: string) => boolean = () => false): string[] {
  const faults: string[] = [];
  page.on('pageerror', (error) => faults.push(`script error: ${error.message}`));
  page.on('requestfailed', (request) => faults.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  page.on('response', (res) => {
    if (res.status() >= 400 && !expected(res.status(), res.url())) faults.push(`${res.status()} for ${res.url()}`);
  });
  return faults;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const text = (page: Page, selector: string): Promise<string> => page.locator(selector).innerText();

describe('the web pages in Chromium', function () {
  this.timeout(180_000);
  // The publisher page records (?record=1), which needs the admin key; publishing stays open.
  const ctx = serverAndChromium({ env: { ADMIN_TOKEN: PAGES_ADMIN }, recordings: true });

  before(() => {
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  after(() => {
    cleanupDataChannel();
  });

  for (const [name, url, heading] of [
    ['home', '/', 'Live now'],
    ['whip', '/whip/', 'Publish'],
    ['whep', '/whep/', 'Watch'],
  ] as const) {
    it(`opens ${url} with its script and style, and no error`, async () => {
      const page = await ctx.browser.newPage();
      try {
        const faults = watchForFaults(page);
        const res = await page.goto(`${ctx.server.url}${url}`);
        assert.equal(res?.status(), 200);
        assert.match(await page.locator('h1, h2').first().innerText(), new RegExp(heading));
        // The stylesheet applied (the header bar is a flex row), and the bundled script ran.
        assert.equal(await page.locator('header.bar').evaluate((e) => getComputedStyle(e).display), 'flex');
        if (name === 'home') await page.waitForSelector('#no-rooms:not([hidden])');
        if (name === 'whip') assert.equal(await page.inputValue('#obs-url'), `${ctx.server.url}/whip/demo`);
        if (name === 'whep') assert.equal(await page.locator('#live').isHidden(), true, 'no room chosen: no player yet');
        await new Promise((r) => setTimeout(r, 500));
        assert.deepEqual(faults, []);
        await screenshot(page, `${name}-empty`);
      } finally {
        await page.close();
      }
    });
  }

  it('publishes the fake camera from whip/, plays it on whep/ with the viewer count, and the home page follows', async () => {
    const room = 'pages';
    const home = await ctx.browser.newPage({ viewport: { width: 1100, height: 800 } });
    // A thumbnail asked for as the publish starts or ends may have no picture yet (503) or any more (404).
    const homeFaults = watchForFaults(home, (status, url) => /\/thumbnail\.jpg$/.test(url) && (status === 503 || status === 404));
    await home.goto(ctx.server.url);
    await home.waitForSelector('#no-rooms:not([hidden])');

    // A player opened before anything is published waits, retrying on its own.
    const viewer1 = await openPlayer(ctx.browser, ctx.server.url, room);
    const viewer1Faults = watchForFaults(viewer1, (status, url) => status === 409 && url.endsWith(`/whep/${room}`));
    await viewer1.waitForFunction(() => document.body.dataset['state'] === 'waiting for the publisher', undefined, { timeout: 10_000 });

    const publisher = await ctx.browser.newPage({ viewport: { width: 1200, height: 800 } });
    const publisherFaults = watchForFaults(publisher);
    await publisher.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ctx.server.url });
    await publisher.goto(`${ctx.server.url}/whip/?room=${room}`);
    try {
      // The OBS settings for this room, and their copy button.
      assert.equal(await publisher.inputValue('#obs-url'), `${ctx.server.url}/whip/${room}`);
      await publisher.fill('#token', 'not-set-here');
      assert.equal(await publisher.inputValue('#obs-token'), 'not-set-here');
      await publisher.fill('#token', '');
      await publisher.click('#copy-url');
      assert.equal(await publisher.evaluate(() => navigator.clipboard.readText()), `${ctx.server.url}/whip/${room}`);
      // The fake devices are listed once the page has enumerated them; publish with the chosen ones.
      await publisher.waitForFunction(() => (document.getElementById('camera') as HTMLSelectElement).options.length > 1);
      await publisher.selectOption('#camera', { index: 1 });
      await publisher.waitForFunction(() => (document.getElementById('microphone') as HTMLSelectElement).options.length > 2);
      await publisher.selectOption('#microphone', { index: 2 });

      await publisher.selectOption('#codec', 'H264');
      await publisher.fill('#token', PAGES_ADMIN);
      await publisher.check('#record');
      await publisher.click('#start');
      await publisher.waitForFunction(() => document.body.dataset['state'] === 'connected', undefined, { timeout: 20_000 });
      const bps = await waitFor(
        'the page to show its outgoing bitrate',
        async () => {
          const value = await publisher.locator('#bitrate').getAttribute('data-bps');
          return value !== null && Number(value) > 0 ? Number(value) : undefined;
        },
        15_000,
        250,
      );
      console.log(`      whip/ page: sending ${await text(publisher, '#bitrate')} (${bps} bit/s), ${await text(publisher, '#resolution')}`);
      assert.equal((await ctx.server.room(room))?.video?.codec, 'H264');

      // The waiting player starts by itself and decodes frames, and keeps decoding.
      const first = await waitFor(
        'the player to decode 30 frames',
        async () => {
          const s = await playerStats(viewer1);
          return s.frames >= 30 && s.width > 0 ? s : undefined;
        },
        30_000,
        250,
      );
      const firstAt = Date.now();
      const later = await waitFor(
        'frames to keep being decoded',
        async () => {
          const s = await playerStats(viewer1);
          return s.frames > first.frames ? s : undefined;
        },
        10_000,
        250,
      );
      console.log(`      whep/ page: ${first.width}x${first.height}, frames ${first.frames} → ${later.frames} ${Date.now() - firstAt} ms later`);
      assert.ok(later.frames > first.frames, 'frames keep being decoded');
      assert.equal(later.state, 'live');
      await waitFor('the player to show 1 viewer', async () => ((await playerStats(viewer1)).viewers === 1 ? true : undefined), 10_000, 250);

      // The stats overlay fills in.
      const overlay = await waitFor(
        'the stats overlay',
        async () => {
          const o = {
            resolution: await text(viewer1, '#stat-resolution'),
            fps: await text(viewer1, '#stat-fps'),
            bitrate: await text(viewer1, '#stat-bitrate'),
            lost: await text(viewer1, '#stat-lost'),
          };
          return /^\d+×\d+$/.test(o.resolution) && /^\d+$/.test(o.fps) && /bit\/s$/.test(o.bitrate) && /^\d+$/.test(o.lost) ? o : undefined;
        },
        10_000,
        250,
      );
      console.log(`      stats overlay: ${JSON.stringify(overlay)}`);
      assert.equal(overlay.resolution, `${first.width}×${first.height}`);

      // Mute/unmute and fullscreen.
      assert.equal(await viewer1.evaluate(() => (document.getElementById('video') as HTMLVideoElement).muted), true, 'starts muted (autoplay)');
      await viewer1.click('#mute');
      assert.equal(await viewer1.evaluate(() => (document.getElementById('video') as HTMLVideoElement).muted), false);
      assert.equal(await text(viewer1, '#mute'), 'Mute');
      await viewer1.click('#fullscreen');
      await viewer1.waitForFunction(() => document.fullscreenElement?.id === 'stage', undefined, { timeout: 5_000 });
      await viewer1.evaluate(() => document.exitFullscreen());

      // A second player: both pages show 2 viewers, pushed by the server (WHEP server-sent events).
      const viewer2 = await openPlayer(ctx.browser, ctx.server.url, room);
      try {
        await waitFor('the second player to decode frames', async () => ((await playerStats(viewer2)).frames > 0 ? true : undefined), 30_000, 250);
        for (const [name, page] of [
          ['first', viewer1],
          ['second', viewer2],
        ] as const) {
          const s = await waitFor(
            `the ${name} player to show 2 viewers`,
            async () => {
              const stats = await playerStats(page);
              return stats.viewers === 2 ? stats : undefined;
            },
            10_000,
            250,
          );
          assert.equal(s.viewersSource, 'events', `the ${name} player's count comes from server-sent events`);
        }
        assert.equal(await text(viewer1, '#viewers'), '2 viewers watching');

        // The home page, never reloaded, lists the live room with its 2 viewers.
        const row = home.locator(`#rooms tr[data-room="${room}"]`);
        await waitFor(
          'the home page to list the room with 2 viewers',
          async () => ((await row.count()) === 1 && (await row.locator('td.viewers').innerText()) === '2' ? true : undefined),
          10_000,
          250,
        );
        assert.equal(await row.locator('a').first().getAttribute('href'), `/whep/?room=${room}`);
        // With the room's thumbnail, a picture of the H.264 publish.
        await waitFor(
          "the home page to show the room's thumbnail",
          async () => ((await row.locator('img.thumbnail').evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0 ? true : undefined),
          15_000,
          250,
        );

        await screenshot(publisher, 'whip-publishing');
        await screenshot(viewer1, 'whep-live');
        await screenshot(home, 'home-live');
      } finally {
        await viewer2.close();
      }

      // The publish ends: the player says so and keeps its session; the home page drops the
      // room and lists the finished recording with its download link.
      await publisher.click('#stop');
      await viewer1.waitForFunction(() => document.body.dataset['state'] === 'waiting for the publisher', undefined, { timeout: 15_000 });
      await home.waitForSelector('#no-rooms:not([hidden])', { timeout: 10_000 });
      const download = await waitFor(
        'the home page to list the recording with its download',
        async () => {
          const item = home.locator('#recordings li', { hasText: room });
          return (await item.count()) === 1 ? ((await item.locator('a.download').getAttribute('href')) ?? undefined) : undefined;
        },
        30_000,
        500,
      );
      assert.match(download, new RegExp(`^/recordings/${room}/[A-Za-z0-9-]+\\.mp4$`));
      // The player page lists it too (it polls its room's recordings).
      await viewer1.waitForSelector('#recordings li a.download', { timeout: 15_000 });
      // Play on the home page: hls.js (served by onecast) plays the recorded HLS.
      await home.locator('#recordings li', { hasText: room }).locator('button').click();
      const played = await waitFor(
        '2 s of the recording played on the home page',
        async () => {
          const v = await home.evaluate(() => {
            const video = document.getElementById('recording') as HTMLVideoElement;
            return { time: video.currentTime, frames: video.getVideoPlaybackQuality().totalVideoFrames, width: video.videoWidth };
          });
          return v.time > 2 ? v : undefined;
        },
        20_000,
        250,
      );
      console.log(`      home page, recording: currentTime ${played.time.toFixed(2)} s, ${played.frames} frames, ${played.width} px wide`);
      assert.ok(played.frames > 0 && played.width > 0);
      await screenshot(home, 'home-recording');
      await screenshot(viewer1, 'whep-waiting');

      assert.deepEqual(homeFaults, []);
      assert.deepEqual(publisherFaults, []);
      assert.deepEqual(viewer1Faults, []);
    } finally {
      await publisher.close();
      await viewer1.close();
      await home.close();
    }
  });

  it('says what to do when the server wants a token, and works with the right one', async () => {
    const guarded = await startServer({ PUBLISH_TOKEN: 'pub-secret', PLAY_TOKEN: 'play-secret', RECORDINGS_DIR: ctx.recordingsDir });
    const player = await ctx.browser.newPage();
    const publisher = await ctx.browser.newPage();
    try {
      await player.goto(`${guarded.url}/whep/?room=locked`);
      await player.waitForFunction(() => document.body.dataset['state'] === 'failed', undefined, { timeout: 10_000 });
      assert.match(await text(player, '#error'), /bearer/i, 'the 401 problem detail is shown');
      await player.fill('#token', 'play-secret');
      await player.click('#form button[type=submit]');
      await player.waitForFunction(() => document.body.dataset['state'] === 'waiting for the publisher', undefined, { timeout: 10_000 });
      assert.equal(await text(player, '#error'), '');

      await publisher.goto(`${guarded.url}/whip/?room=locked`);
      await publisher.fill('#token', 'wrong');
      await publisher.click('#start');
      await publisher.waitForFunction(() => document.body.dataset['state'] === 'failed', undefined, { timeout: 10_000 });
      assert.match(await text(publisher, '#error'), /bearer token/i);
      await publisher.fill('#token', 'pub-secret');
      assert.equal(await publisher.inputValue('#obs-token'), 'pub-secret', 'the OBS settings show the token');
      await publisher.click('#start');
      await publisher.waitForFunction(() => document.body.dataset['state'] === 'connected', undefined, { timeout: 20_000 });
      await waitFor(
        'the player, retrying with its token, to decode frames',
        async () => ((await playerStats(player)).frames > 0 ? true : undefined),
        30_000,
        250,
      );
      await publisher.click('#stop');
      await waitFor(
        "the room to lose its publisher after the page's DELETE with the token",
        async () => ((await guarded.room('locked'))?.live ? undefined : true),
        10_000,
      );
    } finally {
      await player.close();
      await publisher.close();
      await guarded.close();
    }
  });

  it('gives both pages the ICE servers from the OPTIONS Links, and still connects by the host candidate', async () => {
    // Nothing listens on 3478: ICE must succeed without these servers, as on any reachable onecast.
    const offering = await startServer({ ICE_SERVERS: 'stun:127.0.0.1:3478,turn:user:pa%40ss@127.0.0.1:3478', RECORDINGS_DIR: ctx.recordingsDir });
    const expected = [{ urls: ['stun:127.0.0.1:3478'] }, { urls: ['turn:127.0.0.1:3478'], username: 'user', credential: 'pa@ss' }];
    const open = async (url: string): Promise<Page> => {
      const page = await ctx.browser.newPage();
      await page.addInitScript({ content: PEER_CONNECTIONS_HOOK });
      await page.goto(`${offering.url}${url}`);
      return page;
    };
    const iceServersOf = (page: Page) =>
      page.evaluate(() =>
        (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
          .at(-1)!
          .getConfiguration()
          .iceServers!.map((s) => ({ urls: ([] as string[]).concat(s.urls), ...(s.username ? { username: s.username, credential: s.credential } : {}) })),
      );
    const publisher = await open('/whip/?room=ice');
    const player = await open('/whep/?room=ice');
    try {
      await publisher.click('#start');
      await publisher.waitForFunction(() => document.body.dataset['state'] === 'connected', undefined, { timeout: 20_000 });
      assert.deepEqual(await iceServersOf(publisher), expected);
      await waitFor(
        'the player to decode frames',
        async () =>
          (await player.evaluate(() => (document.getElementById('video') as HTMLVideoElement).getVideoPlaybackQuality().totalVideoFrames)) > 0
            ? true
            : undefined,
        30_000,
        250,
      );
      assert.deepEqual(await iceServersOf(player), expected);
    } finally {
      await publisher.close();
      await player.close();
      await offering.close();
    }
  });

  it('reconnects on its own after the server restarts, and plays the new publish', async () => {
    const media = await loadMedia();
    const env = { HTTP_PORT: String(await freePort()), RECORDINGS_DIR: ctx.recordingsDir };
    let first: TestServer | undefined = await startServer(env);
    let second: TestServer | undefined;
    const publishers: ObsLikePublisher[] = [];
    const publish = async (on: TestServer): Promise<void> => {
      const publisher = await ObsLikePublisher.start({ endpoint: `${on.url}/whip/again`, media, stripCandidates: true });
      publishers.push(publisher);
      await publisher.waitConnected(10_000);
    };
    const player = await openPlayer(ctx.browser, first.url, 'again');
    try {
      await publish(first);
      await waitFor('frames before the restart', async () => ((await playerStats(player)).frames > 0 ? true : undefined), 30_000, 250);
      await first.close();
      first = undefined;
      await player.waitForFunction(() => document.body.dataset['state'] !== 'live', undefined, { timeout: 30_000 });
      second = await startServer(env);
      await publish(second);
      const states = new Set<string>();
      const after = await waitFor(
        'the player to be live again on the new server',
        async () => {
          const s = await playerStats(player);
          states.add(s.state);
          return s.state === 'live' && (await second!.room('again'))?.viewers === 1 ? s : undefined;
        },
        60_000,
        250,
      );
      await waitFor('frames from the new publish', async () => ((await playerStats(player)).frames > after.frames ? true : undefined), 15_000, 250);
      console.log(`      states seen while the server was away: ${[...states].join(', ')}`);
    } finally {
      await player.close();
      for (const p of publishers) await p.stop().catch(() => undefined);
      await first?.close();
      await second?.close();
    }
  });
});
