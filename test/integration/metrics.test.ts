// GET /metrics as Prometheus reads it: the text exposition parsed, and its counters
// checked against what real clients did on the wire: an OBS-like publisher and a
// libdatachannel viewer, then LiteClient peers that send PLI, NACK and a forged packet.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { buildNack, buildPli } from '../../src/rtp/rtcp';
import { DataChannelViewer } from '../clients/dcViewer';
import { MediaPublisher, MediaViewer } from '../clients/liteMedia';
import { loadMedia, type TestMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { startServer, waitFor, type TestServer } from '../support/server';

type Labels = Record<string, string>;

/** One scrape: every sample by `name{label="value",...}` (labels sorted), and the HELP/TYPE lines. */
interface Scrape {
  samples: Map<string, number>;
  types: Map<string, string>;
}

/** Prometheus text format 0.0.4, as far as prom-client writes it (no escaped quotes in label values). */
function parseExposition(text: string): Scrape {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Labels = {};
    for (const pair of (m[2] ?? '').split(',').filter((p) => p !== '')) {
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="(.*)"$/.exec(pair);
      assert.ok(lm, `bad label ${pair} in ${line}`);
      labels[lm[1]!] = lm[2]!;
    }
    // prom-client writes NaN as "Nan" (an event-loop histogram with no samples yet); Prometheus reads any case.
    const value = /^nan$/i.test(m[3]!) ? NaN : Number(m[3]);
    assert.ok(/^nan$/i.test(m[3]!) || !Number.isNaN(value), `not a number: ${line}`);
    samples.set(key(m[1]!, labels), value);
  }
  return { samples, types };
}

