// Load spreading in a cluster on a real redis-server, nodes in their own processes: a WHEP POST
// to a node at its MAX_VIEWERS is sent on with 307 to a node with room, where the libdatachannel
// viewer (fetch follows a 307 with its body) plays; with no node left with room, today's 503.
import assert from 'node:assert/strict';
import type { NodeEntry } from '../../src/cluster/nodeRegistry';
import { DataChannelViewer } from '../clients/dcViewer';
import { loadMedia, type TestMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { startNode, type ClusterNode } from '../support/cluster';
import { RedisServer } from '../support/redisServer';
import { waitFor } from '../support/server';

const ROOM = 'spread-room';

describe('load spreading in a cluster', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let media: TestMedia;
  let full: ClusterNode;
  let spare: ClusterNode;
  const publishers: ObsLikePublisher[] = [];
  const viewers: DataChannelViewer[] = [];

  const postWithoutFollowing = (node: ClusterNode) =>
    fetch(`${node.url}/whep/${ROOM}?x=1`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: publishers[0]!.offer, redirect: 'manual' });
  const entryOf = async (node: ClusterNode): Promise<NodeEntry | undefined> =>
    ((await (await fetch(`${node.url}/api/nodes`)).json()) as NodeEntry[]).find((n) => n.id === node.id);

  before(async () => {
    media = await loadMedia();
    redis = await RedisServer.start();
    [full, spare] = await Promise.all([startNode(redis.url, 'node-a', { MAX_VIEWERS: '1' }), startNode(redis.url, 'node-b', { MAX_VIEWERS: '1' })]);
    publishers.push(await ObsLikePublisher.start({ endpoint: `${full.url}/whip/${ROOM}`, media }));
    await waitFor('both nodes registered', async () => ((await entryOf(spare)) !== undefined && (await entryOf(full)) !== undefined ? true : undefined));
  });

  after(async () => {
    for (const v of viewers) await v.stop().catch(() => undefined);
    for (const p of publishers) await p.stop().catch(() => undefined);
    await Promise.all([full, spare].filter((n) => n !== undefined).map((n) => n.proc.stop()));
    cleanupDataChannel();
    await redis?.stop();
  });

  it('registers each node with its MAX_VIEWERS', async () => {
    assert.equal((await entryOf(full))?.maxViewers, 1);
  });

  it('sends a WHEP POST to a full node on with 307 to the same endpoint on a node with room, where the viewer plays', async () => {
    const first = await DataChannelViewer.start(`${full.url}/whep/${ROOM}`);
    viewers.push(first);
    assert.match(first.resourceUrl, new RegExp(`^${full.url}/`));
    const redirect = await postWithoutFollowing(full);
    assert.equal(redirect.status, 307, await redirect.text());
    assert.equal(redirect.headers.get('location'), `${spare.url}/whep/${ROOM}?x=1`, 'the same endpoint and query on the node with room');

    const second = await DataChannelViewer.start(`${full.url}/whep/${ROOM}`);
    viewers.push(second);
    assert.match(second.resourceUrl, new RegExp(`^${spare.url}/whep/${ROOM}/`), 'the session is on the node with room, and its Location says so');
    await waitFor('video on the node with room, relayed from the full one', () => (second.video().length > 30 ? true : undefined));
  });

  it('answers 503 as before when no node has room, and never redirects a node to itself', async () => {
    await waitFor("the spare node's registry entry counting its viewer", async () => ((await entryOf(spare))?.viewers === 1 ? true : undefined));
    for (const node of [full, spare]) {
      const refused = await DataChannelViewer.start(`${node.url}/whep/${ROOM}`).catch((error: unknown) => error);
      assert.match(String(refused), /answered 503: .*MAX_VIEWERS/, `${node.id}: neither another node nor itself`);
    }
  });
});
