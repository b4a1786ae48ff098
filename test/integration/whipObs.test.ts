// An OBS-like publisher (libdatachannel, the stack inside OBS, configured as OBS's
// WHIP output configures it) sends real H.264 and Opus through the one UDP port. The
// 1 s connect bound is checked as 1 s plus how late the event loop (shared by the
// in-process server and the publisher) ran over the same window: on a busy machine the
// POST, ICE and DTLS all run late by about that much.
import assert from 'node:assert/strict';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { loadMedia, type TestMedia } from '../clients/media';
import { watchLoopDelay } from '../support/loopDelay';
import { startServer, waitFor, type TestServer } from '../support/server';

describe('WHIP from an OBS-like publisher (node-datachannel)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let media: TestMedia;
  const TOKEN = 'obs-test-token';

  before(async () => {
    media = await loadMedia();
    server = await startServer({ PUBLISH_TOKEN: TOKEN });
  });

  after(async () => {
    await server.close();
    cleanupDataChannel();
  });

  it('connects fast, and the room counts keyframes and packets with no SRTP failures', async () => {
    // OBS 30/31 posts its offer with no candidates (seen on the wire); libdatachannel here
    // gathers host candidates at once, so they are stripped to match what OBS sends.
    const loopDelay = watchLoopDelay();
    const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/obs-room`, token: TOKEN, media, stripCandidates: true });
    try {
      assert.doesNotMatch(publisher.offer, /a=candidate/, 'the offer goes out with no candidates, as OBS sends it');
      const connectMs = await publisher.waitConnected(5_000);
      loopDelay.stop();
      const late = loopDelay.maxMs();
      console.log(`      POST → connected: ${connectMs} ms (event loop up to ${late.toFixed(0)} ms late)`);
      assert.ok(connectMs < 1_000 + late, `connected in ${connectMs} ms (bound 1 000 ms, + ${late.toFixed(0)} ms the event loop ran late)`);
      // 3 s of media: keyframes every second.
      const room = await waitFor(
        '3 keyframes in the room',
        async () => {
          const r = await server.room('obs-room');
          return r !== undefined && r.video !== null && r.video.keyframes >= 3 ? r : undefined;
        },
        10_000,
      );
      assert.equal(room.live, true);
      assert.equal(room.video?.codec, 'H264');
      assert.equal(room.audio?.codec, 'opus');
      assert.ok(room.audio!.packets >= 100, `audio packets: ${room.audio!.packets}`);
      assert.ok(room.video!.packets >= 90, `video packets: ${room.video!.packets}`);
      assert.equal(room.publisher?.srtpAuthFailures, 0);
      assert.equal(room.publisher?.unroutablePackets, 0);
      const sent = publisher.stats();
      console.log(
        `      sent ${sent.videoFramesSent} video / ${sent.audioFramesSent} audio frames; room saw ${room.video!.frames} frames, ${room.video!.keyframes} keyframes, ${room.audio!.packets} audio packets, SRTP ${room.publisher?.srtpProfile}`,
      );
    } finally {
      loopDelay.stop();
      const status = await publisher.stop();
      assert.equal(status, 200, 'DELETE answers 200 as OBS expects');
    }
    await waitFor('room gone after DELETE', async () => ((await server.room('obs-room')) === undefined ? true : undefined), 2_000);
  });
});
