// Three publishers in three rooms at once, all through UDP_PORT, while the server
// process holds exactly one UDP socket.
import assert from 'node:assert/strict';
import { ObsLikePublisher, cleanupDataChannel } from '../support/obsPublisher';
import { loadMedia } from '../support/media';
import { freePort, spawnServer, udpSocketsOf, type ServerProcess } from '../support/process';
import { waitFor } from '../support/server';
import type { RoomSummary } from '../../src/sfu/room';

describe('one UDP port for every session', function () {
  this.timeout(60_000);
  let proc: ServerProcess;
  let httpPort: number;
  let udpPort: number;

  before(async () => {
    httpPort = await freePort();
    udpPort = await freePort();
    proc = await spawnServer({ HTTP_PORT: String(httpPort), UDP_PORT: String(udpPort), BIND: '127.0.0.1', PUBLIC_IPS: '127.0.0.1' });
  });

  after(async () => {
    const code = await proc?.stop();
    cleanupDataChannel();
    assert.equal(code, 0, 'the server exits 0 on SIGTERM');
  });

  it('carries three publishers in three rooms while holding exactly one UDP socket', async () => {
    const media = await loadMedia();
    const base = `http://127.0.0.1:${httpPort}`;
    const rooms = ['one', 'two_2', 'three-3'];
    const publishers = await Promise.all(rooms.map((room) => ObsLikePublisher.start({ endpoint: `${base}/whip/${room}`, media })));
    try {
      for (const p of publishers) {
        const ports = [...p.answer.matchAll(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/g)].map((m) => Number(m[1]));
        assert.ok(ports.length > 0, 'the answer has host candidates');
        assert.ok(ports.every((port) => port === udpPort), `every candidate names UDP_PORT ${udpPort}: ${ports.join(',')}`);
      }
      await Promise.all(publishers.map((p) => p.waitConnected(5_000)));
      const summaries = await waitFor('keyframes in all three rooms', async () => {
        const list = (await (await fetch(`${base}/api/rooms`)).json()) as RoomSummary[];
        const live = rooms.map((name) => list.find((r) => r.room === name));
        return live.every((r) => r?.live && r.video && r.video.keyframes >= 2 && r.audio && r.audio.packets > 50) ? (live as RoomSummary[]) : undefined;
      }, 15_000);
      for (const r of summaries) assert.equal(r.publisher?.srtpAuthFailures, 0, `${r.room}: no SRTP failures`);
      const sockets = udpSocketsOf(proc.child.pid!);
      assert.deepEqual(sockets, [udpPort], `the server holds exactly one UDP socket, on UDP_PORT (found ports ${sockets.join(',')})`);
      console.log(`      3 rooms live through UDP port ${udpPort}; server UDP sockets: ${sockets.length}`);
    } finally {
      for (const p of publishers) await p.stop();
    }
  });
});
