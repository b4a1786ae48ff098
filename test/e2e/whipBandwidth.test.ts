// Bandwidth feedback: a Chromium publisher that negotiated transport-wide CC gets
// TWCC feedback, and its bandwidth estimate climbs far above where it starts, so
// its encoder reaches its own target. Measured here after 8 s: 3.75 Mbit/s with
// TWCC + REMB, 3.28 with REMB alone, 0.12 (encoder at 0.04) with no feedback at
// all. The thresholds sit well above the no-feedback figure and below what CPU
// contention in the full suite does to Chromium's delay-based estimate (2.5 seen).
import assert from 'node:assert/strict';
import { PEER_CONNECTIONS_HOOK } from '../support/browser';
import { waitFor } from '../support/server';
import { serverAndChromium } from '../support/serverAndChromium';

describe('bandwidth feedback to a Chromium publisher', function () {
  this.timeout(60_000);
  const ctx = serverAndChromium();

  it("keeps Chromium's estimate high with transport-wide CC feedback", async () => {
    const page = await ctx.browser.newPage();
    // Reach the page's RTCPeerConnection for getStats().
    await page.addInitScript({ content: PEER_CONNECTIONS_HOOK });
    await page.goto(`${ctx.server.url}/whip/?room=bandwidth`);
    await page.click('#start');
    await waitFor('publisher live', async () => ((await ctx.server.room('bandwidth'))?.live ? true : undefined));
    await new Promise((r) => setTimeout(r, 8_000));
    const stats = await page.evaluate(async () => {
      const pc = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs[0]!;
      const out = { available: 0, target: 0 };
      (await pc.getStats()).forEach((r: { type: string; nominated?: boolean; availableOutgoingBitrate?: number; kind?: string; targetBitrate?: number }) => {
        if (r.type === 'candidate-pair' && r.nominated) out.available = r.availableOutgoingBitrate ?? 0;
        if (r.type === 'outbound-rtp' && r.kind === 'video') out.target = r.targetBitrate ?? 0;
      });
      return out;
    });
    const room = await ctx.server.room('bandwidth');
    console.log(`      after 8 s: Chromium's estimate ${(stats.available / 1e6).toFixed(2)} Mbit/s, encoder target ${(stats.target / 1e6).toFixed(2)} Mbit/s, ${room?.publisher?.twccFeedbackSent} TWCC feedback packets`);
    assert.ok((room?.publisher?.twccFeedbackSent ?? 0) > 50, 'the server sent TWCC feedback');
    assert.ok(stats.available >= 1_500_000, `available outgoing bitrate ${stats.available}`);
    assert.ok(stats.target >= 1_000_000, `encoder target ${stats.target}`);
    await page.close();
  });
});
