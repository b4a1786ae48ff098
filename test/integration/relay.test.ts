// Two onecast servers in the test process: the OBS-like publisher on A, libdatachannel
// viewers on B, which knows from a fixed directory that the room is published on A. B
// pulls it over WHEP (one relay per room, A's play token as the relay's credential) and
// serves its own viewers from it: keyframe first, continuous numbering, one viewer on A
// however many watch on B, losses on the relay's socket NACKed upstream and recovered,
// keyframe requests passed up,
// the relay gone a grace after B's last viewer, and B's viewer kept across A's publisher
// leaving (the room inactive on B) and coming back (B pulls it again).
import assert from 'node:assert/strict';
import { buildPli } from '../../src/rtp/rtcp';
import { readRtp } from '../../src/rtp/rtpPacket';
import { fixedUpstreams } from '../../src/signaling/upstream';
import { DataChannelViewer } from '../clients/dcViewer';
import { LiteClient, LiteClientError, parseAnswer } from '../clients/lite';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { loadMedia, type TestMedia } from '../clients/media';
import { freePort } from '../support/process';
import { startServer, waitFor, type TestServer } from '../support/server';

const PLAY_TOKEN = 'origin-play-token';
const GRACE_MS = 1_000;
const ROOMS = ['relayed', 'lossy', 'pli', 'rejoin', 'cut', 'grace'] as const;

/** Whether a packet a libdatachannel track delivered is RTCP (its Sender Reports come the same way). */
function isRtcp(packet: Buffer): boolean {
  return packet[1]! >= 192 && packet[1]! <= 223;
}

/** The video RTP packets a viewer received. */
function videoRtp(viewer: DataChannelViewer): Buffer[] {
  return viewer.video().filter((p) => !isRtcp(p));
}

/** The H.264 NAL type an RTP payload starts with (for FU-A, the fragment's). */
function nalType(packet: Buffer): number {
  const v = readRtp(packet)!;
  const first = packet[v.payloadOffset]! & 0x1f;
  return first === 28 ? packet[v.payloadOffset + 1]! & 0x1f : first;
}

/** Whether video starts on a keyframe: SPS, PPS, then an IDR before any other slice (SEI may come between). */
function startsOnKeyframe(video: Buffer[]): boolean {
  const types = video.slice(0, 10).map(nalType);
  const idr = types.indexOf(5);
  const slice = types.indexOf(1);
  return types[0] === 7 && types[1] === 8 && idr > 1 && (slice === -1 || slice > idr);
}

/** Sequence numbers missing between the first and last of `packets` (unwrapped, order of arrival ignored). */
function missingSequenceNumbers(packets: Buffer[]): number {
  let last = -1;
  let base = 0;
  const seen = new Set<number>();
  for (const p of packets) {
    const seq = readRtp(p)!.sequenceNumber;
    if (last >= 0 && seq < last - 0x8000) base += 0x10000;
    const unwrapped = base + seq;
    last = seq;
    seen.add(unwrapped);
  }
  const values = [...seen];
  return Math.max(...values) - Math.min(...values) + 1 - seen.size;
}

