// The relay tree on a real redis-server, nodes in their own processes: with MAX_RELAYS=1 the
// origin takes one relay, and each later edge pulls from the deepest relay so far, a chain
// origin → edge-1 → … → edge-4; a viewer at the deepest node gets video with continuous
// numbering, and the latency each hop adds is printed (never asserted); a fifth edge would be
// deeper than the tree may go, and is told so.
import assert from 'node:assert/strict';
import { readRtp } from '../../src/rtp/rtpPacket';
import { MAX_TREE_DEPTH } from '../../src/cluster/relayTree';
import { DataChannelViewer } from '../clients/dcViewer';
import { loadMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { startNode, type ClusterNode } from '../support/cluster';
import { RedisServer } from '../support/redisServer';
import { waitFor } from '../support/server';

const ROOM = 'tree-room';
const EDGES = MAX_TREE_DEPTH;

const isRtp = (p: Buffer) => p.length > 12 && !(p[1]! >= 192 && p[1]! <= 223);

describe('the relay tree in a cluster', function () {
  this.timeout(90_000);
  let redis: RedisServer;
  const nodes: ClusterNode[] = [];
  let publisher: ObsLikePublisher | undefined;
  const viewers: DataChannelViewer[] = [];

  before(async () => {
    const media = await loadMedia();
    redis = await RedisServer.start();
    // One after the other: six processes starting at once on a shared machine can each take longer than a start may.
    for (const id of ['origin', ...Array.from({ length: EDGES + 1 }, (_, i) => `edge-${i + 1}`)])
      nodes.push(await startNode(redis.url, id, { MAX_RELAYS: '1' }));
    publisher = await ObsLikePublisher.start({ endpoint: `${nodes[0]!.url}/whip/${ROOM}`, media });
  });

  after(async () => {
    for (const v of viewers) await v.stop().catch(() => undefined);
    await publisher?.stop().catch(() => undefined);
    await Promise.all(nodes.map((n) => n.proc.stop()));
    cleanupDataChannel();
    await redis?.stop();
  });

  it(`chains ${EDGES} edges under an origin with MAX_RELAYS=1; the deepest viewer gets continuous video; a node past the depth bound gets 503`, async () => {
    const [origin, ...edges] = nodes;
    const atOrigin = await DataChannelViewer.start(`${origin!.url}/whep/${ROOM}`);
    viewers.push(atOrigin);
    await waitFor('video at the origin', () => (atOrigin.video().length > 30 ? true : undefined), 10_000);
    let deepest = atOrigin;
    for (const edge of edges.slice(0, EDGES)) {
      deepest = await DataChannelViewer.start(`${edge.url}/whep/${ROOM}`);
      viewers.push(deepest);
      await waitFor(`video at ${edge.id}`, () => (deepest.video().length > 30 ? true : undefined), 10_000);
    }
    const tree = await redis.query((c) => c.hGetAll(`onecast:relays:${ROOM}`));
    assert.deepEqual(
      tree,
      Object.fromEntries(edges.slice(0, EDGES).map((e, i) => [e.id, `${i === 0 ? 'origin' : edges[i - 1]!.id}:${i + 1}`])),
      'each edge pulls from the one before it, one level deeper',
    );
    const late = await DataChannelViewer.start(`${edges[EDGES]!.url}/whep/${ROOM}`).catch((error: unknown) => error);
    assert.match(String(late), /answered 503: .*Relay tree full/);

    // The same packets at the origin's viewer and the deepest one: the added latency of the hops.
    const from = performance.now();
    await waitFor('200 more packets at the deepest viewer', () => (deepest.packets.filter((p) => p.precise >= from).length >= 200 ? true : undefined), 15_000);
    const video = deepest.packets.filter((p) => p.kind === 'video' && isRtp(p.packet) && p.precise >= from);
    const seqs = [...new Set(video.map((p) => readRtp(p.packet)!.sequenceNumber))];
    const unwrapped = seqs.map((s) => (s < seqs[0]! - 0x8000 ? s + 0x10000 : s)).sort((a, b) => a - b);
    assert.equal(unwrapped.at(-1)! - unwrapped[0]! + 1, unwrapped.length, 'continuous numbering at the deepest viewer');
    const payload = (packet: Buffer) => packet.subarray(readRtp(packet)!.payloadOffset).toString('base64');
    const atRoot = new Map(atOrigin.packets.filter((p) => p.kind === 'video' && isRtp(p.packet)).map((p) => [payload(p.packet), p.precise]));
    const delays = video.flatMap((p) => {
      const at = atRoot.get(payload(p.packet));
      return at === undefined ? [] : [p.precise - at];
    });
    delays.sort((a, b) => a - b);
    assert.ok(delays.length > 0, 'the same packets at both viewers');
    const median = delays[Math.floor(delays.length / 2)]!;
    console.log(
      `      ${EDGES} relay hops (loopback, ${nodes.length} node processes on one machine): ${delays.length} packets matched, added latency median ${median.toFixed(2)} ms (${(median / EDGES).toFixed(2)} ms per hop), p95 ${delays[Math.floor(delays.length * 0.95)]!.toFixed(2)} ms`,
    );
  });
});
