// The cluster's directory on a real redis-server, with nodes in their own processes and real
// clients: the origin lease a publisher's node takes (and what it refuses to other nodes), the
// node registry and /api/nodes, the viewer counts, the cluster credential against a node's play
// auth, a viewer on a node that is not the origin served through a relay, and Redis killed
// and brought back.
import assert from 'node:assert/strict';
import { makeClusterCredential } from '../../src/auth/clusterCredential';
import { ClusterDirectory } from '../../src/cluster/directory';
import { ENTRY_TTL_MS } from '../../src/cluster/keys';
import { silentLogger } from '../../src/log';
import type { NodeEntry } from '../../src/cluster/nodeRegistry';
import { DataChannelViewer } from '../clients/dcViewer';
import { loadMedia, type TestMedia } from '../clients/media';
import { ObsLikePublisher, WhipRequestError, cleanupDataChannel } from '../clients/obsPublisher';
import { TEST_CLUSTER_SECRET, startNode, type ClusterNode } from '../support/cluster';
import { RedisServer } from '../support/redisServer';
import { waitFor } from '../support/server';

const ROOM = 'cluster-room';
const PLAY_TOKEN = 'play-token-of-node-2';

describe('the cluster directory on Redis', function () {
  this.timeout(120_000);
  let redis: RedisServer;
  let media: TestMedia;
  let one: ClusterNode;
  let two: ClusterNode;
  const publishers: ObsLikePublisher[] = [];
  const viewers: DataChannelViewer[] = [];

  const ttlOf = (key: string) => redis.query((c) => c.pTTL(key));
  const nodesOf = async (node: ClusterNode, token?: string): Promise<NodeEntry[]> => {
    const res = await fetch(`${node.url}/api/nodes`, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as NodeEntry[];
  };
  // /api/rooms lists the cluster's rooms too: those with a publisher (or a relay) here are this node's.
  const publishedOn = async (node: ClusterNode): Promise<string[]> =>
    ((await (await fetch(`${node.url}/api/rooms`)).json()) as { room: string; publisher: unknown }[]).filter((r) => r.publisher !== null).map((r) => r.room);
  const publish = async (node: ClusterNode) => {
    const publisher = await ObsLikePublisher.start({ endpoint: `${node.url}/whip/${ROOM}`, media });
    publishers.push(publisher);
    return publisher;
  };

  before(async () => {
    media = await loadMedia();
    redis = await RedisServer.start();
    [one, two] = await Promise.all([startNode(redis.url, 'node-1'), startNode(redis.url, 'node-2', { PLAY_TOKEN })]);
  });

  after(async () => {
    for (const v of viewers) await v.stop().catch(() => undefined);
    for (const p of publishers) await p.stop().catch(() => undefined);
    await Promise.all([one, two].filter((n) => n !== undefined).map((n) => n.proc.stop()));
    cleanupDataChannel();
    await redis?.stop();
  });

  it('registers every node with its URL and load, each entry expiring unless renewed', async () => {
    for (const node of [one, two]) {
      const entry = await waitFor(`${node.id}'s entry`, () => redis.query((c) => c.hGetAll(`onecast:node:${node.id}`)).then((h) => (h['url'] ? h : undefined)));
      assert.equal(entry['url'], node.url);
      assert.deepEqual(Object.keys(entry).sort(), ['cpu', 'maxRelays', 'maxViewers', 'publishers', 'relays', 'updatedAt', 'url', 'viewers']);
      const ttl = await ttlOf(`onecast:node:${node.id}`);
      assert.ok(ttl > 0 && ttl <= ENTRY_TTL_MS, `node entry PTTL ${ttl}`);
    }
    assert.deepEqual((await redis.query((c) => c.zRange('onecast:nodes', 0, -1))).sort(), ['node-1', 'node-2']);
  });

  it("makes the publisher's node the room's origin; a WHIP POST on another node gets 409", async () => {
    await publish(one);
    await waitFor('the origin lease', async () => ((await redis.query((c) => c.get(`onecast:origin:${ROOM}`))) === 'node-1' ? true : undefined));
    const ttl = await ttlOf(`onecast:origin:${ROOM}`);
    assert.ok(ttl > 0 && ttl <= ENTRY_TTL_MS, `origin lease PTTL ${ttl}`);
    const refused = await ObsLikePublisher.start({ endpoint: `${two.url}/whip/${ROOM}`, media }).then(
      (p) => (publishers.push(p), undefined),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof WhipRequestError, `expected a refusal, got ${String(refused)}`);
    assert.equal(refused.status, 409);
    assert.match(refused.body, /node-1/);
  });

  it("counts a room's viewers per node, and /api/nodes on either node lists both with their load", async () => {
    viewers.push(await DataChannelViewer.start(`${one.url}/whep/${ROOM}`));
    assert.match(viewers[0]!.resourceUrl, new RegExp(`^${one.url}/whep/`), 'the Location names the node');
    assert.match(viewers[0]!.headers.get('link') ?? '', new RegExp(`<${one.url}/whep/${ROOM}/[0-9a-f]+/events>`), 'so does the events Link');
    await waitFor('the viewer count', async () => ((await redis.query((c) => c.hGet(`onecast:viewers:${ROOM}`, 'node-1'))) === '1' ? true : undefined));
    const ttl = await ttlOf(`onecast:viewers:${ROOM}`);
    assert.ok(ttl > 0 && ttl <= ENTRY_TTL_MS, `viewer count PTTL ${ttl}`);
    const listed = await waitFor('the load in the registry', async () => {
      const nodes = await nodesOf(one);
      return nodes.find((n) => n.id === 'node-1')?.viewers === 1 ? nodes : undefined;
    });
    assert.deepEqual(
      listed.map((n) => [n.id, n.url]),
      [
        ['node-1', one.url],
        ['node-2', two.url],
      ],
    );
    assert.equal(listed[0]!.publishers, 1);
    assert.ok(listed.every((n) => n.cpu >= 0 && !Number.isNaN(Date.parse(n.updatedAt))));
    // node-2 guards its reads with PLAY_TOKEN: the cluster credential passes it.
    assert.deepEqual(
      (await nodesOf(two, makeClusterCredential(TEST_CLUSTER_SECRET))).map((n) => n.id),
      ['node-1', 'node-2'],
    );
  });

  it('lets another node publish the room once its publisher has left', async () => {
    await viewers.shift()!.stop();
    await publishers.shift()!.stop();
    await waitFor('the lease let go', async () => ((await redis.query((c) => c.exists(`onecast:origin:${ROOM}`))) === 0 ? true : undefined));
    await publish(two);
    await waitFor('the origin lease on node-2', async () => ((await redis.query((c) => c.get(`onecast:origin:${ROOM}`))) === 'node-2' ? true : undefined));
  });

  it("accepts the cluster credential as play whatever the node's play auth; a forged or expired one is refused", async () => {
    const post = (token: string) => DataChannelViewer.start(`${two.url}/whep/${ROOM}`, token);
    const forged = makeClusterCredential('another-secret-of-thirty-two-characters-or-more');
    const expired = makeClusterCredential(TEST_CLUSTER_SECRET, Date.now() - 7_200_000);
    await assert.rejects(post(forged), /answered 401/);
    await assert.rejects(post(expired), /answered 401/);
    const viewer = await post(makeClusterCredential(TEST_CLUSTER_SECRET));
    viewers.push(viewer);
    await waitFor('video through the cluster credential', () => (viewer.video().length > 30 ? true : undefined));
  });

  it("tells another node where the room is: the origin's WHEP URL and a credential that pulls from it", async () => {
    const settings = { redisUrl: redis.url, nodeUrl: 'http://127.0.0.1:9', nodeId: 'probe', clusterSecret: TEST_CLUSTER_SECRET };
    const probe = await ClusterDirectory.open(settings, silentLogger, () => ({ viewers: 0, publishers: 0, relays: 0 }));
    try {
      const upstream = await probe.upstreamOf(ROOM);
      assert.deepEqual({ ...upstream, token: undefined }, { url: `${two.url}/whep/${ROOM}`, nodeId: 'node-2', depth: 1, token: undefined });
      assert.equal(await probe.upstreamOf('nobody-publishes-this'), undefined);
      // node-2 guards watching with PLAY_TOKEN; the upstream's credential gets through.
      const pull = await DataChannelViewer.start(upstream!.url, upstream!.token);
      await waitFor('video pulled with the upstream credential', () => (pull.video().length > 30 ? true : undefined));
      await pull.stop();
    } finally {
      await probe.close();
    }
  });

  it("serves a viewer on any node: the other node answers 201 and pulls the room through one relay, past the origin's play auth", async () => {
    const viewersOnTwo = async () =>
      (
        (await (await fetch(`${two.url}/api/rooms`, { headers: { Authorization: `Bearer ${PLAY_TOKEN}` } })).json()) as { room: string; viewers: number }[]
      ).find((r) => r.room === ROOM)?.viewers;
    const before = await viewersOnTwo();
    // node-1 has no play auth of its own; the relay it opens gets through node-2's PLAY_TOKEN with the cluster credential.
    const first = await DataChannelViewer.start(`${one.url}/whep/${ROOM}`);
    viewers.push(first);
    assert.match(first.resourceUrl, new RegExp(`^${one.url}/whep/${ROOM}/`), 'the session is on node-1, and its Location says so');
    await waitFor('video on node-1, relayed from node-2', () => (first.video().length > 30 ? true : undefined));
    const second = await DataChannelViewer.start(`${one.url}/whep/${ROOM}`);
    viewers.push(second);
    await waitFor('video for a second viewer on node-1', () => (second.video().length > 30 ? true : undefined));
    assert.equal(await viewersOnTwo(), before! + 1, "one relay for both of node-1's viewers: one more viewer on node-2");
    const relayed = ((await (await fetch(`${one.url}/api/rooms`)).json()) as { room: string; relayedFrom?: string }[]).find((r) => r.room === ROOM);
    assert.equal(relayed?.relayedFrom, 'node-2');
    await waitFor("node-1's registry entry counting its relay", async () =>
      (await nodesOf(one)).find((n) => n.id === 'node-1')?.relays === 1 ? true : undefined,
    );
    assert.equal(await redis.query((c) => c.get(`onecast:origin:${ROOM}`)), 'node-2', 'the relay claims no lease: node-2 stays the origin');
    for (const v of [first, second]) {
      viewers.splice(viewers.indexOf(v), 1);
      await v.stop();
    }
  });

  it('answers 503 when Redis stops answering without closing its connections, and goes on when it answers again', async () => {
    const offer = publishers[0]!.offer;
    const whip = (room: string) => fetch(`${one.url}/whip/${room}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
    redis.pause();
    try {
      const res = await whip('silent');
      assert.equal(res.status, 503, await res.clone().text());
      assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
    } finally {
      redis.resume();
    }
    const res = await waitFor('a WHIP POST accepted again', async () => {
      const r = await whip('silent');
      return r.status === 201 ? r : undefined;
    });
    await fetch(new URL(res.headers.get('location')!), { method: 'DELETE' });
  });

  it('keeps local viewers going while Redis is down, answers 503 where the directory is needed, and re-asserts everything when it is back', async () => {
    const viewer = viewers[0]!;
    await redis.kill();
    const before = viewer.packets.length;
    await waitFor('media after Redis died', () => (viewer.packets.length > before + 100 ? true : undefined));
    const res = await fetch(`${one.url}/whip/elsewhere`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: publishers[0]!.offer });
    assert.equal(res.status, 503, await res.clone().text());
    assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
    assert.match(((await res.json()) as { detail: string }).detail, /directory \(Redis\)/);
    assert.equal((await fetch(`${one.url}/api/nodes`)).status, 503);

    await redis.restart();
    const started = Date.now();
    await waitFor(
      'the directory re-asserted',
      () =>
        redis.query(async (c) => {
          const [origin, n1, n2, count] = await Promise.all([
            c.get(`onecast:origin:${ROOM}`),
            c.exists('onecast:node:node-1'),
            c.exists('onecast:node:node-2'),
            c.hGet(`onecast:viewers:${ROOM}`, 'node-2'),
          ]);
          return origin === 'node-2' && n1 === 1 && n2 === 1 && count === '1' ? true : undefined;
        }),
      15_000,
    );
    console.log(`      directory whole again ${Date.now() - started} ms after redis-server answered`);
    assert.equal((await nodesOf(one)).length, 2);
  });
  it('closes a publish whose node finds, once it connects, that another node holds the room', async () => {
    // A lease whose holder has no registry entry: the POST cannot see it, the claim at connect does.
    await redis.query((c) => c.set('onecast:origin:contested', 'node-x', { expiration: { type: 'PX', value: ENTRY_TTL_MS } }));
    const publisher = await ObsLikePublisher.start({ endpoint: `${one.url}/whip/contested`, media });
    publishers.push(publisher);
    await waitFor('the publish closed', async () => ((await publishedOn(one)).includes('contested') ? undefined : true));
    assert.match(one.proc.output(), /"node":"node-x","msg":"publish ended: another node of the cluster has the room"/);
    assert.equal(await redis.query((c) => c.get('onecast:origin:contested')), 'node-x', 'the holder keeps its lease');
  });

  it("frees the rooms of a node that dies within the lease's expiry: another node may publish them", async () => {
    await two.proc.stop('SIGKILL');
    const killedAt = Date.now();
    const taken = await waitFor(
      'a publish on node-1 accepted',
      () => ObsLikePublisher.start({ endpoint: `${one.url}/whip/${ROOM}`, media }).catch(() => undefined),
      ENTRY_TTL_MS * 2,
      250,
    );
    publishers.push(taken);
    console.log(`      room published on node-1 ${Date.now() - killedAt} ms after node-2's SIGKILL (lease expiry ${ENTRY_TTL_MS} ms)`);
    await waitFor('node-1 the origin', async () => ((await redis.query((c) => c.get(`onecast:origin:${ROOM}`))) === 'node-1' ? true : undefined));
    assert.deepEqual(
      (await nodesOf(one)).map((n) => n.id),
      ['node-1'],
    );
  });
});