describe('relay: a room published on node A watched on node B', function () {
  this.timeout(30_000);
  let a: TestServer;
  let b: TestServer;
  let media: TestMedia;
  /** Set by a test to drop one SRTP video datagram on B's relay socket. */
  let dropNextVideo = false;
  let dropped = 0;
  /** The rooms B told a 'publish' event for. */
  const publishedOnB: string[] = [];

  before(async () => {
    media = await loadMedia();
    a = await startServer({ PLAY_TOKEN });
    const nobody = await freePort();
    const upstreams = fixedUpstreams({
      ...Object.fromEntries(ROOMS.map((room) => [room, { url: `${a.url}/whep/${room}`, token: PLAY_TOKEN, nodeId: 'node-a' }])),
      // A node that is not there.
      down: { url: `http://127.0.0.1:${nobody}/whep/down`, token: PLAY_TOKEN, nodeId: 'node-gone' },
    });
    b = await startServer(
      {},
      {
        upstreams,
        relayGraceMs: GRACE_MS,
        relayDropDatagram: (datagram) => {
          // The SRTP header is in clear: payload type 111 is Opus, the rest video.
          if (!dropNextVideo || (datagram[1]! & 0x7f) === 111) return false;
          dropNextVideo = false;
          dropped++;
          return true;
        },
      },
    );
    b.server.events.on('publish', ({ room }) => publishedOnB.push(room));
  });

  after(async () => {
    await b?.close();
    await a?.close();
    cleanupDataChannel();
  });

  async function publishOnA(room: string): Promise<ObsLikePublisher> {
    const publisher = await ObsLikePublisher.start({ endpoint: `${a.url}/whip/${room}`, media, stripCandidates: true });
    await publisher.waitConnected(5_000);
    await waitFor('a keyframe on A', async () => ((await a.room(room))?.video?.keyframes ?? 0) >= 1 || undefined);
    return publisher;
  }

  it("serves B's viewers from one relay, each starting on a keyframe; prints the added latency of the hop", async () => {
    const publisher = await publishOnA('relayed');
    const onA = await DataChannelViewer.start(`${a.url}/whep/relayed`, PLAY_TOKEN);
    const first = await DataChannelViewer.start(`${b.url}/whep/relayed`);
    try {
      await waitFor("60 video packets at B's first viewer", () => (first.video().length >= 60 ? true : undefined), 10_000);
      assert.ok(
        startsOnKeyframe(videoRtp(first)),
        `B's first viewer starts on SPS, PPS, IDR: NAL types ${videoRtp(first).slice(0, 10).map(nalType).join(',')}`,
      );
      const steadyFrom = Date.now();
      const summary = await b.room('relayed');
      assert.equal(summary?.relayedFrom, 'node-a', "B's /api/rooms names the node it relays the room from");
      assert.equal(summary?.recording, false);
      assert.deepEqual(publishedOnB, [], 'a relay is no publish: B tells no publish event (A does)');

      const joinedAt = Date.now();
      const second = await DataChannelViewer.start(`${b.url}/whep/relayed`);
      try {
        await waitFor("video at B's second viewer", () => (second.video().length >= 10 ? true : undefined), 5_000);
        assert.ok(
          startsOnKeyframe(videoRtp(second)),
          `B's second viewer starts on the cached keyframe group: NAL types ${videoRtp(second).slice(0, 10).map(nalType).join(',')}`,
        );
        console.log(`      B's second viewer: POST → first video packet ${second.packets.find((p) => p.kind === 'video')!.at - joinedAt} ms`);
        assert.equal((await b.room('relayed'))?.viewers, 2);
        assert.equal((await a.room('relayed'))?.viewers, 2, "A's viewers: its own one and B's one relay, not one per viewer on B");
        assert.equal(b.server.relays?.size, 1);
      } finally {
        await second.stop();
      }
      // A's Sender Reports, translated at A for the relay and again at B for its viewer.
      const srs = await waitFor("a Sender Report at B's viewer", () => first.video().filter((p) => p[1] === 200).length || undefined, 8_000);
      assert.ok(srs >= 1);
      const sr = first.video().find((p) => p[1] === 200)!;
      assert.equal(sr.readUInt32BE(4), readRtp(videoRtp(first)[0]!)!.ssrc, "the Sender Report names the SSRC B sends its viewer's video with");
      await waitFor("continuous numbering at B's viewer", () => (missingSequenceNumbers(videoRtp(first)) === 0 ? true : undefined), 3_000);

      const steadyCount = first.video().length;
      await waitFor('100 more video packets at B', () => (first.video().length >= steadyCount + 100 ? true : undefined), 10_000);
      // The same payload at A's viewer and at B's: the relay hop's added latency (printed, not asserted).
      const payload = (packet: Buffer): string => packet.subarray(readRtp(packet)!.payloadOffset).toString('base64');
      const atA = new Map(onA.packets.filter((p) => p.kind === 'video' && !isRtcp(p.packet)).map((p) => [payload(p.packet), p.precise]));
      const delays: number[] = [];
      // Live packets only: the keyframe group B's viewer started on reached A's viewer long before.
      for (const p of first.packets.filter((x) => x.kind === 'video' && !isRtcp(x.packet) && x.at >= steadyFrom)) {
        const at = atA.get(payload(p.packet));
        if (at !== undefined) delays.push(p.precise - at);
      }
      delays.sort((x, y) => x - y);
      console.log(
        `      one relay hop (loopback, same process): ${delays.length} packets matched, added latency median ${delays[Math.floor(delays.length / 2)]!.toFixed(2)} ms, p95 ${delays[Math.floor(delays.length * 0.95)]!.toFixed(2)} ms`,
      );
    } finally {
      await first.stop();
      await onA.stop();
      await publisher.stop();
    }
  });

  it("NACKs the upstream for a packet lost on the relay's socket, and B's viewer sees no gap", async () => {
    const publisher = await publishOnA('lossy');
    const viewer = await DataChannelViewer.start(`${b.url}/whep/lossy`);
    try {
      await waitFor('video at B', () => (viewer.video().length >= 30 ? true : undefined), 10_000);
      const nacksBefore = b.server.sfu.rooms.get('lossy')!.publisher!.counters.nacksSent;
      const droppedBefore = dropped;
      dropNextVideo = true;
      await waitFor('a video datagram dropped', () => (dropped > droppedBefore ? true : undefined), 5_000);
      const count = viewer.video().length;
      await waitFor('more video after the loss', () => (viewer.video().length >= count + 60 ? true : undefined), 10_000);
      assert.ok(b.server.sfu.rooms.get('lossy')!.publisher!.counters.nacksSent > nacksBefore, 'the relay NACKed its upstream');
      assert.equal(b.server.relays?.pullOf('lossy')?.drops.injected, 1);
      await waitFor("the lost packet at B's viewer after all", () => (missingSequenceNumbers(videoRtp(viewer)) === 0 ? true : undefined), 3_000);
    } finally {
      await viewer.stop();
      await publisher.stop();
    }
  });

  it("passes a viewer's keyframe request on B up to A's publisher", async () => {
    const publisher = await publishOnA('pli');
    const viewer = await LiteClient.connect({ url: `${b.url}/whep/pli`, role: 'play', kinds: ['video'] });
    try {
      const mediaSsrc = [...parseAnswer(viewer.answer).ssrcs.values()][0]![0]!;
      const requests = async (): Promise<number> => (await a.room('pli'))?.publisher?.keyframeRequests ?? 0;
      // Control: without a request from the viewer, none reaches A.
      const control = await requests();
      await new Promise((resolve) => setTimeout(resolve, 700));
      const before = await requests();
      assert.equal(before, control, "no keyframe request reaches A's publisher unasked");
      // Both nodes let one request through per 500 ms: ask every 200 ms until one arrives.
      await waitFor(
        "a keyframe request at A's publisher",
        async () => {
          viewer.sendRtcp(buildPli(1, mediaSsrc));
          return (await requests()) > before ? true : undefined;
        },
        5_000,
        200,
      );
    } finally {
      await viewer.close();
      await publisher.stop();
    }
  });

  it("keeps B's viewer across A's publisher leaving and coming back, with no new WHEP POST", async () => {
    const publisher = await publishOnA('rejoin');
    const viewer = await DataChannelViewer.start(`${b.url}/whep/rejoin`);
    let again: ObsLikePublisher | undefined;
    try {
      await waitFor('video at B', () => (viewer.video().length >= 30 ? true : undefined), 10_000);
      const pull = b.server.relays?.pullOf('rejoin');
      assert.ok(pull !== undefined);
      await publisher.stop();
      // A's 'inactive' event ends the relay: the room is inactive on B too, its viewer stays.
      await waitFor('the room inactive on B', async () => ((await b.room('rejoin'))?.live === false ? true : undefined), 5_000);
      assert.equal((await b.room('rejoin'))?.viewers, 1);
      const before = viewer.video().length;
      again = await publishOnA('rejoin');
      await waitFor('video from the new publish at B', () => (viewer.video().length >= before + 60 ? true : undefined), 10_000);
      assert.notEqual(b.server.relays?.pullOf('rejoin'), pull, 'B pulled the room again');
      // A loss between the nodes is NACKed and filled in a moment later.
      await waitFor('continuous numbering across the change of publisher', () => (missingSequenceNumbers(videoRtp(viewer)) === 0 ? true : undefined), 3_000);
    } finally {
      await viewer.stop();
      await again?.stop();
      await publisher.stop();
    }
  });

  it("pulls the room again when A ends the relay's session, B's viewer staying", async () => {
    const publisher = await publishOnA('cut');
    const viewer = await DataChannelViewer.start(`${b.url}/whep/cut`);
    try {
      await waitFor('video at B', () => (viewer.video().length >= 30 ? true : undefined), 10_000);
      const pull = b.server.relays!.pullOf('cut')!;
      const cutAt = Date.now();
      const res = await fetch(pull.resourceUrl!, { method: 'DELETE', headers: { Authorization: `Bearer ${PLAY_TOKEN}` } });
      assert.equal(res.status, 200);
      await waitFor(
        'a new relay, connected',
        () => (b.server.relays?.pullOf('cut')?.state === 'connected' && b.server.relays.pullOf('cut') !== pull ? true : undefined),
        20_000,
      );
      console.log(`      A ended the relay's session: pulled again and connected after ${Date.now() - cutAt} ms`);
      const before = videoRtp(viewer).length;
      await waitFor('video again at B', () => (videoRtp(viewer).length >= before + 60 ? true : undefined), 10_000);
      await waitFor('continuous numbering across the new pull', () => (missingSequenceNumbers(videoRtp(viewer)) === 0 ? true : undefined), 3_000);
    } finally {
      await viewer.stop();
      await publisher.stop();
    }
  });

  it("closes the relay a grace after B's last viewer left, and leaves A's room", async () => {
    const publisher = await publishOnA('grace');
    try {
      const viewer = await DataChannelViewer.start(`${b.url}/whep/grace`);
      await waitFor('video at B', () => (viewer.video().length >= 10 ? true : undefined), 10_000);
      assert.equal((await a.room('grace'))?.viewers, 1);
      await viewer.stop();
      assert.ok(b.server.relays?.pullOf('grace') !== undefined, 'the relay stays for the grace');
      await waitFor('the relay closed', () => (b.server.relays?.pullOf('grace') === undefined ? true : undefined), GRACE_MS + 5_000);
      await waitFor("the relay's session gone from A", async () => ((await a.room('grace'))?.viewers === 0 ? true : undefined));
      assert.equal(await b.room('grace'), undefined, 'B lets go of the room');
    } finally {
      await publisher.stop();
    }
  });

  it('answers 409 for a room published nowhere or not published at its upstream, 503 when the upstream cannot be reached', async () => {
    await assert.rejects(DataChannelViewer.start(`${b.url}/whep/elsewhere`), /409/);
    await assert.rejects(DataChannelViewer.start(`${b.url}/whep/grace`), /409/, "A's own 409: nothing is published there");
    const refused = LiteClient.connect({ url: `${b.url}/whep/down`, role: 'play' });
    await assert.rejects(
      refused,
      (e: unknown) => e instanceof LiteClientError && e.status === 503 && /node-gone/.test(e.message) && e.retryAfter !== undefined,
    );
    assert.equal(b.server.relays?.size, 0, 'no relay is left behind');
  });
});
