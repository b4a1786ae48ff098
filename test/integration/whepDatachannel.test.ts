// A libdatachannel WHEP viewer joining an OBS-like publish mid-stream: its very
// first video packets are the keyframe (SPS, PPS, IDR), served from the cache.
import assert from 'node:assert/strict';
import { readRtp } from '../../src/rtp/rtpPacket';
import { DataChannelViewer } from '../clients/dcViewer';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { loadMedia } from '../clients/media';
import { startServer, waitFor, type TestServer } from '../support/server';

/** The H.264 NAL type an RTP payload carries (for FU-A, the fragment's type). */
function nalType(packet: Buffer): { type: number; fuStart?: boolean } {
  const v = readRtp(packet)!;
  const first = packet[v.payloadOffset]! & 0x1f;
  if (first === 28) return { type: packet[v.payloadOffset + 1]! & 0x1f, fuStart: (packet[v.payloadOffset + 1]! & 0x80) !== 0 };
  return { type: first };
}

describe('WHEP to a libdatachannel viewer', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server.close();
    cleanupDataChannel();
  });

  it('starts the viewer on an IDR with SPS and PPS, mid-GOP, without waiting for the next keyframe', async () => {
    const media = await loadMedia();
    const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/dc`, media, stripCandidates: true });
    await publisher.waitConnected(5_000);
    // Join half-way through a 1 s GOP.
    await waitFor('a keyframe', async () => ((await server.room('dc'))?.video?.keyframes ?? 0) >= 2 || undefined);
    await new Promise((r) => setTimeout(r, 500));
    const joinedAt = Date.now();
    const viewer = await DataChannelViewer.start(`${server.url}/whep/dc`);
    try {
      assert.match(viewer.answer, /a=ssrc:\d+ cname:/, 'the answer declares the SSRCs libdatachannel needs');
      await waitFor('20 video packets', () => (viewer.video().length >= 20 ? true : undefined), 5_000);
      const first = viewer.video().slice(0, 20).map(nalType);
      const types = first.map((n) => n.type);
      assert.equal(types[0], 7, `first video packet is the SPS (got NAL types ${types.join(',')})`);
      assert.equal(types[1], 8, 'then the PPS');
      assert.equal(types[2], 5, 'then the IDR');
      assert.equal(first[2]!.fuStart ?? true, true, 'starting at its first fragment');
      const firstNonIdr = types.indexOf(1);
      assert.ok(firstNonIdr === -1 || firstNonIdr > 2, 'no P-slice before the IDR');
      const firstVideoAt = viewer.packets.find((p) => p.kind === 'video')!.at;
      console.log(`      POST → first video packet: ${firstVideoAt - joinedAt} ms (the next keyframe was ~500 ms away)`);
      const ssrcs = new Set(viewer.video().map((p) => readRtp(p)!.ssrc));
      assert.equal(ssrcs.size, 1);
      assert.match(viewer.answer, new RegExp(`a=ssrc:${[...ssrcs][0]} cname:`), 'video arrives on the SSRC the answer declared');
      assert.equal(await viewer.stop(), 200);
    } finally {
      await publisher.stop();
    }
  });
});
