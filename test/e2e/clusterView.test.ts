// The cluster as any node shows it, on a real redis-server with two node processes and real
// clients: a room published on node-1 listed by node-2 with its origin and the viewers of
// both nodes summed (the relay between them not counted), the same sum in the viewercount a
// WHEP player on node-2 reads, and node-1's recordings listed by node-2 with URLs on node-1.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RecordingInfo } from '../../src/recordings/recordingInfo';
import type { RoomSummary } from '../../src/http/roomSummary';
import { DataChannelViewer } from '../clients/dcViewer';
import { loadMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { startNode, type ClusterNode } from '../support/cluster';
import { RedisServer } from '../support/redisServer';
import { waitFor } from '../support/server';
import { SseReader } from '../support/sse';

const ROOM = 'cluster-view';

describe('the cluster view', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let recordings: string;
  let one: ClusterNode;
  let two: ClusterNode;
  let publisher: ObsLikePublisher | undefined;
  const viewers: DataChannelViewer[] = [];
  let events: SseReader | undefined;

  const roomOn = async (node: ClusterNode): Promise<RoomSummary | undefined> =>
    ((await (await fetch(`${node.url}/api/rooms`)).json()) as RoomSummary[]).find((r) => r.room === ROOM);

  before(async () => {
    recordings = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-cluster-view-'));
    redis = await RedisServer.start();
    [one, two] = await Promise.all([startNode(redis.url, 'node-1', { RECORD: 'on', RECORDINGS_DIR: recordings }), startNode(redis.url, 'node-2')]);
    publisher = await ObsLikePublisher.start({ endpoint: `${one.url}/whip/${ROOM}`, media: await loadMedia() });
  });

  after(async () => {
    events?.abort();
    for (const v of viewers) await v.stop().catch(() => undefined);
    await publisher?.stop().catch(() => undefined);
    await Promise.all([one, two].filter((n) => n !== undefined).map((n) => n.proc.stop()));
    cleanupDataChannel();
    await redis?.stop();
    await fs.rm(recordings, { recursive: true, force: true });
  });

  it('lists a room published on node-1 on node-2, with its origin', async () => {
    const listed = await waitFor('the room on node-2', () => roomOn(two));
    assert.equal(listed.origin, 'node-1');
    assert.equal(listed.live, true);
    assert.equal(listed.clusterViewers, 0);
  });

  it("sums the room's viewers over both nodes, in /api/rooms and in a WHEP player's viewercount on node-2", async () => {
    viewers.push(await DataChannelViewer.start(`${one.url}/whep/${ROOM}`));
    const onTwo = await DataChannelViewer.start(`${two.url}/whep/${ROOM}`);
    viewers.push(onTwo);
    await waitFor('video on node-2, relayed', () => (onTwo.video().length > 30 ? true : undefined));
    for (const node of [one, two]) {
      const room = await waitFor(`two viewers counted on ${node.id}`, async () => {
        const r = await roomOn(node);
        return r?.clusterViewers === 2 ? r : undefined;
      });
      assert.equal(room.origin, 'node-1');
    }
    // node-1's own count holds node-2's relay; the sum counts people.
    assert.equal((await roomOn(one))?.viewers, 2);
    assert.equal((await roomOn(two))?.viewers, 1);

    const posted = await fetch(`${onTwo.resourceUrl}/events`, { method: 'POST' });
    assert.equal(posted.status, 201, await posted.clone().text());
    events = await SseReader.open(new URL(posted.headers.get('location')!, two.url).toString());
    await events.next('a viewercount of 2 on node-2', (e) => e.event === 'viewercount' && JSON.parse(e.data).viewercount === 2);
    assert.ok(
      events.named('viewercount').every((e) => JSON.parse(e.data).viewercount !== 1),
      "the player hears the cluster's count, never node-2's own",
    );
  });

  it("lists node-1's recordings on node-2 with node-1's URLs, which answer", async () => {
    const listed = await waitFor('the recording listed on node-2', async () => {
      const res = await fetch(`${two.url}/api/recordings?room=${ROOM}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('onecast-cluster-view'), null, 'every node answered');
      return ((await res.json()) as RecordingInfo[])[0];
    });
    assert.match(listed.playlist, new RegExp(`^${one.url}/recordings/${ROOM}/`));
    assert.match(listed.download, new RegExp(`^${one.url}/recordings/${ROOM}/`));
    // The playlist is written with the recording's first segment.
    const playlist = await waitFor('the playlist on node-1', async () => {
      const res = await fetch(listed.playlist);
      return res.status === 200 ? res.text() : undefined;
    });
    assert.match(playlist, /#EXTM3U/);
    const onOne = ((await (await fetch(`${one.url}/api/recordings`)).json()) as RecordingInfo[]).map((r) => r.playlist);
    assert.deepEqual(onOne, [listed.playlist], 'node-1 lists its own with its absolute URL too');
  });
});
