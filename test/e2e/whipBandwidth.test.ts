// Bandwidth feedback: a Chromium publisher that negotiated transport-wide CC gets well-formed
// TWCC feedback covering every packet the server received, and its bandwidth estimate climbs
// above that of a publisher given no bandwidth feedback (no transport-cc, no REMB; receiver
// reports only), measured side by side in the same run. Absolute figures depend on spare CPU:
// Chromium's delay-based estimate reads CPU contention as congestion. After 8 s, on a quiet
// machine 3.13 Mbit/s with feedback against 0.52 for the control (6×); on a busy one (load
// average 3.6 on 2 cores) 0.89 against 0.48 (1.8×), where a fixed 1.5 Mbit/s threshold failed.
// So the server is held to what it controls (the feedback) and Chromium to the comparison.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { parseTwccFeedback, TwccRecorder } from '../../src/rtp/twcc';
import { PEER_CONNECTIONS_HOOK } from '../support/browser';
import { waitFor } from '../support/server';
import { serverAndChromium } from '../support/serverAndChromium';

/** How many times the control's estimate the estimate with feedback must reach (6× measured on a quiet machine, 1.8× on a busy one). */
const ESTIMATE_RATIO = 1.5;
const MEASURE_MS = 8_000;

/**
 * Init script for the control publisher: its WHIP offer loses transport-cc, goog-remb and the
 * transport-wide sequence number extension, so the server answers without them and sends no
 * bandwidth feedback. A string: tsx would add its __name helper to a function.
 */
const NO_FEEDBACK_OFFER = `{
  const fetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    if (init && init.method === 'POST' && typeof init.body === 'string' && init.body.startsWith('v=0')) {
      const kept = init.body.split('\\r\\n').filter((l) => !/^a=rtcp-fb:\\S+ (transport-cc|goog-remb)$/.test(l) && !l.includes('transport-wide-cc'));
      init = { ...init, body: kept.join('\\r\\n') };
    }
    return fetch(input, init);
  };
}`;

/** Every TWCC feedback packet the server builds, checked as it is built: well-formed, and covering each packet recorded before it. */
function watchTwccFeedback(): { problems: string[]; feedbackPackets: () => number; reportedReceived: () => number; restore: () => void } {
  const { record, buildFeedback } = TwccRecorder.prototype;
  const problems: string[] = [];
  const pending = new Set<number>();
  const covered = new Set<number>();
  let packets = 0;
  let received = 0;
  TwccRecorder.prototype.record = function (this: TwccRecorder, extensionValue: Uint8Array, arrivalMs: number): void {
    const seq = extensionValue.length >= 2 ? (extensionValue[0]! << 8) | extensionValue[1]! : undefined;
    // A number a report already covered (a late or duplicate packet) is not reported again, by design.
    if (seq !== undefined && !covered.has(seq)) pending.add(seq);
    record.call(this, extensionValue, arrivalMs);
  };
  TwccRecorder.prototype.buildFeedback = function (this: TwccRecorder): Buffer[] {
    const built = buildFeedback.call(this);
    const reported = new Set<number>();
    for (const packet of built) {
      packets++;
      const feedback = parseTwccFeedback(packet);
      if (feedback === undefined) {
        problems.push(`a feedback packet that does not parse: ${packet.toString('hex')}`);
        continue;
      }
      for (const p of feedback.packets) {
        covered.add(p.seq);
        if (p.received) reported.add(p.seq);
      }
    }
    received += reported.size;
    const unreported = [...pending].filter((seq) => !reported.has(seq));
    if (unreported.length > 0)
      problems.push(`received but not reported as received: ${unreported.slice(0, 10).join(', ')}${unreported.length > 10 ? ', …' : ''}`);
    pending.clear();
    return built;
  };
  return {
    problems,
    feedbackPackets: () => packets,
    reportedReceived: () => received,
    restore: () => {
      TwccRecorder.prototype.record = record;
      TwccRecorder.prototype.buildFeedback = buildFeedback;
    },
  };
}

/** Chromium's bandwidth estimate for its nominated pair and its video encoder's target, in bit/s. */
function estimateOf(page: Page): Promise<{ available: number; target: number }> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs[0]!;
    const out = { available: 0, target: 0 };
    (await pc.getStats()).forEach((r: { type: string; nominated?: boolean; availableOutgoingBitrate?: number; kind?: string; targetBitrate?: number }) => {
      if (r.type === 'candidate-pair' && r.nominated) out.available = r.availableOutgoingBitrate ?? 0;
      if (r.type === 'outbound-rtp' && r.kind === 'video') out.target = r.targetBitrate ?? 0;
    });
    return out;
  });
}

describe('bandwidth feedback to a Chromium publisher', function () {
  this.timeout(60_000);
  const ctx = serverAndChromium();

  it("sends well-formed TWCC feedback for every packet, and keeps Chromium's estimate above a publisher's without feedback", async () => {
    const twcc = watchTwccFeedback();
    const pages: Page[] = [];
    try {
      const publish = async (room: string, initScripts: string[]): Promise<Page> => {
        const page = await ctx.browser.newPage();
        pages.push(page);
        for (const content of initScripts) await page.addInitScript({ content });
        await page.goto(`${ctx.server.url}/whip/?room=${room}`);
        await page.click('#start');
        return page;
      };
      // Both at once, so that whatever load the machine is under weighs on both alike.
      const [withFeedback, control] = await Promise.all([
        publish('bandwidth', [PEER_CONNECTIONS_HOOK]),
        publish('bandwidth-control', [PEER_CONNECTIONS_HOOK, NO_FEEDBACK_OFFER]),
      ]);
      await waitFor('both publishers live', async () =>
        (await ctx.server.room('bandwidth'))?.live && (await ctx.server.room('bandwidth-control'))?.live ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, MEASURE_MS));
      const [stats, controlStats] = await Promise.all([estimateOf(withFeedback), estimateOf(control)]);
      const room = await ctx.server.room('bandwidth');
      const controlRoom = await ctx.server.room('bandwidth-control');
      const mbit = (bps: number): string => (bps / 1e6).toFixed(2);
      console.log(
        `      after ${MEASURE_MS / 1000} s: estimate ${mbit(stats.available)} Mbit/s (encoder ${mbit(stats.target)}) with feedback, ` +
          `${mbit(controlStats.available)} Mbit/s (encoder ${mbit(controlStats.target)}) without; ` +
          `${room?.publisher?.twccFeedbackSent} TWCC feedback packets reporting ${twcc.reportedReceived()} packets received`,
      );
      assert.ok((room?.publisher?.twccFeedbackSent ?? 0) > 50, 'the server sent TWCC feedback');
      assert.deepEqual(twcc.problems, [], 'every feedback packet well-formed, every packet received reported');
      assert.ok(twcc.reportedReceived() > 500, `feedback reported ${twcc.reportedReceived()} packets`);
      assert.equal(controlRoom?.publisher?.twccFeedbackSent, 0, 'the control negotiated no transport-cc');
      assert.ok(
        stats.available >= ESTIMATE_RATIO * controlStats.available,
        `estimate with feedback ${stats.available} bit/s, at least ${ESTIMATE_RATIO}× the control's ${controlStats.available}`,
      );
      assert.ok(stats.target > controlStats.target, `encoder target with feedback ${stats.target} bit/s, above the control's ${controlStats.target}`);
    } finally {
      twcc.restore();
      for (const page of pages) await page.close();
    }
  });
});
