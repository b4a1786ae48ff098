// The lightweight WebRTC client (test/clients/lite) against an in-process
// server: real ICE, DTLS and SRTP through the one UDP port, synthetic H.264 + Opus.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { LiteClient, LiteClientError, buildOffer, liteClientCertificate } from '../clients/lite';
import { createSource } from '../clients/syntheticMedia';
import { parseOffer } from '../../src/sdp/offer';
import { watchLoopDelay } from '../support/loopDelay';
import { startServer, waitFor, type TestServer } from '../support/server';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('LiteClient against an in-process server', function () {
  this.timeout(60_000);
  let server: TestServer;
  const clients: LiteClient[] = [];

  before(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  });

  after(async () => {
    await server.close();
  });

  it('publishes 2 s of synthetic media: ICE + DTLS + SRTP, the room counts it all, DELETE ends it', async () => {
    const loopDelay = watchLoopDelay();
    const client = await LiteClient.connect({ url: `${server.url}/whip/lite-one`, role: 'publish' });
    loopDelay.stop();
    clients.push(client);
    const t = client.timings;
    console.log(`      POST ${t.postMs.toFixed(1)} ms, ICE ${t.iceMs.toFixed(1)} ms, DTLS/SRTP ${t.dtlsMs.toFixed(1)} ms (from start), ${client.srtpProfile}`);
    assert.match(client.resourceUrl, /\/whip\/lite-one\/[0-9a-f]{32}$/);
    assert.match(client.answer, /a=ice-lite/);
    assert.ok(['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'].includes(client.srtpProfile));
    assert.ok(t.postMs <= t.iceMs && t.iceMs <= t.dtlsMs);
    const late = loopDelay.maxMs();
    assert.ok(t.dtlsMs < 1_000 + late, `connected in ${t.dtlsMs} ms (bound 1 000 ms, + ${late.toFixed(0)} ms the event loop ran late)`);

    const source = createSource({
      videoKbps: 1500,
      fps: 30,
      keyframeIntervalFrames: 30,
      audio: true,
      videoSsrc: client.videoSsrc,
      audioSsrc: client.audioSsrc,
    });
    source.start((packet) => client.sendRtp(packet));
    await sleep(2_000);
    source.stop();
    const sent = source.stats;
    console.log(
      `      sent ${sent.videoFrames} frames (${sent.keyframes} keyframes) in ${sent.videoPackets} video packets, ${sent.audioPackets} audio packets, ${((sent.videoBytes * 8) / 2000).toFixed(0)} kbit/s video`,
    );
    assert.ok(sent.videoFrames >= 59 && sent.videoFrames <= 62, `frames sent: ${sent.videoFrames}`);
    assert.ok(sent.audioPackets >= 99 && sent.audioPackets <= 102, `audio packets sent: ${sent.audioPackets}`);

    const room = await waitFor(
      'every packet counted',
      async () => {
        const r = await server.room('lite-one');
        return r?.video && r.audio && r.video.packets >= sent.videoPackets && r.audio.packets >= sent.audioPackets ? r : undefined;
      },
      3_000,
    ).catch(async () => (await server.room('lite-one'))!);
    console.log(`      room: ${JSON.stringify(room)}`);
    assert.equal(room.live, true);
    assert.equal(room.video?.codec, 'H264');
    assert.equal(room.audio?.codec, 'opus');
    assert.equal(room.video!.packets, sent.videoPackets);
    assert.equal(room.audio!.packets, sent.audioPackets);
    assert.equal(room.video!.frames, sent.videoFrames);
    assert.equal(room.video!.keyframes, sent.keyframes);
    assert.equal(room.publisher?.srtpAuthFailures, 0);
    assert.equal(room.publisher?.unroutablePackets, 0);
    // Consent keepalive every 2.5 s after the first verified check.
    await waitFor('a consent check answered', () => (client.counters.stunResponses >= 2 ? true : undefined), 2_000);

    await client.close();
    assert.equal(client.deleteStatus, 200);
    await waitFor('room gone after DELETE', async () => ((await server.room('lite-one')) === undefined ? true : undefined), 2_000);
  });

  it('connects 50 publishers to 50 rooms at once, each routed to its own room through the one port', async () => {
    const N = 50;
    const started = performance.now();
    const connected = await Promise.all(
      Array.from({ length: N }, (_, i) => LiteClient.connect({ url: `${server.url}/whip/lite-many-${i}`, role: 'publish', timeoutMs: 30_000 })),
    );
    const allMs = performance.now() - started;
    clients.push(...connected);
    const dtls = connected.map((c) => c.timings.dtlsMs).sort((a, b) => a - b);
    const ice = connected.map((c) => c.timings.iceMs).sort((a, b) => a - b);
    const post = connected.map((c) => c.timings.postMs).sort((a, b) => a - b);
    const q = (xs: number[], f: number): string => xs[Math.min(xs.length - 1, Math.floor(xs.length * f))]!.toFixed(0);
    console.log(
      `      ${N} publishers connected in ${allMs.toFixed(0)} ms; per client (ms from its start) POST p50 ${q(post, 0.5)} max ${q(post, 1)}, ICE p50 ${q(ice, 0.5)} max ${q(ice, 1)}, SRTP ready p50 ${q(dtls, 0.5)} max ${q(dtls, 1)}`,
    );

    // Each publisher sends one keyframe and i % 7 + 1 audio packets: every room must count exactly its own.
    connected.forEach((c, i) => {
      const source = createSource({ videoKbps: 800, fps: 30, keyframeIntervalFrames: 30, audio: false, videoSsrc: c.videoSsrc, audioSsrc: c.audioSsrc });
      for (const p of source.next(0)) c.sendRtp(p);
      const audio = createSource({ video: false, audio: true, videoSsrc: c.videoSsrc, audioSsrc: c.audioSsrc });
      for (const p of [...audio.next(0), ...audio.next(20 * (i % 7))]) c.sendRtp(p);
    });
    const rooms = await waitFor(
      'all 50 rooms live with their packets',
      async () => {
        const all = (await server.rooms()).filter((r) => r.room.startsWith('lite-many-'));
        const ready = all.filter((r) => {
          const i = Number(r.room.slice('lite-many-'.length));
          return r.live && r.video?.keyframes === 1 && r.audio?.packets === (i % 7) + 1;
        });
        return ready.length === N ? all : undefined;
      },
      10_000,
    );
    assert.equal(rooms.length, N);
    for (const r of rooms) {
      assert.equal(r.publisher?.srtpAuthFailures, 0, r.room);
      assert.equal(r.publisher?.unroutablePackets, 0, r.room);
    }

    await Promise.all(connected.map((c) => c.close()));
    assert.deepEqual(
      connected.map((c) => c.deleteStatus),
      Array(N).fill(200),
    );
    await waitFor('all rooms gone', async () => ((await server.rooms()).some((r) => r.room.startsWith('lite-many-')) ? undefined : true), 3_000);
  });

  it('receives SRTP and SRTCP: onRtp counts it raw, decryptRtp restores it, onRtcp gets it plain', async () => {
    // Until WHEP lands, the server-side session of a publisher sends to the client directly.
    const client = await LiteClient.connect({ url: `${server.url}/whip/lite-recv`, role: 'publish' });
    clients.push(client);
    const session = server.publisherSession('lite-recv');
    assert.ok(session, 'the publisher session');
    const raw: Buffer[] = [];
    const rtcp: Buffer[] = [];
    client.onRtp = (p) => raw.push(p);
    client.onRtcp = (p) => rtcp.push(p);
    const source = createSource({
      videoKbps: 1000,
      fps: 30,
      keyframeIntervalFrames: 30,
      audio: true,
      videoSsrc: 0x1234,
      audioSsrc: 0x5678,
      videoPayloadType: 102,
    });
    const plain = [...source.next(0), ...source.next(100)];
    for (const p of plain) assert.ok(session.sendRtp(p));
    const receiverReport = Buffer.from([0x80, 201, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44]);
    assert.ok(session.sendRtcp(receiverReport));
    await waitFor('every packet back', () => (raw.length === plain.length && rtcp.length === 1 ? true : undefined), 2_000);
    assert.equal(client.counters.rtpPackets, plain.length);
    assert.equal(
      client.counters.rtpBytes,
      raw.reduce((n, p) => n + p.length, 0),
    );
    assert.ok(client.counters.firstRtpAt !== undefined);
    assert.notDeepEqual(raw[0], plain[0], 'encrypted on the wire');
    raw.forEach((p, i) => assert.deepEqual(client.decryptRtp(p), plain[i]));
    assert.deepEqual(rtcp[0], receiverReport);
    assert.equal(client.counters.rtcpPackets, 1);
    const tampered = Buffer.from(raw[0]!);
    tampered[tampered.length - 1]! ^= 1;
    assert.equal(client.decryptRtp(tampered), undefined);
  });

  it('rejects with the HTTP status and the problem detail', async () => {
    // A second publisher to a live room: 409.
    const first = await LiteClient.connect({ url: `${server.url}/whip/lite-busy`, role: 'publish' });
    clients.push(first);
    const error = await LiteClient.connect({ url: `${server.url}/whip/lite-busy`, role: 'publish' }).then(
      () => assert.fail('a second publisher was accepted'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof LiteClientError);
    assert.equal(error.phase, 'http');
    assert.equal(error.status, 409);
    assert.match(error.message, /409/);
    console.log(`      ${error.message}`);
    // A bad room name: 400.
    await assert.rejects(
      LiteClient.connect({ url: `${server.url}/whip/bad.name`, role: 'publish' }),
      (e: unknown) => e instanceof LiteClientError && e.status === 400,
    );
  });

  it("writes offers the server's parser accepts for both roles", async () => {
    const { fingerprint } = await liteClientCertificate();
    const common = { ufrag: 'a1b2c3d4', pwd: '0123456789abcdef0123456789abcdef', fingerprint, videoSsrc: 1111, audioSsrc: 2222, cname: 'c' };
    const publish = parseOffer(buildOffer({ role: 'publish', kinds: ['audio', 'video'], ...common }), 'publish');
    assert.deepEqual(publish.bundleMids, ['0', '1']);
    assert.equal(publish.setup, 'actpass');
    assert.deepEqual(
      publish.media.map((m) => [m.kind, m.direction, m.codecs[0]?.name, m.codecs[0]?.payloadType, m.ssrcs]),
      [
        ['audio', 'sendonly', 'opus', 111, [2222]],
        ['video', 'sendonly', 'H264', 96, [1111]],
      ],
    );
    const play = parseOffer(buildOffer({ role: 'play', kinds: ['video'], ...common }), 'play');
    assert.deepEqual(
      play.media.map((m) => [m.kind, m.direction, m.codecs[0]?.name, m.codecs[0]?.payloadType, m.codecs[0]?.fmtp['profile-level-id']]),
      [['video', 'recvonly', 'H264', 102, '42e01f']],
    );
    assert.equal(play.fingerprints[0]?.value, fingerprint.split(' ')[1]);
  });

  it('a play (WHEP) connect that the server refuses rejects with its status', async () => {
    const error = await LiteClient.connect({ url: `${server.url}/whep/lite-nobody`, role: 'play' }).then(
      () => assert.fail('a viewer of an empty room was accepted'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof LiteClientError && error.phase === 'http' && error.status! >= 400, String(error));
    assert.match(error.message, /^WHEP POST .* → \d{3}/);
  });

  it('refuses non-loopback targets', async () => {
    await assert.rejects(LiteClient.connect({ url: 'http://192.0.2.1:8080/whip/x', role: 'publish' }), /loopback/);
  });
});

describe('synthetic H.264 + Opus source', () => {
  interface Parsed {
    marker: boolean;
    pt: number;
    seq: number;
    ts: number;
    ssrc: number;
    payload: Buffer;
  }
  const parse = (p: Buffer): Parsed => ({
    marker: (p[1]! & 0x80) !== 0,
    pt: p[1]! & 0x7f,
    seq: p.readUInt16BE(2),
    ts: p.readUInt32BE(4),
    ssrc: p.readUInt32BE(8),
    payload: p.subarray(12),
  });

  it('packetizes frames as RFC 6184 says: STAP-A SPS+PPS, FU-A IDR / non-IDR, marker on the last packet', () => {
    const source = createSource({ videoKbps: 2500, fps: 25, keyframeIntervalFrames: 50, audio: true, videoSsrc: 7, audioSsrc: 8 });
    const packets = [...source.next(0), ...source.next(10_000 - 1)].map(parse);
    const video = packets.filter((p) => p.pt === 96);
    const audio = packets.filter((p) => p.pt === 111);
    assert.ok(video.every((p) => p.ssrc === 7) && audio.every((p) => p.ssrc === 8));
    assert.ok(
      video.every((p) => p.payload.length <= 1200),
      'payloads ≤ 1200 bytes',
    );
    for (let i = 1; i < video.length; i++) assert.equal(video[i]!.seq, (video[i - 1]!.seq + 1) & 0xffff);
    // Group into frames by timestamp.
    const frames = new Map<number, Parsed[]>();
    for (const p of video) frames.set(p.ts, [...(frames.get(p.ts) ?? []), p]);
    assert.equal(frames.size, 250);
    const stamps = [...frames.keys()];
    for (let i = 1; i < stamps.length; i++) assert.equal((stamps[i]! - stamps[i - 1]! + 2 ** 32) % 2 ** 32, 3600);
    let keyframes = 0;
    [...frames.values()].forEach((frame, n) => {
      assert.deepEqual(
        frame.map((p) => p.marker),
        frame.map((_, i) => i === frame.length - 1),
        'marker on the last packet only',
      );
      let slices = frame;
      if (n % 50 === 0) {
        keyframes++;
        const stap = frame[0]!.payload;
        assert.equal(stap[0]! & 0x1f, 24, 'STAP-A first');
        const sps = stap.readUInt16BE(1);
        assert.equal(stap[3]! & 0x1f, 7);
        assert.equal(stap[3 + sps + 2]! & 0x1f, 8);
        slices = frame.slice(1);
      }
      const type = n % 50 === 0 ? 5 : 1;
      if (slices.length === 1) {
        assert.equal(slices[0]!.payload[0]! & 0x1f, type, 'a single NAL unit packet');
      } else {
        slices.forEach((p, i) => {
          assert.equal(p.payload[0]! & 0x1f, 28, 'FU-A indicator');
          assert.equal(p.payload[1]! & 0x1f, type);
          assert.equal((p.payload[1]! & 0x80) !== 0, i === 0, 'S bit on the first fragment');
          assert.equal((p.payload[1]! & 0x40) !== 0, i === slices.length - 1, 'E bit on the last fragment');
          assert.equal(p.payload[1]! & 0x20, 0, 'R bit clear');
        });
      }
    });
    assert.equal(keyframes, 5);
    assert.equal(source.stats.keyframes, 5);
    // Payload bitrate: 10 s at 2500 kbit/s, within the ±15 % size jitter averaged over 250 frames.
    const bytes = video.reduce((n, p) => n + p.payload.length, 0);
    const kbps = (bytes * 8) / 10 / 1000;
    assert.ok(Math.abs(kbps - 2500) / 2500 < 0.05, `video ${kbps.toFixed(0)} kbit/s`);
    // Audio: 20 ms, 48 kHz timestamps.
    assert.equal(audio.length, 500);
    for (let i = 1; i < audio.length; i++) assert.equal((audio[i]!.ts - audio[i - 1]!.ts + 2 ** 32) % 2 ** 32, 960);
    assert.ok(audio.every((p) => p.payload.length >= 140 && p.payload.length <= 180));
  });

  it('paces itself: start(send) delivers frames and audio on schedule', async () => {
    const source = createSource({ videoKbps: 1000, fps: 30, keyframeIntervalFrames: 60, audio: true, videoSsrc: 1, audioSsrc: 2 });
    const seen = { audio: 0, video: 0 };
    // Its schedule is absolute (performance.now()): what it sent is set by the time that really
    // passed, measured here, which a busy machine stretches beyond the 1 s asked of sleep().
    const startedAt = performance.now();
    source.start((_p, kind) => seen[kind]++);
    await sleep(1_000);
    source.stop();
    const seconds = (performance.now() - startedAt) / 1000;
    const frames = source.stats.videoFrames;
    const audioPackets = source.stats.audioPackets;
    assert.ok(frames >= Math.floor(30 * seconds) - 1 && frames <= Math.ceil(30 * seconds) + 1, `${frames} frames in ${seconds.toFixed(3)} s`);
    assert.ok(
      audioPackets >= Math.floor(50 * seconds) - 1 && audioPackets <= Math.ceil(50 * seconds) + 1,
      `${audioPackets} audio packets in ${seconds.toFixed(3)} s`,
    );
    assert.equal(seen.video, source.stats.videoPackets);
    assert.equal(seen.audio, source.stats.audioPackets);
  });
});
