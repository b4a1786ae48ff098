// A publisher that vanishes without DELETE (crash, cable pulled) is ended by consent
// freshness; IPv6 works when BIND is an IPv6 address, dual-stack with '::'.
import assert from 'node:assert/strict';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { loadMedia, type TestMedia } from '../clients/media';
import { startServer, waitFor } from '../support/server';

describe('session lifecycle and address families', function () {
  this.timeout(60_000);
  let media: TestMedia;

  before(async () => {
    media = await loadMedia();
  });

  after(() => cleanupDataChannel());

  it('ends a publish whose checks stop arriving (consent expiry, RFC 7675)', async () => {
    // libdatachannel sends a consent check every 4-6 s (measured), so 7 s is the
    // shortest timeout a live publisher survives.
    const server = await startServer({}, { consentTimeoutMs: 7_000 });
    try {
      const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/vanish`, media });
      await publisher.waitConnected(5_000);
      await waitFor('room live', async () => ((await server.room('vanish'))?.live ? true : undefined));
      // Outlives the timeout while the publisher keeps consenting.
      await new Promise((r) => setTimeout(r, 8_000));
      assert.equal((await server.room('vanish'))?.live, true, 'a consenting publisher is not timed out');
      publisher.abandon();
      const t0 = Date.now();
      await waitFor('room to end after consent expiry', async () => ((await server.room('vanish')) === undefined ? true : undefined), 10_000);
      console.log(`      ended ${Date.now() - t0} ms after the publisher went silent (timeout 7000 ms)`);
      assert.equal(server.server.engine.sessionCount, 0);
      assert.equal(server.server.engine.mux.boundAddressCount, 0);
    } finally {
      await server.close();
    }
  });

  for (const [bind, publicIp, endpointHost] of [
    ['::1', '::1', '[::1]'],
    ['::', '127.0.0.1', '127.0.0.1'],
  ] as const) {
    it(`publishes with BIND=${bind} and PUBLIC_IPS=${publicIp}`, async () => {
      const server = await startServer({ BIND: bind, PUBLIC_IPS: publicIp });
      try {
        const endpoint = `http://${endpointHost}:${server.server.httpPort}/whip/v6`;
        const publisher = await ObsLikePublisher.start({ endpoint, media });
        await publisher.waitConnected(5_000);
        const room = await waitFor('keyframe', async () => {
          const r = await server.room('v6');
          return r?.video && r.video.keyframes >= 1 ? r : undefined;
        });
        assert.equal(room.publisher?.srtpAuthFailures, 0);
        assert.equal(await publisher.stop(), 200);
      } finally {
        await server.close();
      }
    });
  }
});
