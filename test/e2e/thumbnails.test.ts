// The home page's room thumbnails in Chromium: the fake camera published from the whip/
// page in VP8, on a server with PLAY_TOKEN, appears on the home page as a decoded picture
// fetched with the token and shown through a blob: URL under the CSP.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { waitFor } from '../support/server';
import { serverAndChromium } from '../support/serverAndChromium';

const PLAY = 'thumbnails-play-token';
const ROOM = 'thumbs-vp8';
/** Where the page tests leave screenshots for a person to look at (git-ignored). */
const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'test-output', 'screenshots');

/** Script errors and CSP complaints of a page. */
function violations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(m.text())) seen.push(m.text());
  });
  page.on('pageerror', (e) => seen.push(`script error: ${e.message}`));
  return seen;
}

describe('room thumbnails on the home page', function () {
  this.timeout(120_000);
  const ctx = serverAndChromium({ env: { PLAY_TOKEN: PLAY } });

  it("shows a VP8 room's picture, fetched with the viewer token", async () => {
    const publisher = await ctx.browser.newPage();
    const home = await ctx.browser.newPage();
    const homeViolations = violations(home);
    try {
      await publisher.goto(`${ctx.server.url}/whip/?room=${ROOM}`);
      await publisher.selectOption('#codec', 'VP8');
      await publisher.click('#start');
      await publisher.waitForFunction(() => document.body.dataset['state'] === 'connected', undefined, { timeout: 20_000 });
      assert.equal((await ctx.server.room(ROOM))?.video?.codec, 'VP8');

      await home.goto(`${ctx.server.url}/?token=${PLAY}`);
      const image = home.locator(`#rooms tr[data-room="${ROOM}"] img.thumbnail`);
      const shown = await waitFor(
        'the thumbnail to be decoded on the home page',
        async () => {
          if ((await image.count()) !== 1) return undefined;
          const state = await image.evaluate((img: HTMLImageElement) => ({ width: img.naturalWidth, height: img.naturalHeight, src: img.src }));
          return state.width > 0 ? state : undefined;
        },
        30_000,
        250,
      );
      // Chromium may send less than the camera gives (it scales down under load): the size is logged, not compared.
      console.log(`      home page thumbnail: ${shown.width}x${shown.height}`);
      assert.ok(shown.height > 0);
      assert.match(shown.src, /^blob:/, 'shown through an object URL (the fetch carried the token)');
      assert.deepEqual(homeViolations, []);
      mkdirSync(SCREENSHOTS, { recursive: true });
      await home.screenshot({ path: path.join(SCREENSHOTS, 'home-thumbnail.png'), fullPage: true });
    } finally {
      await publisher.close();
      await home.close();
    }
  });
});
