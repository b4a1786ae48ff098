// Bad input against a live server while an OBS-like publisher streams to a libdatachannel
// viewer. SDP offers from test/corpus/sdp get their exact 4xx with RFC 9457 problem details
// (or are accepted, where the corpus index says so). Each kind of bad UDP datagram is
// dropped in silence and counted under its reason (src/engine/udpMux.ts), and the live
// publisher and viewer do not notice: their packets keep flowing, their sessions see no
// authentication failure and keep their addresses. Attacks that need a bound address come
// from sessions of our own (the lite client of test/clients through liteMedia), as an attacker's would.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { buildNack, buildPli, buildSr } from '../../src/rtp/rtcp';
import type { Session } from '../../src/engine/session';
import { isPlausibleSrtpHeader } from '../../src/engine/srtp/srtpContext';
import type { DropReason } from '../../src/engine/udpMux';
import { RESENDS_PER_SECOND } from '../../src/sfu/forwarder';
import { corpusBody, loadSdpCorpus, type CorpusCase } from '../support/corpus';
import { DataChannelViewer } from '../clients/dcViewer';
import { DatagramFuzzer, FIRST_BYTE_RANGES, captureDtlsHandshake } from '../support/fuzz';
import { MediaPublisher, MediaViewer } from '../clients/liteMedia';
import { loadMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { startServer, waitFor, type TestServer } from '../support/server';
import { stunMessage } from '../clients/stunMessage';

const WRONG_PASSWORD = 'WrongPasswordWrongPassword';

const corpus = loadSdpCorpus();

/** RFC 9457 problem details whose detail is a sentence a person can act on. */
async function assertProblem(res: Response, status: number): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const problem = JSON.parse(text) as { type: string; title: string; status: number; detail: string };
  assert.equal(problem.status, status);
  assert.ok(problem.title.length > 0, 'a title');
  assert.match(problem.detail, /^[A-Z].{19,}[.]$/su, 'the detail is a sentence');
  assert.ok(problem.detail.length <= 400, `a detail of ${problem.detail.length} characters echoes too much of the body`);
  assert.doesNotMatch(problem.detail, /undefined|\[object|TypeError|RangeError|Cannot read/, 'no internal error text');
}

describe('bad SDP offers (test/corpus/sdp): the exact 4xx, problem details, and the server carries on', function () {
  this.timeout(120_000);
  let server: TestServer;
  let publisher: ObsLikePublisher;
  let viewer: DataChannelViewer;
  const videoPackets = (): number => viewer.packets.filter((p) => p.kind === 'video').length;

  before(async () => {
    const media = await loadMedia();
    server = await startServer();
    publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/corpus-live`, media, stripCandidates: true });
    await publisher.waitConnected(10_000);
    viewer = await DataChannelViewer.start(`${server.url}/whep/corpus-live`);
    await waitFor('video at the viewer', () => (videoPackets() >= 30 ? true : undefined), 20_000);
  });

  after(async () => {
    await viewer?.stop();
    await publisher?.stop();
    await server?.close();
    cleanupDataChannel();
  });

  async function post(url: string, c: CorpusCase): Promise<Response> {
    const headers: Record<string, string> = {};
    const contentType = c.contentType ?? 'application/sdp';
    if (contentType !== '') headers['Content-Type'] = contentType;
    return fetch(url, { method: 'POST', headers, body: corpusBody(c) });
  }

  async function expectStatus(url: string, c: CorpusCase, status: number): Promise<void> {
    const res = await post(url, c);
    if (status !== 201) return assertProblem(res, status);
    assert.equal(res.status, 201, await res.text());
    const del = await fetch(new URL(res.headers.get('location')!, url), { method: 'DELETE' });
    assert.equal(del.status, 200);
  }

  for (const c of corpus) {
    it(`${c.file}${c.contentType !== undefined ? ` as "${c.contentType}"` : ''}: ${c.tests} → WHIP ${c.whip}, WHEP ${c.whep}`, async () => {
      const sessions = server.server.engine.sessionCount;
      await expectStatus(`${server.url}/whip/corpus`, c, c.whip);
      await expectStatus(`${server.url}/whep/corpus-live`, c, c.whep);
      assert.equal(await server.room('corpus'), undefined, 'no room is left behind');
      assert.equal(server.server.engine.sessionCount, sessions, 'no session is left behind');
    });
  }

  it('the live viewer kept receiving, and a new publisher and viewer connect and play', async () => {
    const before = videoPackets();
    await waitFor('live video reaching the viewer', () => (videoPackets() >= before + 30 ? true : undefined));
    assert.equal(server.server.sfu.rooms.get('corpus-live')!.publisher!.session.counters.srtpAuthFailures, 0);
    await publishAndWatch(server, 'corpus-after');
  });
});

/** A new OBS-like publisher in `room` and a libdatachannel viewer that receives its video. */
async function publishAndWatch(server: TestServer, room: string): Promise<void> {
  const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/${room}`, media: await loadMedia(), stripCandidates: true });
  try {
    await publisher.waitConnected(10_000);
    const viewer = await DataChannelViewer.start(`${server.url}/whep/${room}`);
    try {
      await waitFor(`video at a new viewer in ${room}`, () => (viewer.video().length >= 30 ? true : undefined), 20_000);
    } finally {
      await viewer.stop();
    }
  } finally {
    await publisher.stop();
  }
}

describe('bad UDP input: dropped, counted, and no other session disturbed', function () {
  this.timeout(120_000);
  let server: TestServer;
  let publisher: ObsLikePublisher;
  let viewer: DataChannelViewer;
  /** A WHEP viewer of our own in the live room: its SRTP is real wire traffic to resend. */
  let evilViewer: MediaViewer;
  /** A WHIP publisher of our own in another room, and a raw socket bound to its session. */
  let evilPublisher: MediaPublisher;
  let evilBound: dgram.Socket;
  /** A socket no session knows. */
  let stranger: dgram.Socket;
  const strangerReplies: Buffer[] = [];
  const capturedSrtp: Buffer[] = [];
  let dtlsRecords: Buffer[];
  let legit: { publisher: Session; viewer: Session; publisherAddresses: string; viewerAddresses: string };
  let udpPort: number;
  const fuzz = new DatagramFuzzer(0x5eed);

  const ufragOf = (sdp: string): string => /a=ice-ufrag:(\S+)/.exec(sdp)![1]!;
  const pwdOf = (sdp: string): string => /a=ice-pwd:(\S+)/.exec(sdp)![1]!;
  const addresses = (s: Session): string => JSON.stringify(s.boundAddresses());
  const drops = (): Record<DropReason, number> => ({ ...server.server.engine.mux.counters.dropped });
  const videoPackets = (): number => viewer.packets.filter((p) => p.kind === 'video').length;

  async function socket(): Promise<dgram.Socket> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    return s;
  }

  /** Sends in batches, yielding between them so the server handles them as they come. */
  async function send(from: dgram.Socket, datagrams: readonly Buffer[]): Promise<void> {
    for (let i = 0; i < datagrams.length; i++) {
      from.send(datagrams[i]!, udpPort, '127.0.0.1');
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
  }

  /**
   * Sends `datagrams` and checks that exactly they were dropped, each under `reason`,
   * that nothing answered, and that the live publisher and viewer did not notice.
   */
  async function expectDropped(reason: DropReason, from: dgram.Socket, datagrams: readonly Buffer[]): Promise<void> {
    const before = drops();
    const repliesBefore = strangerReplies.length;
    const packetsBefore = videoPackets();
    await send(from, datagrams);
    await waitFor(`${datagrams.length} drops as ${reason}`, () => (drops()[reason] - before[reason] >= datagrams.length ? true : undefined));
    // The viewer keeps receiving the live video, which also gives stray drops time to show.
    await waitFor('live video reaching the viewer', () => (videoPackets() >= packetsBefore + 10 ? true : undefined));
    const after = drops();
    for (const r of Object.keys(after) as DropReason[]) {
      assert.equal(after[r] - before[r], r === reason ? datagrams.length : 0, `drops counted as ${r}`);
    }
    assert.equal(strangerReplies.length, repliesBefore, 'a dropped datagram gets no answer');
    assertLegitUndisturbed();
  }

  /**
   * A verified check from evilBound binds it to our own publisher's session (as a second
   * address, without USE-CANDIDATE); repeated before each use so that consent expiry
   * cannot unbind it on a slow run.
   */
  async function bindEvil(): Promise<void> {
    const answered = server.server.engine.mux.counters.stunAnswered;
    const answer = evilPublisher.client.answer;
    evilBound.send(stunMessage({ username: `${ufragOf(answer)}:evil`, password: pwdOf(answer) }), udpPort, '127.0.0.1');
    await waitFor('the raw socket bound to our own session', () => (server.server.engine.mux.counters.stunAnswered > answered ? true : undefined));
    const evilSession = server.publisherSession('evil')!;
    assert.ok(evilSession.boundAddresses().some((a) => a.port === evilBound.address().port));
  }

  function assertLegitUndisturbed(): void {
    assert.equal(legit.publisher.state, 'connected');
    assert.equal(legit.viewer.state, 'connected');
    assert.equal(legit.publisher.counters.srtpAuthFailures, 0, 'authentication failures on the live publisher');
    assert.equal(legit.viewer.counters.srtpAuthFailures, 0, 'authentication failures on the live viewer');
    assert.equal(addresses(legit.publisher), legit.publisherAddresses, "the publisher's bound addresses");
    assert.equal(addresses(legit.viewer), legit.viewerAddresses, "the viewer's bound addresses");
  }

  before(async () => {
    const media = await loadMedia();
    server = await startServer();
    udpPort = server.server.udpPort;
    publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/live`, media, stripCandidates: true });
    await publisher.waitConnected(10_000);
    viewer = await DataChannelViewer.start(`${server.url}/whep/live`);
    await waitFor('video at the viewer', () => (videoPackets() >= 30 ? true : undefined), 20_000);
    const room = server.server.sfu.rooms.get('live')!;
    const viewerSession = [...room.viewers].find((v) => viewer.resourceUrl.endsWith(v.session.id))!.session;
    const publisherSession = server.publisherSession('live')!;
    legit = { publisher: publisherSession, viewer: viewerSession, publisherAddresses: addresses(publisherSession), viewerAddresses: addresses(viewerSession) };

    evilViewer = await MediaViewer.connect(`${server.url}/whep/live`);
    const decrypting = evilViewer.client.onRtp!;
    evilViewer.client.onRtp = (srtp) => {
      if (capturedSrtp.length < 200) capturedSrtp.push(Buffer.from(srtp));
      decrypting(srtp);
    };
    evilPublisher = await MediaPublisher.connect(`${server.url}/whip/evil`);
    evilPublisher.start();
    evilBound = await socket();
    await bindEvil();
    stranger = await socket();
    stranger.on('message', (m) => strangerReplies.push(m));
    dtlsRecords = await captureDtlsHandshake();
    await waitFor('SRTP captured from the wire', () => (capturedSrtp.length >= 50 ? true : undefined), 10_000);
    assertLegitUndisturbed();
  });

  after(async () => {
    stranger?.close();
    evilBound?.close();
    await evilViewer?.close();
    await evilPublisher?.close();
    await viewer?.stop();
    await publisher?.stop();
    await server?.close();
    cleanupDataChannel();
  });

  describe('from a socket no session knows', () => {
    it('random datagrams in every RFC 7983 first-byte range', async () => {
      const byReason = new Map<DropReason, Buffer[]>();
      for (const range of FIRST_BYTE_RANGES) {
        // 1 byte is too short to tell RTP from RTCP: those go with the unknown ones.
        const reason: DropReason =
          range.name === 'STUN' ? 'stun-malformed' : range.name === 'DTLS' || range.name === 'RTP/RTCP' ? 'unbound-address' : 'unknown-protocol';
        const list = byReason.get(reason) ?? [];
        for (let i = 0; i < 40; i++) list.push(fuzz.randomDatagram(range.from, range.to, 2 + fuzz.length(1200)));
        byReason.set(reason, list);
      }
      byReason.get('unknown-protocol')!.push(Buffer.alloc(0), Buffer.from([0x80]));
      for (const [reason, datagrams] of byReason) await expectDropped(reason, stranger, datagrams);
    });

    it("DTLS, SRTP and SRTCP from an unbound address, some naming the live publisher's SSRC", async () => {
      const publisherSsrc = Number(/a=ssrc:(\d+)/.exec(publisher.offer)![1]);
      await expectDropped('unbound-address', stranger, [
        ...dtlsRecords,
        ...capturedSrtp.slice(0, 20),
        buildPli(1, publisherSsrc),
        buildSr({ ssrc: publisherSsrc, ntpTime: 0n, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }),
      ]);
    });
  });

  describe('STUN from a socket no session knows', () => {
    const liveUfrag = (): string => ufragOf(publisher.answer);

    it('no FINGERPRINT, a wrong FINGERPRINT, a length that lies', async () => {
      await expectDropped('stun-no-fingerprint', stranger, [stunMessage({ username: `${liveUfrag()}:x`, password: WRONG_PASSWORD, fingerprint: false })]);
      const wrong = stunMessage({ username: `${liveUfrag()}:x`, password: WRONG_PASSWORD });
      wrong[wrong.length - 1]! ^= 0xff;
      await expectDropped('stun-bad-fingerprint', stranger, [wrong]);
      const lying = stunMessage({ username: `${liveUfrag()}:x`, password: WRONG_PASSWORD });
      lying.writeUInt16BE(lying.readUInt16BE(2) + 4, 2);
      await expectDropped('stun-malformed', stranger, [lying, lying.subarray(0, 30), lying.subarray(0, 12)]);
    });

    it('no MESSAGE-INTEGRITY, no USERNAME, not a Binding Request', async () => {
      await expectDropped('stun-no-integrity', stranger, [stunMessage({ username: `${liveUfrag()}:x` })]);
      await expectDropped('stun-no-username', stranger, [stunMessage({ password: WRONG_PASSWORD })]);
      await expectDropped('stun-not-binding-request', stranger, [
        stunMessage({ username: `${liveUfrag()}:x`, password: WRONG_PASSWORD, messageClass: 'indication' }),
        stunMessage({ username: `${liveUfrag()}:x`, password: WRONG_PASSWORD, messageClass: 'response' }),
      ]);
    });

    it('an unknown ufrag', async () => {
      await expectDropped('stun-unknown-ufrag', stranger, [
        stunMessage({ username: 'live/00000000000000000000000000000000:x', password: WRONG_PASSWORD, useCandidate: true }),
        stunMessage({ username: 'nosuchroom:x', password: WRONG_PASSWORD }),
      ]);
    });

    it("the live publisher's and viewer's ufrags with wrong passwords bind nothing", async () => {
      await expectDropped('stun-bad-integrity', stranger, [
        stunMessage({ username: `${liveUfrag()}:x`, password: WRONG_PASSWORD, useCandidate: true }),
        // Another session's password is just as wrong.
        stunMessage({ username: `${ufragOf(viewer.answer)}:x`, password: pwdOf(publisher.answer), useCandidate: true }),
        stunMessage({ username: `${liveUfrag()}:x`, password: pwdOf(evilPublisher.client.answer), useCandidate: true }),
      ]);
    });
  });

  describe('from the bound address of a session of our own', () => {
    beforeEach(bindEvil);

    it('DTLS that is not whole records: garbage, truncated records, lengths that lie', async () => {
      const datagrams: Buffer[] = [];
      for (let i = 0; i < 40; i++) {
        const garbage = fuzz.randomDatagram(20, 63, 1 + fuzz.length(600));
        if (garbage.length > 1) garbage[1] = 0x01; // never a DTLS version, so never a record by chance
        datagrams.push(garbage);
      }
      for (const record of dtlsRecords) {
        datagrams.push(record.subarray(0, 1 + fuzz.int(record.length - 1)));
        const lying = Buffer.from(record);
        lying.writeUInt16BE(lying.readUInt16BE(11) + 1, 11);
        datagrams.push(lying);
      }
      await expectDropped('dtls-malformed', evilBound, datagrams);
    });

    it('whole DTLS records with garbage inside, and a new ClientHello after the handshake, leave our session working', async () => {
      const evilSession = server.server.sfu.rooms.get('evil')!.publisher!.session;
      const before = drops();
      const garbage: Buffer[] = [];
      // Handshake records go through the handshake guard first (test/integration/dtlsGuard.test.ts).
      for (const type of [20, 21, 23]) {
        for (let i = 0; i < 10; i++) {
          const body = fuzz.bytes(fuzz.int(200));
          const header = Buffer.from([type, 0xfe, 0xfd, 0, fuzz.int(2), 0, 0, 0, 0, 0, fuzz.int(256), 0, 0]);
          header.writeUInt16BE(body.length, 11);
          garbage.push(Buffer.concat([header, body]));
        }
      }
      await send(evilBound, [...garbage, dtlsRecords[0]!]);
      const rtpBefore = evilSession.counters.rtpPackets;
      await waitFor('our session still taking media', () => (evilSession.counters.rtpPackets > rtpBefore + 20 ? true : undefined));
      assert.equal(evilSession.state, 'connected');
      // WebRTC never renegotiates DTLS: the hello is dropped rather than handed to werift to start over.
      assert.equal(
        drops()['dtls-malformed'],
        before['dtls-malformed'] + 1,
        'whole records go to the DTLS server, which ignores them; the ClientHello is dropped',
      );
      assertLegitUndisturbed();
    });

    it('SRTP and SRTCP: garbage, truncated, garbled, and a header extension that overruns the packet', async () => {
      const evilSession = server.server.sfu.rooms.get('evil')!.publisher!.session;
      const failuresBefore = evilSession.counters.srtpAuthFailures;
      const datagrams: Buffer[] = [];
      for (let i = 0; i < 40; i++) {
        const rtp = fuzz.randomDatagram(0x80, 0x80, 12 + fuzz.int(1200));
        rtp[1] = 96;
        datagrams.push(rtp);
      }
      for (const srtp of capturedSrtp.slice(0, 40)) datagrams.push(srtp.subarray(0, 2 + fuzz.int(srtp.length - 2)));
      for (const srtp of capturedSrtp.slice(40, 60)) {
        const garbled = Buffer.from(srtp);
        garbled[12 + fuzz.int(garbled.length - 12)]! ^= 0x01;
        datagrams.push(garbled);
      }
      for (let i = 0; i < 20; i++) {
        const srtcp = Buffer.concat([buildPli(1, 2), fuzz.bytes(fuzz.int(40))]);
        datagrams.push(srtcp, srtcp.subarray(0, 2 + fuzz.int(10)));
      }
      // An extension length of ~180 KB in a 300-byte packet of 2-byte elements: werift walked
      // on past the end, copying its element list at each step, and froze the process for minutes.
      for (let i = 0; i < 10; i++) {
        const bomb = Buffer.alloc(300, Buffer.from([0x10, 0x00]));
        bomb.writeUInt16BE(0x9060, 0); // version 2, X; payload type 96
        bomb.writeUInt32BE(fuzz.int(2 ** 32), 8);
        bomb.writeUInt16BE(0xbede, 12);
        bomb.writeUInt16BE(0xaf6b, 14);
        datagrams.push(bomb);
      }
      await expectDropped('srtp-auth-failed', evilBound, datagrams);
      assert.equal(evilSession.counters.srtpAuthFailures - failuresBefore, datagrams.length, 'counted on our own session');
    });
  });

  describe('authenticated nonsense from sessions of our own', () => {
    it('RTCP: a PLI flood reaches the publisher at most every 500 ms; garbled compound packets are ignored', async () => {
      const publisherCounters = server.server.sfu.rooms.get('live')!.publisher!.counters;
      const requestsBefore = publisherCounters.keyframeRequests;
      const startedAt = Date.now();
      const mediaSsrc = evilViewer.ssrc('video');
      for (let i = 0; i < 200; i++) {
        evilViewer.sendRtcp(buildPli(evilViewer.rtcpSsrc, mediaSsrc));
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 100));
      }
      const elapsed = Date.now() - startedAt;
      const requests = publisherCounters.keyframeRequests - requestsBefore;
      assert.ok(requests <= Math.ceil(elapsed / 500) + 1, `${requests} keyframe requests in ${elapsed} ms`);
      for (let i = 0; i < 200; i++) {
        const seed = fuzz.pick([buildPli(evilViewer.rtcpSsrc, mediaSsrc), buildNack(evilViewer.rtcpSsrc, mediaSsrc, [1, 2, 3])]);
        const garbled = fuzz.mutate({ kind: 'rtcp', packet: seed });
        if (garbled.length >= 8) evilViewer.sendRtcp(garbled);
      }
      const packetsBefore = videoPackets();
      await waitFor('live video reaching the viewer', () => (videoPackets() >= packetsBefore + 30 ? true : undefined));
      assertLegitUndisturbed();
    });

    it('RTCP: a NACK bomb makes a bounded number of retransmissions, to its sender only', async () => {
      const room = server.server.sfu.rooms.get('live')!;
      const evilForwarder = [...room.viewers].find((v) => evilViewer.client.resourceUrl.endsWith(v.session.id))!.forwarder('video')!;
      const legitForwarder = [...room.viewers].find((v) => v.session === legit.viewer)!.forwarder('video')!;
      const mediaSsrc = evilViewer.ssrc('video');
      const recent = evilViewer
        .of('video')
        .slice(-64)
        .map((p) => p.view.sequenceNumber);
      const resentBefore = evilForwarder.counters.resent;
      const refusedBefore = evilForwarder.counters.resendsRefused;
      const legitResentBefore = legitForwarder.counters.resent;
      const startedAt = Date.now();
      // 300 NACKs, each naming the last 64 packets over and over in ~1200 bytes.
      const nack = buildNack(evilViewer.rtcpSsrc, mediaSsrc, recent);
      const entries = nack.subarray(12);
      const bomb = Buffer.concat([nack.subarray(0, 12), ...Array.from({ length: Math.floor(1180 / entries.length) }, () => entries)]);
      bomb.writeUInt16BE(bomb.length / 4 - 1, 2);
      const named = ((bomb.length - 12) / entries.length) * recent.length;
      for (let i = 0; i < 300; i++) {
        evilViewer.sendRtcp(bomb);
        if (i % 30 === 29) await new Promise((r) => setTimeout(r, 50));
      }
      const packetsBefore = videoPackets();
      await waitFor('live video reaching the viewer', () => (videoPackets() >= packetsBefore + 30 ? true : undefined));
      const elapsed = Date.now() - startedAt;
      const resent = evilForwarder.counters.resent - resentBefore;
      const refused = evilForwarder.counters.resendsRefused - refusedBefore;
      console.log(`      NACK bomb: ${resent} retransmissions (${refused} refused) in ${elapsed} ms for 300 NACKs naming ${300 * named} packets`);
      assert.ok(resent > 0, 'NACKed packets are still retransmitted');
      assert.ok(refused > 0, 'the rest are refused');
      assert.ok(resent <= RESENDS_PER_SECOND * (elapsed / 1000 + 1), `${resent} retransmissions in ${elapsed} ms`);
      assert.equal(legitForwarder.counters.resent, legitResentBefore, 'nothing is resent to the other viewer');
      assertLegitUndisturbed();
    });

    it('RTP: mutated packets from our own publisher (payloads that lie, extension bombs)', async () => {
      const evilSession = server.server.sfu.rooms.get('evil')!.publisher!.session;
      const seeds = evilPublisher.sent.slice(-50).map((s) => ({ kind: 'rtp' as const, packet: s.plain }));
      let sent = 0;
      for (let i = 0; i < 500; i++) {
        const mutated = fuzz.mutate(fuzz.pick(seeds));
        // The sender's own werift parse would hang on these (see isPlausibleSrtpHeader).
        if (!isPlausibleSrtpHeader(mutated, 0)) continue;
        try {
          evilPublisher.client.sendRtp(mutated);
          sent++;
        } catch {
          // werift's sender cannot serialise it: not ours to send
        }
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(sent > 100, `${sent} mutated packets sent`);
      const packetsBefore = videoPackets();
      await waitFor('live video reaching the viewer', () => (videoPackets() >= packetsBefore + 30 ? true : undefined));
      assert.equal(evilSession.state, 'connected');
      assertLegitUndisturbed();
    });
  });

  describe('afterwards', () => {
    it('a new publisher and viewer connect and play', async () => {
      await publishAndWatch(server, 'after');
      assertLegitUndisturbed();
    });
  });
});
