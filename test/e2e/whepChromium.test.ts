// OBS-like publisher → onecast → Chromium viewer on the whep/ page: frames are
// decoded at the publisher's resolution, quickly, including for a late joiner. The
// late joiner's 1 s bound is checked as 1 s plus how late the event loop (shared by the
// in-process server and the publisher) ran meanwhile: on a busy machine everything on
// the path runs late by about that much, while a server that made the viewer wait for
// the publisher's next keyframe would miss the bound on any machine.
import assert from 'node:assert/strict';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { VIDEO_HEIGHT, VIDEO_WIDTH, loadMedia, type TestMedia } from '../clients/media';
import { watchLoopDelay } from '../support/loopDelay';
import { waitFor } from '../support/server';
import { serverAndChromium } from '../support/serverAndChromium';
import { openPlayer, playerStats } from '../support/viewerPage';

describe('WHEP to Chromium (the whep/ page)', function () {
  this.timeout(90_000);
  const ctx = serverAndChromium();
  let media: TestMedia;

  before(async () => {
    media = await loadMedia();
  });

  after(async () => {
    cleanupDataChannel();
  });

  it("decodes the OBS publisher's H.264 at its resolution, and reports POST → first frame", async () => {
    const publisher = await ObsLikePublisher.start({ endpoint: `${ctx.server.url}/whip/live`, media, stripCandidates: true });
    await publisher.waitConnected(5_000);
    const page = await openPlayer(ctx.browser, ctx.server.url, 'live');
    try {
      const stats = await waitFor(
        '30 decoded frames',
        async () => {
          const s = await playerStats(page);
          return s.frames >= 30 ? s : undefined;
        },
        15_000,
      );
      assert.equal(stats.width, VIDEO_WIDTH);
      assert.equal(stats.height, VIDEO_HEIGHT);
      const ms = Math.round(stats.firstFrameAt! - stats.postAt!);
      console.log(`      POST → first decoded frame: ${ms} ms (${stats.width}x${stats.height})`);
      const room = await ctx.server.room('live');
      assert.equal(room?.viewers, 1);
    } finally {
      await page.close();
      await publisher.stop();
    }
  });

  it('shows a picture in under 1 s to a viewer who joins 10 s into the stream', async () => {
    const publisher = await ObsLikePublisher.start({ endpoint: `${ctx.server.url}/whip/late`, media, stripCandidates: true });
    await publisher.waitConnected(5_000);
    await new Promise((r) => setTimeout(r, 10_000));
    const loopDelay = watchLoopDelay();
    const page = await openPlayer(ctx.browser, ctx.server.url, 'late');
    try {
      const stats = await waitFor(
        'a decoded frame',
        async () => {
          const s = await playerStats(page);
          return s.firstFrameAt !== null ? s : undefined;
        },
        10_000,
      );
      loopDelay.stop();
      const ms = Math.round(stats.firstFrameAt! - stats.postAt!);
      const late = loopDelay.maxMs();
      console.log(`      late joiner: POST → first decoded frame ${ms} ms (event loop up to ${late.toFixed(0)} ms late)`);
      assert.ok(ms < 1_000 + late, `first frame after ${ms} ms (bound 1 000 ms, + ${late.toFixed(0)} ms the event loop ran late)`);
    } finally {
      loopDelay.stop();
      await page.close();
      await publisher.stop();
    }
  });
});