function key(name: string, labels: Labels = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

function value(scrape: Scrape, name: string, labels: Labels = {}): number {
  const v = scrape.samples.get(key(name, labels));
  assert.ok(v !== undefined, `${key(name, labels)} is not in the exposition`);
  return v;
}

async function scrape(server: TestServer): Promise<Scrape> {
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

const rtp = (s: Scrape, what: 'packets' | 'bytes', direction: 'in' | 'out') => value(s, `onecast_rtp_${what}_total`, { direction });
const sessions = (s: Scrape) => ({
  publish: value(s, 'onecast_sessions', { kind: 'publish' }),
  play: value(s, 'onecast_sessions', { kind: 'play' }),
  rooms: value(s, 'onecast_rooms'),
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('GET /metrics (Prometheus)', function () {
  this.timeout(90_000);
  let server: TestServer;
  let media: TestMedia;

  before(async () => {
    media = await loadMedia();
    server = await startServer();
  });

  after(async () => {
    await server?.close();
    cleanupDataChannel();
  });

  it('counts sessions, rooms and RTP in and out while an OBS-like publisher streams to a viewer, and keeps the totals after they leave', async () => {
    const before = await scrape(server);
    for (const [name, type] of [
      ['onecast_sessions', 'gauge'],
      ['onecast_rooms', 'gauge'],
      ['onecast_recordings_active', 'gauge'],
      ['onecast_rtp_packets_total', 'counter'],
      ['onecast_rtp_bytes_total', 'counter'],
      ['onecast_srtp_auth_failures_total', 'counter'],
      ['onecast_datagrams_dropped_total', 'counter'],
      ['onecast_nack_retransmissions_total', 'counter'],
      ['onecast_nack_retransmissions_refused_total', 'counter'],
      ['onecast_keyframe_requests_total', 'counter'],
      ['onecast_webhook_deliveries_total', 'counter'],
      ['onecast_webhook_queued', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['process_cpu_seconds_total', 'counter'],
    ]) {
      assert.equal(before.types.get(name!), type, `# TYPE ${name} ${type}`);
    }
    assert.deepEqual(sessions(before), { publish: 0, play: 0, rooms: 0 });
    assert.equal(value(before, 'onecast_datagrams_dropped_total', { reason: 'unbound-address' }), 0, 'every drop reason is listed, even at 0');
    assert.equal(value(before, 'onecast_webhook_deliveries_total', { result: 'failed' }), 0, 'without WEBHOOK_URL the webhook metrics are there, at 0');
    assert.equal(rtp(before, 'packets', 'in'), 0);

    const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/metrics`, media, stripCandidates: true });
    let viewer: DataChannelViewer | undefined;
    try {
      await publisher.waitConnected(10_000);
      viewer = await DataChannelViewer.start(`${server.url}/whep/metrics`);
      const v = viewer;
      await waitFor('the viewer receiving video', () => (v.video().length >= 30 ? true : undefined), 15_000);
      const during = await scrape(server);
      assert.deepEqual(sessions(during), { publish: 1, play: 1, rooms: 1 });
      for (const what of ['packets', 'bytes'] as const) {
        for (const direction of ['in', 'out'] as const)
          assert.ok(rtp(during, what, direction) > 0, `RTP ${what} ${direction}: ${rtp(during, what, direction)}`);
      }
      assert.ok(rtp(during, 'bytes', 'in') > rtp(during, 'packets', 'in') * 12, 'bytes count whole packets (12-byte header and more)');
      const moved = await waitFor(
        'RTP in and out to move on',
        async () => {
          const s = await scrape(server);
          return rtp(s, 'packets', 'in') > rtp(during, 'packets', 'in') &&
            rtp(s, 'packets', 'out') > rtp(during, 'packets', 'out') &&
            rtp(s, 'bytes', 'out') > rtp(during, 'bytes', 'out')
            ? s
            : undefined;
        },
        10_000,
      );
      assert.ok(value(moved, 'onecast_udp_datagrams_total', { direction: 'in' }) >= rtp(moved, 'packets', 'in'), 'every RTP packet came in as a datagram');
      // On the native fan-out these leave past the UDP mux: the totals count them all the same.
      assert.ok(value(moved, 'onecast_udp_datagrams_total', { direction: 'out' }) >= rtp(moved, 'packets', 'out'), 'every RTP packet went out as a datagram');
      assert.ok(value(moved, 'onecast_udp_bytes_total', { direction: 'out' }) > rtp(moved, 'bytes', 'out'), 'out bytes are RTP bytes and more (the SRTP tag)');
      assert.equal(value(moved, 'onecast_fanout_dropped_total', {}), 0, 'no datagram dropped on loopback');
      console.log(
        `      during: RTP in ${rtp(moved, 'packets', 'in')} packets / ${rtp(moved, 'bytes', 'in')} bytes, out ${rtp(moved, 'packets', 'out')} / ${rtp(moved, 'bytes', 'out')}`,
      );

      const received = v.packets.length;
      viewer = undefined;
      assert.equal(await v.stop(), 200);
      assert.equal(await publisher.stop(), 200);
      await waitFor('the room to go after the DELETEs', async () => ((await server.room('metrics')) === undefined ? true : undefined), 5_000);
      const after = await scrape(server);
      assert.deepEqual(sessions(after), { publish: 0, play: 0, rooms: 0 });
      assert.ok(
        rtp(after, 'packets', 'in') >= rtp(moved, 'packets', 'in') && rtp(after, 'packets', 'out') >= rtp(moved, 'packets', 'out'),
        'the totals keep what the publisher and viewer did after they leave',
      );
      assert.ok(
        rtp(after, 'packets', 'out') >= received,
        `the server counted at least the ${received} packets the viewer got (${rtp(after, 'packets', 'out')})`,
      );
      assert.equal(value(after, 'onecast_srtp_auth_failures_total'), 0);
      console.log(`      after DELETE: RTP in ${rtp(after, 'packets', 'in')}, out ${rtp(after, 'packets', 'out')} (the viewer received ${received})`);
    } finally {
      await viewer?.stop();
      await publisher.stop();
    }
  });

  it('counts keyframe requests and NACK answers as the publisher and viewer see them, forged SRTP and stray datagrams by reason', async () => {
    const publisher = await MediaPublisher.connect(`${server.url}/whip/metrics-rtcp`, { videoKbps: 1000, fps: 30, keyframeIntervalFrames: 60, audio: true });
    let viewer: MediaViewer | undefined;
    const stray = dgram.createSocket('udp4');
    try {
      publisher.start();
      viewer = await MediaViewer.connect(`${server.url}/whep/metrics-rtcp`);
      const v = viewer;
      await waitFor('the viewer receiving video', () => (v.of('video').length >= 40 ? true : undefined), 10_000);
      await sleep(700); // past the keyframe-request throttle window a join may open
      const keyframeRequestsSeen = () => publisher.rtcpItems().filter((i) => i.type === 'pli' || i.type === 'fir').length;
      const base = await scrape(server);

      // A viewer's PLI becomes a PLI to the publisher, and the counter says how many it got.
      v.sendRtcp(buildPli(v.rtcpSsrc, v.ssrc('video')));
      const afterPli = await waitFor(
        'the keyframe request counted and received',
        async () => {
          const s = await scrape(server);
          const counted = value(s, 'onecast_keyframe_requests_total');
          return counted > value(base, 'onecast_keyframe_requests_total') && counted === keyframeRequestsSeen() ? s : undefined;
        },
        5_000,
      );
      console.log(
        `      keyframe requests: ${value(afterPli, 'onecast_keyframe_requests_total')} counted, ${keyframeRequestsSeen()} received by the publisher`,
      );

      // A NACK for three packets the viewer has: three retransmissions from the cache.
      const video = v.of('video');
      const seqs = [video.at(-30)!, video.at(-20)!, video.at(-10)!].map((p) => p.view.sequenceNumber);
      const t0 = performance.now();
      v.sendRtcp(buildNack(v.rtcpSsrc, v.ssrc('video'), seqs));
      await waitFor(
        'the NACKed packets again',
        () => (v.of('video', t0).filter((p) => seqs.includes(p.view.sequenceNumber)).length >= 3 ? true : undefined),
        5_000,
      );
      const afterNack = await scrape(server);
      assert.equal(value(afterNack, 'onecast_nack_retransmissions_total') - value(base, 'onecast_nack_retransmissions_total'), 3, 'three packets resent');

      // A forged SRTP packet from the viewer's own (bound) address fails authentication.
      const viewerSocket = (v.client as unknown as { socket: dgram.Socket }).socket;
      viewerSocket.send(Buffer.concat([Buffer.from([0x80, 102]), randomBytes(98)]));
      // A datagram of no protocol onecast speaks, from anywhere.
      stray.send(Buffer.from([0x50, 0, 0, 0, 0, 0, 0, 0]), server.server.udpPort, '127.0.0.1');
      const afterDrops = await waitFor(
        'the forged and the stray datagram counted',
        async () => {
          const s = await scrape(server);
          const srtp = value(s, 'onecast_srtp_auth_failures_total') - value(base, 'onecast_srtp_auth_failures_total');
          const unknown =
            value(s, 'onecast_datagrams_dropped_total', { reason: 'unknown-protocol' }) -
            value(base, 'onecast_datagrams_dropped_total', { reason: 'unknown-protocol' });
          return srtp >= 1 && unknown >= 1 ? s : undefined;
        },
        5_000,
      );
      assert.equal(value(afterDrops, 'onecast_srtp_auth_failures_total') - value(base, 'onecast_srtp_auth_failures_total'), 1);
      assert.equal(value(afterDrops, 'onecast_datagrams_dropped_total', { reason: 'srtp-auth-failed' }), value(afterDrops, 'onecast_srtp_auth_failures_total'));
      assert.equal(
        value(afterDrops, 'onecast_datagrams_dropped_total', { reason: 'unknown-protocol' }) -
          value(base, 'onecast_datagrams_dropped_total', { reason: 'unknown-protocol' }),
        1,
      );
      assert.equal(v.decryptFailures, 0, 'the viewer itself was not disturbed');
    } finally {
      stray.close();
      await viewer?.close();
      await publisher.close();
    }
  });

  it("keeps each server's figures apart (one registry per server)", async () => {
    const other = await startServer();
    try {
      const [mine, theirs] = await Promise.all([scrape(server), scrape(other)]);
      assert.ok(rtp(mine, 'packets', 'in') > 0);
      assert.equal(rtp(theirs, 'packets', 'in'), 0);
      assert.ok(theirs.types.has('nodejs_eventloop_lag_seconds'), "process metrics in every server's exposition");
    } finally {
      await other.close();
    }
  });
});
