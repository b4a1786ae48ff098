// Three publishers in three rooms at once, all through UDP_PORT. With a specific BIND
// the server process holds exactly one UDP socket; with the default (wildcard) BIND,
// one per local address plus the wildcard, every one of them on UDP_PORT.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { loadMedia } from '../clients/media';
import { freePort, runServerToExit, spawnServer, udpSocketsOf, type ServerProcess } from '../support/process';
import { waitFor } from '../support/server';
import type { RoomSummary } from '../../src/http/roomSummary';

/** Three OBS-like publishers in three rooms of the server at `base`, live through UDP_PORT; runs `check` while they are. */
async function withThreeLiveRooms(base: string, udpPort: number, check: () => void): Promise<void> {
  const media = await loadMedia();
  const rooms = ['one', 'two_2', 'three-3'];
  const publishers = await Promise.all(rooms.map((room) => ObsLikePublisher.start({ endpoint: `${base}/whip/${room}`, media })));
  try {
    for (const p of publishers) {
      const ports = [...p.answer.matchAll(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/g)].map((m) => Number(m[1]));
      assert.ok(ports.length > 0, 'the answer has host candidates');
      assert.ok(
        ports.every((port) => port === udpPort),
        `every candidate names UDP_PORT ${udpPort}: ${ports.join(',')}`,
      );
    }
    await Promise.all(publishers.map((p) => p.waitConnected(5_000)));
    const summaries = await waitFor(
      'keyframes in all three rooms',
      async () => {
        const list = (await (await fetch(`${base}/api/rooms`)).json()) as RoomSummary[];
        const live = rooms.map((name) => list.find((r) => r.room === name));
        return live.every((r) => r?.live && r.video && r.video.keyframes >= 2 && r.audio && r.audio.packets > 50) ? (live as RoomSummary[]) : undefined;
      },
      15_000,
    );
    for (const r of summaries) assert.equal(r.publisher?.srtpAuthFailures, 0, `${r.room}: no SRTP failures`);
    check();
  } finally {
    for (const p of publishers) await p.stop();
  }
}

/** The sockets the server should hold: one for a specific BIND; for the wildcard, one per local IPv4 address and the wildcard. */
function expectedSockets(bind: string | undefined): string[] {
  if (bind !== undefined) return [bind];
  const local = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i?.family === 'IPv4')
    .map((i) => i!.address);
  return [...new Set(local), '0.0.0.0'];
}

for (const bind of ['127.0.0.1', undefined] as const) {
  describe(`one UDP port for every session (BIND ${bind ?? 'default'})`, function () {
    this.timeout(60_000);
    let proc: ServerProcess;
    let httpPort: number;
    let udpPort: number;

    before(async () => {
      httpPort = await freePort();
      udpPort = await freePort();
      proc = await spawnServer({
        HTTP_PORT: String(httpPort),
        UDP_PORT: String(udpPort),
        ...(bind !== undefined ? { BIND: bind } : {}),
        PUBLIC_IPS: '127.0.0.1',
      });
    });

    after(async () => {
      const code = await proc?.stop();
      cleanupDataChannel();
      assert.equal(code, 0, 'the server exits 0 on SIGTERM');
    });

    const expected = expectedSockets(bind);
    it(`carries three publishers in three rooms while holding ${expected.length === 1 ? 'exactly one UDP socket' : `one UDP socket for each of ${expected.join(', ')}`}, all on UDP_PORT`, async () => {
      await withThreeLiveRooms(`http://127.0.0.1:${httpPort}`, udpPort, () => {
        const sockets = udpSocketsOf(proc.child.pid!);
        assert.deepEqual(
          sockets,
          expected.map(() => udpPort),
          `the server holds ${expected.length} UDP socket(s) (${expected.join(', ')}), all on UDP_PORT ${udpPort} (found ports ${sockets.join(',')})`,
        );
        console.log(`      3 rooms live through UDP port ${udpPort}; server UDP sockets: ${sockets.length}`);
      });
    });
  });
}

describe('UDP_PORT held by another program', function () {
  this.timeout(30_000);

  // The default BIND's sockets share the port through SO_REUSEADDR, which would let them
  // share it with any other socket that sets it too, and take its traffic.
  it('stops start-up with "port is already in use" even when that program set SO_REUSEADDR', async () => {
    const udpPort = await freePort();
    const holder = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve) => holder.bind(udpPort, '127.0.0.1', () => resolve()));
    try {
      const { code, output } = await runServerToExit({ HTTP_PORT: String(await freePort()), UDP_PORT: String(udpPort), PUBLIC_IPS: '127.0.0.1' });
      assert.equal(code, 1, output);
      assert.match(output, /cannot start: the port is already in use/);
    } finally {
      holder.close();
    }
  });
});
