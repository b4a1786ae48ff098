// A real Chromium publishes its fake camera and microphone, or its screen, from the whip/ page.
import assert from 'node:assert/strict';
import { waitFor } from '../support/server';
import { serverAndChromium } from '../support/serverAndChromium';

describe('WHIP from Chromium (the whip/ page)', function () {
  this.timeout(60_000);
  const ctx = serverAndChromium();

  for (const codec of ['H264', 'VP8'] as const) {
    it(`publishes ${codec} video and Opus audio, and the room counts video frames`, async () => {
      const room = `chromium-${codec.toLowerCase()}`;
      const page = await ctx.browser.newPage();
      try {
        await page.goto(`${ctx.server.url}/whip/?room=${room}`);
        await page.selectOption('#codec', codec);
        const t0 = Date.now();
        await page.click('#start');
        await page.waitForFunction(() => document.body.dataset['state'] === 'connected', undefined, { timeout: 10_000 });
        console.log(`      click → connected: ${Date.now() - t0} ms`);
        const summary = await waitFor(
          `30 video frames in ${room}`,
          async () => {
            const r = await ctx.server.room(room);
            return r?.video && r.video.frames >= 30 && r.audio && r.audio.packets >= 50 ? r : undefined;
          },
          15_000,
        );
        assert.equal(summary.video?.codec, codec);
        assert.equal(summary.audio?.codec, 'opus');
        assert.ok(summary.video!.keyframes >= 1, 'saw a keyframe');
        assert.equal(summary.publisher?.srtpAuthFailures, 0);
        assert.equal(summary.publisher?.unroutablePackets, 0);
        console.log(
          `      ${room}: ${summary.video!.frames} frames, ${summary.video!.keyframes} keyframes, ${summary.audio!.packets} audio packets, SRTP ${summary.publisher?.srtpProfile}`,
        );
        await page.click('#stop');
        await waitFor(`${room} to end after the page's DELETE`, async () => ((await ctx.server.room(room)) === undefined ? true : undefined), 5_000);
      } finally {
        await page.close();
      }
    });
  }

  it('shares the screen (getDisplayMedia) and shows the outgoing bitrate', async () => {
    const room = 'chromium-screen';
    const page = await ctx.browser.newPage();
    try {
      await page.goto(`${ctx.server.url}/whip/?room=${room}`);
      await page.check('input[name=source][value=screen]');
      assert.equal(await page.locator('#devices').isHidden(), true, 'no camera or microphone pickers for a screen share');
      await page.click('#start');
      await page.waitForFunction(() => document.body.dataset['state'] === 'connected', undefined, { timeout: 10_000 });
      const summary = await waitFor(
        `30 video frames in ${room}`,
        async () => {
          const r = await ctx.server.room(room);
          return r?.video && r.video.frames >= 30 ? r : undefined;
        },
        15_000,
      );
      const shown = await waitFor(
        'the page to show its bitrate and size',
        async () => {
          const bps = Number(await page.locator('#bitrate').getAttribute('data-bps'));
          const size = await page.locator('#resolution').innerText();
          return bps > 0 && size !== '' ? { bps, size } : undefined;
        },
        10_000,
      );
      console.log(`      ${room}: ${summary.video!.frames} frames; the page shows ${shown.bps} bit/s, ${shown.size}`);
      await page.click('#stop');
      await waitFor(`${room} to end after the page's DELETE`, async () => ((await ctx.server.room(room)) === undefined ? true : undefined), 5_000);
    } finally {
      await page.close();
    }
  });
});
