// The cluster view's pure parts: a room's viewers summed over nodes, this node's rooms merged
// with the cluster's, every node's recordings merged into one page with absolute URLs, and
// the viewer totals a WHEP player's viewercount follows.
import assert from 'node:assert/strict';
import { sumOfCounts } from '../../src/cluster/clusterView';
import { ViewerTotals } from '../../src/cluster/viewerTotals';
import { mergePages, onNode } from '../../src/http/clusterRecordings';
import { withClusterRooms, type RoomSummary } from '../../src/http/roomSummary';
import type { RecordingInfo } from '../../src/recordings/recordingInfo';

function summary(room: string, viewers: number): RoomSummary {
  return { room, live: true, viewers, recording: false, thumbnail: null, video: null, audio: null, publisher: null };
}

function recording(room: string, id: string, startedAt: string): RecordingInfo {
  return {
    room,
    id,
    startedAt,
    endedAt: null,
    durationSeconds: null,
    bytes: 0,
    playlist: `/recordings/${room}/${id}/index.m3u8`,
    download: `/recordings/${room}/${id}.mp4`,
    status: 'finished',
  };
}

describe('the cluster view', () => {
  it("sums a room's viewers over nodes, a relaying node's pull taken off", () => {
    // node-1 the origin: 2 people and node-2's relay; node-2: 3 people, minus its pull.
    assert.equal(sumOfCounts({ 'node-1': '3', 'node-2': '2' }), 5);
    // A relay kept a while after its last viewer left: its pull cancels out.
    assert.equal(sumOfCounts({ 'node-1': '1', 'node-2': '-1' }), 0);
    assert.equal(sumOfCounts(null), 0);
    assert.equal(sumOfCounts({ 'node-1': 'not a number' }), 0);
  });

  it("gives this node's rooms their origin and cluster-wide count, and adds the rooms published elsewhere", () => {
    const merged = withClusterRooms(
      [summary('here', 2), summary('no-publisher', 1)],
      [
        { room: 'elsewhere', origin: 'node-2', viewers: 7 },
        { room: 'here', origin: 'node-1', viewers: 5 },
      ],
    );
    assert.deepEqual(
      merged.map((r) => [r.room, r.live, r.viewers, r.origin, r.clusterViewers]),
      [
        ['here', true, 2, 'node-1', 5],
        ['no-publisher', true, 1, undefined, undefined],
        ['elsewhere', true, 0, 'node-2', 7],
      ],
    );
  });

  it("merges the nodes' recordings newest first, each URL on its holder, with a next page when any node has more", () => {
    const one = 'http://10.0.0.1:8080';
    const two = 'http://10.0.0.2:8080';
    const a = onNode(recording('r', 'a', '2026-01-01T10:00:00Z'), one);
    const b = onNode(recording('r', 'b', '2026-01-01T11:00:00Z'), two);
    const c = onNode(recording('s', 'c', '2026-01-01T09:00:00Z'), two);
    assert.equal(a.playlist, `${one}/recordings/r/a/index.m3u8`);
    assert.equal(b.download, `${two}/recordings/r/b.mp4`);
    assert.equal(onNode(a, two).playlist, a.playlist, 'an absolute URL stays');
    const page = mergePages(
      [
        { recordings: [a], more: false },
        { recordings: [b, c], more: false },
      ],
      2,
    );
    assert.deepEqual(
      page.recordings.map((r) => r.id),
      ['b', 'a'],
    );
    assert.ok(page.more);
    assert.ok(mergePages([{ recordings: [a], more: true }], 5).more);
    assert.ok(!mergePages([{ recordings: [a, b], more: false }], 2).more);
  });

  it('tells watchers of a room its cluster-wide count as read, and the count on this node while the directory cannot be read', async () => {
    let total: number | undefined = 4;
    const totals = new ViewerTotals(
      (room) => (total === undefined ? Promise.reject(new Error('Redis down')) : Promise.resolve(room === 'r' ? total : 0)),
      () => 1,
      3_600_000,
    );
    const heard: number[] = [];
    const late: number[] = [];
    const stop = totals.watch('r', (n) => heard.push(n));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(heard, [4]);
    const stopLate = totals.watch('r', (n) => late.push(n));
    assert.deepEqual(late, [4], 'a new watcher hears the last count at once');
    stop();
    stopLate();
    total = undefined;
    const down: number[] = [];
    const stopDown = totals.watch('s', (n) => down.push(n));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(down, [1]);
    stopDown();
  });
});
