// The SFU's fan-out end to end on the wire: a real ICE/DTLS/SRTP publisher (the lite client of
// test/clients + synthetic H.264/Opus) and real viewers against an in-process server: every
// packet to every viewer, keyframes for joining viewers, PLI/FIR merging, NACK from the cache
// and to the publisher, and WHEP over HTTP. Every check is made on decrypted packets.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { LiteClient, LiteClientError, buildOffer, liteClientCertificate } from '../clients/lite';
import { buildFir, buildNack, buildPli, buildRemb, buildRr } from '../../src/rtp/rtcp';
import { MediaPublisher, MediaViewer, h264Nals, payloadOf, percentile, seqDiff } from '../clients/liteMedia';
import type { MediaKind } from '../../src/rtp/mediaKind';
import { startServer, waitFor } from '../support/server';

import { KINDS, VIEWER_PT, continuityProblems, drained, fanoutRoom, problemsFree, sleep, sourceOf, ssrcsOf } from '../support/fanoutRoom';

describe('SFU fan-out end to end (LiteClient publisher and viewers, one UDP port)', function () {
  this.timeout(90_000);
  const fanout = fanoutRoom();
  const { publish, join, joinMany } = fanout;

  it('fans one 2 Mbit/s publish out to 20 viewers: every packet decrypts, declared SSRC and offered PT, no gaps', async () => {
    const room = 'fan20';
    const pub = await publish(room);
    const N = 20;
    const vs = await joinMany(room, N);
    await sleep(3_000); // 3 s of media
    pub.stop();
    await drained(pub, vs);

    const udpPort = fanout.server.server.udpPort;
    const problems: string[] = [];
    vs.forEach((v, i) => {
      const who = `viewer ${i}`;
      if (v.packetsBeforeHook !== 0) problems.push(`${who}: ${v.packetsBeforeHook} packets arrived before the test could see them`);
      if (v.decryptFailures !== 0) problems.push(`${who}: ${v.decryptFailures} packets did not decrypt`);
      const candidates = v.sections.flatMap((s) => s.candidates);
      if (candidates.length === 0 || candidates.some((c) => c.port !== udpPort))
        problems.push(`${who}: candidates ${JSON.stringify(candidates)}, not all on UDP port ${udpPort}`);
      const stray = v.packets.filter((p) => p.kind === undefined);
      if (stray.length > 0)
        problems.push(`${who}: ${stray.length} packets on SSRCs the answer did not declare (${[...new Set(stray.map((p) => p.view.ssrc))].join(', ')})`);
      for (const kind of KINDS) {
        const section = v.section(kind);
        if (section.payloadType !== VIEWER_PT[kind]) problems.push(`${who}: answer's ${kind} PT ${section.payloadType}, offered ${VIEWER_PT[kind]}`);
        const got = v.of(kind);
        const ssrc = v.ssrc(kind);
        if (got.length === 0) {
          problems.push(`${who}: no ${kind}`);
          continue;
        }
        const badSsrc = got.filter((p) => p.view.ssrc !== ssrc).length;
        if (badSsrc) problems.push(`${who}: ${badSsrc} ${kind} packets not on the declared SSRC ${ssrc}`);
        const badPt = got.filter((p) => p.view.payloadType !== VIEWER_PT[kind]);
        if (badPt.length) problems.push(`${who}: ${badPt.length} ${kind} packets with PT ${badPt[0]!.view.payloadType}`);
        problems.push(...continuityProblems(`${who} ${kind}`, got));
        // Continuous up to the publisher's very last packet.
        const last = pub.of(kind).at(-1)!;
        if (!payloadOf(got.at(-1)!.plain).equals(payloadOf(last.plain))) problems.push(`${who}: last ${kind} packet is not the publisher's last`);
      }
    });
    const counts = vs.map((v) => `${v.of('video').length}/${v.of('audio').length}`);
    const firstAt = (v: MediaViewer): number => Math.min(...v.packets.map((p) => p.at));
    const joinToFirst = vs.map((v) => firstAt(v) - v.joinedAt);
    const readyToFirst = vs.map((v) => firstAt(v) - v.readyAt);
    const sent = pub.source.stats;
    console.log(
      `      publisher sent ${sent.videoPackets} video / ${sent.audioPackets} audio packets (${((sent.videoBytes * 8) / 1000 / ((pub.sent.at(-1)!.at - pub.sent[0]!.at) / 1000)).toFixed(0)} kbit/s video)` +
        `; per viewer video/audio packets: ${counts.join(' ')}` +
        `; join→first packet p50 ${percentile(joinToFirst, 0.5).toFixed(0)} ms p95 ${percentile(joinToFirst, 0.95).toFixed(0)} ms` +
        ` (SRTP ready→first packet p50 ${percentile(readyToFirst, 0.5).toFixed(1)} ms p95 ${percentile(readyToFirst, 0.95).toFixed(1)} ms)`,
    );
    assert.deepEqual(problems, [], `every viewer gets every packet, decrypted, on its declared SSRC and offered PT:\n${problems.join('\n')}`);
    const r = await fanout.server.room(room);
    assert.equal(r?.viewers, N);
  });

  it('starts a viewer that joins mid-GOP on the cached keyframe group: SPS, PPS, IDR start, at once', async () => {
    const room = 'kf-join';
    const pub = await publish(room, { keyframeIntervalFrames: 60 }); // a keyframe every 2 s
    const keyframeAt = pub.lastKeyframeAt()!;
    await sleep(Math.max(0, keyframeAt + 1_000 - performance.now()));
    const cachedStap = pub.of('video', keyframeAt)[0]!;
    const cachedIdr = pub.of('video', keyframeAt)[1]!;
    assert.equal(h264Nals(payloadOf(cachedStap.plain))[0]?.type, 7, 'test setup: the keyframe starts with the SPS');
    const v = await join(room);
    await waitFor('30 video packets', () => (v.of('video').length >= 30 ? true : undefined), 3_000);
    const video = v.of('video');
    const nals = video.slice(0, 3).flatMap((p) => h264Nals(payloadOf(p.plain)));
    const firstVideoAt = video[0]!.at;
    console.log(
      `      joined ${(v.joinedAt - keyframeAt).toFixed(0)} ms after the keyframe; first video packet ${(firstVideoAt - v.joinedAt).toFixed(0)} ms after POST, ${(firstVideoAt - v.readyAt).toFixed(1)} ms after SRTP ready; first NALs ${nals.map((n) => `${n.type}${n.fuStart ? 'S' : ''}`).join(',')}`,
    );
    assert.equal(v.packetsBeforeHook, 0);
    assert.equal(v.decryptFailures, 0);
    assert.equal(nals[0]?.type, 7, `first video NAL is the SPS (got ${JSON.stringify(nals)})`);
    assert.equal(nals[1]?.type, 8, 'then the PPS');
    assert.deepEqual(nals[2], { type: 5, fuStart: true }, 'then the IDR, from its first FU-A fragment');
    const firstNonIdr = video.findIndex((p) => h264Nals(payloadOf(p.plain)).some((n) => n.type === 1));
    let lastIdr = -1;
    video.forEach((p, i) => {
      if (h264Nals(payloadOf(p.plain)).some((n) => n.type === 5)) lastIdr = i;
    });
    assert.ok(firstNonIdr > lastIdr, `no non-IDR slice before the whole IDR (first non-IDR #${firstNonIdr}, last IDR #${lastIdr})`);
    // The cached keyframe (1 s old), not the next one (1 s away).
    assert.ok(payloadOf(video[1]!.plain).equals(payloadOf(cachedIdr.plain)), 'the IDR is the cached one');
    const late = fanout.loopLateMs();
    assert.ok(
      firstVideoAt - v.readyAt <= 300 + late,
      `first video packet ${(firstVideoAt - v.readyAt).toFixed(0)} ms after SRTP ready (≤ 300, + ${late.toFixed(0)} ms the event loop ran late)`,
    );
    assert.ok(firstVideoAt < keyframeAt + 1_900, "before the publisher's next keyframe");
    problemsFree(continuityProblems('video', video));
    problemsFree(continuityProblems('audio', v.of('audio')));
  });

  it("merges viewers' PLI/FIR into at most one keyframe request per 500 ms, and keeps viewer RTCP from the publisher", async () => {
    const room = 'pli';
    const pub = await publish(room);
    const vs = await joinMany(room, 2);
    await sleep(700); // past any keyframe-request throttle window opened by the joins
    const viewerSsrcs = new Set(vs.flatMap((v) => [v.rtcpSsrc, v.ssrc('audio'), v.ssrc('video')]));
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) {
      for (const v of vs) {
        v.sendRtcp(buildPli(v.rtcpSsrc, v.ssrc('video')));
        // Reports about the viewer's own link: they must stop at the SFU.
        const block = {
          ssrc: v.ssrc('video'),
          fractionLost: 10,
          packetsLost: 3,
          highestSeq: v.of('video').at(-1)!.view.sequenceNumber,
          jitter: 7,
          lsr: 0,
          dlsr: 0,
        };
        v.sendRtcp(Buffer.concat([buildRr({ ssrc: v.rtcpSsrc, reports: [block] }), buildRemb(v.rtcpSsrc, 300_000, [v.ssrc('video'), v.ssrc('audio')])]));
      }
      if (i === 5) vs[0]!.sendRtcp(buildFir(vs[0]!.rtcpSsrc, vs[0]!.ssrc('video'), 1));
      await sleep(18);
    }
    const t1 = performance.now();
    await sleep(80);
    const inWindow = pub.rtcpItems(t0).filter((i) => (i.type === 'pli' || i.type === 'fir') && i.at <= t1 + 50);
    await sleep(1_000);
    const requests = pub.rtcpItems(t0).filter((i) => i.type === 'pli' || i.type === 'fir');
    const viewersRtcp = [...fanout.server.server.sfu.rooms.get(room)!.viewers].map((v) => v.counters);
    console.log(
      `      ${(t1 - t0).toFixed(0)} ms of 20 PLIs + 1 FIR: publisher got ${inWindow.length} keyframe request(s) in the window, ${requests.length} in the next second (at +${requests.map((r) => (r.at - t0).toFixed(0)).join(', +')} ms); server counted viewers' PLI/FIR ${JSON.stringify(viewersRtcp.map((c) => [c.pliReceived, c.firReceived]))}`,
    );
    assert.deepEqual(viewersRtcp.map((c) => c.pliReceived).sort(), [10, 10], 'the server got every PLI');
    assert.deepEqual(viewersRtcp.map((c) => c.firReceived).sort(), [0, 1], 'and the FIR');
    assert.ok(inWindow.length >= 1 && inWindow.length <= 2, `1 or 2 keyframe requests within the 200 ms window, got ${inWindow.length}`);
    for (const r of requests) {
      assert.equal(r.type, 'pli', 'the publisher offered "nack pli": it is asked with PLI');
      if (r.type === 'pli') assert.equal(r.mediaSsrc, pub.client.videoSsrc, "PLI for the publisher's video SSRC");
    }
    for (let i = 1; i < requests.length; i++) assert.ok(requests[i]!.at - requests[i - 1]!.at >= 450, 'at most one request per ~500 ms');
    const leaked = pub.rtcpItems().filter((i) => ssrcsOf(i).some((s) => viewerSsrcs.has(s)));
    assert.deepEqual(leaked, [], 'no viewer RTCP (RR, REMB, PLI with a viewer SSRC) reaches the publisher');
  });

  it("answers a viewer's NACK from the cache: same packets again, nothing asked of the publisher", async () => {
    const room = 'nack-cache';
    const pub = await publish(room);
    const [v] = await joinMany(room, 1);
    await waitFor('30 video packets at the viewer', () => (v!.of('video').length >= 30 ? true : undefined), 3_000);
    const video = v!.of('video');
    const wanted = [video.at(-30)!, video.at(-20)!, video.at(-10)!];
    const seqs = wanted.map((p) => p.view.sequenceNumber);
    const sources = wanted.map((p) => sourceOf(pub, p)!.view.sequenceNumber);
    const t0 = performance.now();
    v!.sendRtcp(buildNack(v!.rtcpSsrc, v!.ssrc('video'), seqs));
    const again = await waitFor(
      'the NACKed packets again',
      () => {
        const got = v!.of('video', t0).filter((p) => seqs.includes(p.view.sequenceNumber));
        return got.length >= 3 ? got : undefined;
      },
      1_000,
      5,
    );
    await sleep(300);
    const lastAt = Math.max(...again.map((p) => p.at));
    console.log(`      NACK for ${seqs.join(', ')} (publisher's ${sources.join(', ')}): resent in ${(lastAt - t0).toFixed(1)} ms`);
    assert.equal(again.length, 3, 'each NACKed packet once');
    for (const p of again) {
      const original = wanted.find((w) => w.view.sequenceNumber === p.view.sequenceNumber)!;
      assert.deepEqual(p.plain, original.plain, `seq ${p.view.sequenceNumber} resent byte for byte`);
    }
    const late = fanout.loopLateMs();
    assert.ok(lastAt - t0 <= 200 + late, `resent within 200 ms, + ${late.toFixed(0)} ms the event loop ran late (${(lastAt - t0).toFixed(0)} ms)`);
    const nacks = pub.rtcpItems(t0).filter((i) => i.type === 'nack' && i.lost.some((s) => sources.includes(s)));
    assert.deepEqual(nacks, [], 'the publisher is not asked for packets the cache holds');
    assert.equal(v!.decryptFailures, 0);
  });

  it('NACKs the publisher for its own losses, and forwards the retransmissions to viewers', async () => {
    const room = 'nack-pub';
    const pub = await publish(room);
    const vs = await joinMany(room, 2);
    await sleep(500);
    // Drop the 2nd and 3rd packets (seq N, N+1) of the next delta frame of ≥ 4 packets.
    let frameTs = -1;
    let index = 0;
    let target: number | undefined;
    pub.filter = (packet, view, kind) => {
      if (kind !== 'video') return true;
      if (view.timestamp !== frameTs) {
        frameTs = view.timestamp;
        index = 0;
      } else index++;
      if (target === undefined && index === 1 && !view.marker) {
        const first = h264Nals(payloadOf(packet, view))[0];
        if (first?.type === 1 && first.fuStart === false) target = view.timestamp;
      }
      if (view.timestamp === target && (index === 1 || index === 2)) {
        if (view.marker) throw new Error('test setup: the frame is too short');
        return false;
      }
      return true;
    };
    await waitFor('two packets dropped', () => (pub.dropped.length === 2 ? true : undefined), 2_000);
    pub.filter = undefined;
    const dropped = [...pub.dropped];
    const dropAt = dropped[1]!.at;
    const N = dropped[0]!.view.sequenceNumber;
    assert.equal(dropped[1]!.view.sequenceNumber, (N + 1) & 0xffff);
    const nack = await waitFor(
      'a NACK for N and N+1',
      () =>
        pub.rtcpItems(dropAt).find((i) => i.type === 'nack' && i.mediaSsrc === pub.client.videoSsrc && i.lost.includes(N) && i.lost.includes((N + 1) & 0xffff)),
      1_000,
      5,
    );
    const resendAt = performance.now();
    for (const d of dropped) pub.resend(d.plain);
    // Where the viewers expected them (their numbering = the publisher's + a fixed offset).
    await waitFor(
      'the retransmissions at every viewer',
      () =>
        vs.every(
          (v) =>
            v.of('video', resendAt).filter((p) => sourceOf(pub, p)?.view.sequenceNumber === N || sourceOf(pub, p)?.view.sequenceNumber === ((N + 1) & 0xffff))
              .length === 2,
        )
          ? true
          : undefined,
      1_000,
      10,
    );
    await sleep(300);
    console.log(
      `      dropped ${N}, ${(N + 1) & 0xffff}: NACK after ${(nack.at - dropAt).toFixed(0)} ms (${JSON.stringify(nack.type === 'nack' ? nack.lost : [])}); resent, at the viewers after ${Math.max(...vs.map((v) => v.of('video', resendAt).find((p) => sourceOf(pub, p)?.view.sequenceNumber === N)!.at - resendAt)).toFixed(1)} ms`,
    );
    const late = fanout.loopLateMs();
    assert.ok(
      nack.at - dropAt <= 300 + late,
      `NACK within 300 ms of the loss, + ${late.toFixed(0)} ms the event loop ran late (${(nack.at - dropAt).toFixed(0)} ms)`,
    );
    if (nack.type === 'nack') assert.notEqual(nack.senderSsrc, pub.client.videoSsrc);
    for (const v of vs) {
      const before = v.of('video').filter((p) => p.at < resendAt);
      const offset = seqDiff(before.at(-1)!.view.sequenceNumber, sourceOf(pub, before.at(-1)!)!.view.sequenceNumber);
      const expect = [N, (N + 1) & 0xffff].map((s) => (s + offset) & 0xffff);
      assert.ok(!before.some((p) => expect.includes(p.view.sequenceNumber)), 'the viewer had a gap there');
      const got = v.of('video', resendAt).filter((p) => expect.includes(p.view.sequenceNumber));
      assert.equal(got.length, 2, 'both retransmissions, once each');
      got.forEach((p) => {
        const d = dropped.find((x) => (x.view.sequenceNumber + offset) % 0x10000 === p.view.sequenceNumber)!;
        assert.ok(payloadOf(p.plain).equals(payloadOf(d.plain)), 'same payload');
        assert.equal(p.view.ssrc, v.ssrc('video'));
      });
      assert.equal(v.decryptFailures, 0);
    }
    const lateNacks = pub.rtcpItems(resendAt + 150).filter((i) => i.type === 'nack' && (i.lost.includes(N) || i.lost.includes((N + 1) & 0xffff)));
    assert.deepEqual(lateNacks, [], 'no NACK for them once they arrived');
  });

  it("starts a joining viewer on SPS/PPS even when the keyframe's SPS/PPS packet was lost and retransmitted", async () => {
    const room = 'kf-lost-sps';
    const pub = await publish(room, { keyframeIntervalFrames: 600 });
    await sleep(300);
    pub.filter = (packet, view, kind) => !(kind === 'video' && pub.dropped.length === 0 && h264Nals(payloadOf(packet, view))[0]?.type === 7);
    pub.source.requestKeyframe();
    await waitFor('the SPS/PPS packet dropped', () => (pub.dropped.length === 1 ? true : undefined), 1_000);
    pub.filter = undefined;
    const stap = pub.dropped[0]!;
    await waitFor('a NACK for it', () => pub.rtcpItems(stap.at).find((i) => i.type === 'nack' && i.lost.includes(stap.view.sequenceNumber)), 1_000, 5);
    pub.resend(stap.plain);
    await sleep(300);
    const v = await join(room);
    await waitFor('video', () => (v.of('video').length >= 5 ? true : undefined), 2_000);
    const video = v.of('video');
    const nals = video.slice(0, 3).flatMap((p) => h264Nals(payloadOf(p.plain)));
    const spsAt = video.findIndex((p) => h264Nals(payloadOf(p.plain))[0]?.type === 7);
    console.log(
      `      joiner's first NALs ${nals.map((n) => `${n.type}${n.fuStart ? 'S' : ''}`).join(',')}; the SPS/PPS packet came as its video packet #${spsAt} (seq ${video[spsAt]?.view.sequenceNumber}, first seq ${video[0]!.view.sequenceNumber})`,
    );
    assert.equal(
      nals[0]?.type,
      7,
      `a joiner's first video packet must be the SPS/PPS of the cached keyframe; got NALs ${JSON.stringify(nals)} — the retransmitted SPS/PPS packet was appended to the cached group as packet #${spsAt}, after the IDR and the frames that followed it`,
    );
  });

  describe('WHEP over HTTP', () => {
    async function playOffer(kinds: MediaKind[] = ['audio', 'video']): Promise<string> {
      const { fingerprint } = await liteClientCertificate();
      return buildOffer({
        role: 'play',
        kinds,
        ufrag: 'abcd1234',
        pwd: '0123456789abcdef0123456789abcdef',
        fingerprint,
        videoSsrc: 1,
        audioSsrc: 2,
        cname: 'x',
      });
    }

    it('409 with Retry-After for an empty room', async () => {
      const res = await fetch(`${fanout.server.url}/whep/nobody-here`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp' },
        body: await playOffer(),
      });
      const body = (await res.json()) as { title?: string; detail?: string };
      assert.equal(res.status, 409);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      const retry = Number(res.headers.get('retry-after'));
      assert.ok(Number.isInteger(retry) && retry > 0, `Retry-After: ${res.headers.get('retry-after')}`);
      assert.match(body.detail ?? '', /nobody-here/);
      const error = await LiteClient.connect({ url: `${fanout.server.url}/whep/nobody-here`, role: 'play' }).then(
        () => assert.fail('a viewer of an empty room was accepted'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof LiteClientError && error.status === 409 && error.retryAfter === String(retry));
    });

    it('422 naming both codecs when a viewer offers only VP8 to an H.264 room', async () => {
      await publish('h264-room');
      const offer = (await playOffer(['video']))
        .replace(/H264\/90000/, 'VP8/90000')
        .split('\r\n')
        .filter((l) => !l.startsWith('a=fmtp:'))
        .join('\r\n');
      assert.match(offer, /a=rtpmap:102 VP8\/90000/);
      const res = await fetch(`${fanout.server.url}/whep/h264-room`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
      const body = (await res.json()) as { title?: string; detail?: string };
      console.log(`      ${res.status}: ${body.detail}`);
      assert.equal(res.status, 422);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.match(body.detail ?? '', /H\.?264/);
      assert.match(body.detail ?? '', /VP8/);
      assert.equal((await fanout.server.room('h264-room'))?.viewers, 0, 'no viewer session was created');
    });

    it("DELETE of a WHEP session answers 200 and ends that viewer's session only", async () => {
      const room = 'whep-delete';
      await publish(room);
      const [keep, leave] = await joinMany(room, 2);
      const sessions = [...fanout.server.server.sfu.rooms.get(room)!.viewers].map((v) => v.session);
      const leaving = sessions.find((s) => leave!.client.resourceUrl.endsWith(`/${s.id}`))!;
      assert.ok(leaving, 'the server-side session of the leaving viewer');
      await leave!.close();
      assert.equal(leave!.client.deleteStatus, 200);
      assert.equal(leaving.state, 'closed');
      assert.equal((await fanout.server.room(room))?.viewers, 1);
      const again = await fetch(leave!.client.resourceUrl, { method: 'DELETE' });
      assert.equal(again.status, 404, 'a second DELETE finds nothing');
      const count = keep!.packets.length;
      await waitFor('more packets at the other viewer', () => (keep!.packets.length > count ? true : undefined), 1_000, 10);
      assert.ok(keep!.packets.length > count, 'the other viewer still receives');
      assert.equal(sessions.find((s) => s !== leaving)!.state, 'connected');
    });

    it('PLAY_TOKEN: WHEP needs the bearer token (401 without it), WHIP does not', async () => {
      const secured = await startServer({ PLAY_TOKEN: 'let-me-watch' });
      const local: { close(): Promise<void> }[] = [];
      try {
        const pub = await MediaPublisher.connect(`${secured.url}/whip/tok`, { videoKbps: 500 });
        local.push(pub);
        pub.start();
        const offer = await playOffer();
        const none = await fetch(`${secured.url}/whep/tok`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
        assert.equal(none.status, 401);
        assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
        await none.arrayBuffer();
        const wrong = await fetch(`${secured.url}/whep/tok`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer nope' },
          body: offer,
        });
        assert.equal(wrong.status, 401);
        await wrong.arrayBuffer();
        await assert.rejects(
          LiteClient.connect({ url: `${secured.url}/whep/tok`, role: 'play' }),
          (e: unknown) => e instanceof LiteClientError && e.status === 401,
        );
        const v = await MediaViewer.connect(`${secured.url}/whep/tok`, { token: 'let-me-watch' });
        local.push(v);
        await waitFor('media with the token', () => (v.of('video').length > 0 ? true : undefined), 3_000);
        const denied = await fetch(v.client.resourceUrl, { method: 'DELETE' });
        assert.equal(denied.status, 401, 'DELETE needs the token too');
        await v.close();
        assert.equal(v.client.deleteStatus, 200);
      } finally {
        await Promise.all(local.map((c) => c.close().catch(() => {})));
        await secured.close();
      }
    });
  });
});
