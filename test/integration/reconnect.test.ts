// OBS reconnecting after a crash: its old session sent nothing more, so a new WHIP
// POST takes the room at once (no 30 s wait for consent to expire), and the room's
// viewers carry on with the new publisher, unaware. A live publisher keeps its room.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { classify } from '../../src/engine/demux';
import { readRtp } from '../../src/rtp/rtpPacket';
import { DataChannelViewer } from '../clients/dcViewer';
import { loadMedia, type TestMedia } from '../clients/media';
import { ObsLikePublisher, WhipRequestError, cleanupDataChannel } from '../clients/obsPublisher';
import { startServer, waitFor, type TestServer } from '../support/server';

/** Whether a video RTP packet starts an H.264 IDR or carries the SPS (a keyframe's first packet). */
function startsKeyframe(packet: Buffer): boolean {
  const v = readRtp(packet)!;
  const nal = packet[v.payloadOffset]! & 0x1f;
  const inner = nal === 28 || nal === 24 ? packet[v.payloadOffset + 1]! & 0x1f : nal;
  return inner === 7 || inner === 5;
}

describe('an OBS-like publisher that crashes and reconnects', function () {
  this.timeout(90_000);
  const TOKEN = 'reconnect-token';
  let server: TestServer;
  let media: TestMedia;

  before(async () => {
    media = await loadMedia();
    server = await startServer({ PUBLISH_TOKEN: TOKEN });
  });

  after(async () => {
    await server.close();
    cleanupDataChannel();
  });

  it('replaces the silent publisher at once; the viewer keeps receiving from the new one without a new WHEP POST', async () => {
    const endpoint = `${server.url}/whip/reconnect`;
    const first = await ObsLikePublisher.start({ endpoint, token: TOKEN, media, stripCandidates: true });
    await first.waitConnected(10_000);
    const viewer = await DataChannelViewer.start(`${server.url}/whep/reconnect`);
    let second: ObsLikePublisher | undefined;
    try {
      await waitFor('the viewer receiving video', () => (viewer.video().length >= 30 ? true : undefined), 10_000);

      // Media is flowing: a second publisher is refused, as before.
      const refused = await ObsLikePublisher.start({ endpoint, token: TOKEN, media, stripCandidates: true }).then(
        (p) => p,
        (e: unknown) => e,
      );
      assert.ok(refused instanceof WhipRequestError && refused.status === 409, `a live publisher keeps its room: ${String(refused)}`);

      // OBS crashes: no DELETE, no more packets. Its session still holds consent for 30 s.
      first.abandon();
      const crashedAt = Date.now();
      // The video track also delivers the Sender Reports onecast sends: RTP only here.
      const rtpVideo = () => viewer.video().filter((p) => classify(p) === 'rtp');
      const lastVideoBefore = rtpVideo().length;
      // OBS comes back at once: its POST waits until the dead publisher has been silent
      // for 2 s (a live one would have kept sending), then takes the room.
      second = await ObsLikePublisher.start({ endpoint, token: TOKEN, media, stripCandidates: true });
      const replacedAt = Date.now();
      await second.waitConnected(10_000);
      console.log(`      new publisher accepted ${replacedAt - crashedAt} ms after the crash`);
      assert.ok(
        replacedAt - crashedAt < 15_000,
        `the new publisher is accepted after the 2 s of silence, long before consent (30 s) would free the room (${replacedAt - crashedAt} ms)`,
      );

      const after = () => viewer.packets.filter((p) => p.kind === 'video' && p.at > replacedAt);
      await waitFor('video from the new publisher', () => (after().length >= 60 ? true : undefined), 10_000);
      assert.ok(
        after().some((p) => startsKeyframe(p.packet)),
        "the new publisher's keyframe reached the viewer",
      );
      const video = rtpVideo();
      const ssrcs = new Set(video.map((p) => readRtp(p)!.ssrc));
      assert.equal(
        ssrcs.size,
        1,
        `one SSRC across both publishers: ${[...ssrcs].map((s) => `${s}×${video.filter((p) => readRtp(p)!.ssrc === s).length}`).join(', ')}`,
      );
      // Sequence numbers go on across the change (no gap beyond what was lost in flight).
      const seqs = video.map((p) => readRtp(p)!.sequenceNumber);
      const jump = (seqs[lastVideoBefore] ?? seqs[seqs.length - 1]!) - seqs[lastVideoBefore - 1]!;
      assert.ok((jump + 65536) % 65536 < 100, `numbering continues across publishers (jump ${jump})`);
      assert.equal(server.server.signaling.sessionCount, 2, 'the new publisher and the same viewer session');
      const room = await server.room('reconnect');
      assert.equal(room?.live, true);
      assert.equal(room?.viewers, 1);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /^onecast_sessions_closed_total\{reason="replaced"\} 1$/m);
      assert.equal(await viewer.stop(), 200, "the viewer's original resource still exists");
    } finally {
      await second?.stop();
      await first.stop();
    }
  });

  it('gives a publisher that is still connecting 5 s before a new WHIP POST may replace it', async () => {
    const offer = readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', 'obs.sdp'), 'utf8');
    const post = () =>
      fetch(`${server.url}/whip/connecting`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${TOKEN}` }, body: offer });
    const first = await post();
    assert.equal(first.status, 201);
    const firstResource = new URL(first.headers.get('location')!, server.url).toString();
    assert.equal((await post()).status, 409, 'a publisher in its handshake keeps the room');
    await new Promise((r) => setTimeout(r, 5_100));
    const second = await post();
    assert.equal(second.status, 201, 'one that has sent nothing for 5 s does not');
    assert.equal((await fetch(firstResource, { method: 'DELETE', headers: { Authorization: `Bearer ${TOKEN}` } })).status, 404, 'the first session is gone');
    await fetch(new URL(second.headers.get('location')!, server.url), { method: 'DELETE', headers: { Authorization: `Bearer ${TOKEN}` } });
  });
});
