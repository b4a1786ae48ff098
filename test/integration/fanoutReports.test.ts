// The SFU's RTCP end to end on the wire, and a change of publisher: Sender Reports translated
// into each viewer's SSRC and timestamp space, receiver reports and REMB to the publisher, and
// viewers kept through a new publisher with their numbering running on. Same clients and
// server as fanout.test.ts; every check is made on decrypted packets.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { buildNack, buildSr, ntpTimeNow, type RtcpItem } from '../../src/rtp/rtcp';
import { MediaPublisher, h264Nals, payloadOf, seqDiff, tsDiff } from '../clients/liteMedia';
import type { MediaKind } from '../../src/rtp/mediaKind';
import { waitFor } from '../support/server';

import { CLOCK_KHZ, KINDS, continuityProblems, currentRtpTimestamp, drained, fanoutRoom, sleep, sourceOf } from '../support/fanoutRoom';

describe('SFU RTCP and publisher change end to end (LiteClient publisher and viewers, one UDP port)', function () {
  this.timeout(90_000);
  const fanout = fanoutRoom();
  const { publish, joinMany } = fanout;

  it("translates the publisher's Sender Reports into each viewer's SSRC and timestamp space (also after a change of publisher)", async () => {
    const room = 'sr';
    let pub = await publish(room);
    const vs = await joinMany(room, 2);

    const check = async (phase: string): Promise<void> => {
      await sleep(300);
      const sr: Record<MediaKind, { ntp: bigint; rtp: number }> = {} as Record<MediaKind, { ntp: bigint; rtp: number }>;
      const t0 = performance.now();
      for (const kind of KINDS) {
        const ntp = ntpTimeNow();
        const rtp = currentRtpTimestamp(pub, kind);
        sr[kind] = { ntp, rtp };
        const stats = pub.source.stats;
        pub.client.sendRtcp(
          buildSr({
            ssrc: kind === 'video' ? pub.client.videoSsrc : pub.client.audioSsrc,
            ntpTime: ntp,
            rtpTimestamp: rtp,
            packetCount: kind === 'video' ? stats.videoPackets : stats.audioPackets,
            octetCount: kind === 'video' ? stats.videoBytes : stats.audioBytes,
          }),
        );
      }
      await waitFor(
        `${phase}: SRs at every viewer`,
        () => (vs.every((v) => KINDS.every((k) => v.rtcpItems(t0).some((i) => i.type === 'sr' && i.ssrc === v.ssrc(k)))) ? true : undefined),
        1_000,
        10,
      );
      const lines: string[] = [];
      vs.forEach((v, n) => {
        for (const kind of KINDS) {
          const got = v.rtcpItems(t0).find((i) => i.type === 'sr' && i.ssrc === v.ssrc(kind));
          assert.ok(got && got.type === 'sr');
          const before = v.of(kind).filter((p) => p.at <= got.at);
          const last = before.at(-1)!;
          const source = sourceOf(pub, last);
          assert.ok(source, `${phase}: the viewer's last ${kind} packet came from the current publisher`);
          const offset = (last.view.timestamp - source.view.timestamp) >>> 0;
          lines.push(`viewer ${n} ${kind} offset ${offset}`);
          assert.equal(got.ntpTime, sr[kind].ntp, `${phase}: viewer ${n} ${kind} SR keeps the publisher's NTP time`);
          assert.equal(
            got.rtpTimestamp,
            (sr[kind].rtp + offset) >>> 0,
            `${phase}: viewer ${n} ${kind} SR RTP timestamp = publisher's + the viewer's offset ${offset}`,
          );
          assert.equal(got.packetCount, before.length, `${phase}: viewer ${n} ${kind} SR packet count = packets sent to it`);
          assert.equal(
            got.octetCount,
            before.reduce((s, p) => s + p.view.payloadLength, 0),
            `${phase}: viewer ${n} ${kind} SR octet count = payload octets sent to it`,
          );
        }
      });
      console.log(`      ${phase}: ${lines.join(', ')}`);
    };

    await check('first publisher');
    pub.stop();
    await pub.close();
    await sleep(500);
    pub = await publish(room);
    await waitFor(
      "the new publisher's video at the viewers",
      () =>
        vs.every((v) => {
          const last = v.of('video').at(-1);
          return last && sourceOf(pub, last);
        })
          ? true
          : undefined,
      3_000,
    );
    await check('second publisher');
  });

  it('sends the publisher receiver reports (with LSR/DLSR) and REMB, as negotiated', async () => {
    const room = 'rr';
    const pub = await publish(room);
    const video = pub.sections.find((s) => s.kind === 'video')!;
    const remb = video.rtcpFeedback.includes('goog-remb');
    const t0 = performance.now();
    await sleep(300);
    const ntp = ntpTimeNow();
    pub.client.sendRtcp(buildSr({ ssrc: pub.client.videoSsrc, ntpTime: ntp, rtpTimestamp: currentRtpTimestamp(pub, 'video'), packetCount: 0, octetCount: 0 }));
    const srAt = performance.now();
    await sleep(2_000);
    const items = pub.rtcpItems(t0);
    const rrs = items.filter((i): i is Extract<RtcpItem, { type: 'rr' }> & { at: number } => i.type === 'rr');
    const rembs = items.filter((i): i is Extract<RtcpItem, { type: 'remb' }> & { at: number } => i.type === 'remb');
    console.log(
      `      answer video feedback: ${video.rtcpFeedback.join(', ')}; in 2.3 s: ${rrs.length} RR, ${rembs.length} REMB` +
        (rembs[0] ? ` (${(rembs[0].bitrate / 1e6).toFixed(2)} Mbit/s for ${rembs[0].ssrcs.join(', ')})` : '') +
        (rrs.at(-1) ? `; last RR blocks ${JSON.stringify(rrs.at(-1)!.reports)}` : ''),
    );
    assert.ok(rrs.length >= 1, 'at least one RR within ~2 s');
    for (const rr of rrs) {
      for (const [kind, ssrc] of [
        ['video', pub.client.videoSsrc],
        ['audio', pub.client.audioSsrc],
      ] as const) {
        const block = rr.reports.find((b) => b.ssrc === ssrc);
        assert.ok(block, `RR at +${(rr.at - t0).toFixed(0)} ms has a block for the ${kind} SSRC`);
        const sentBefore = pub.of(kind).filter((p) => p.at <= rr.at);
        const highest = sentBefore.at(-1)!.view.sequenceNumber;
        const behind = seqDiff(highest, block.highestSeq & 0xffff);
        assert.ok(behind >= 0 && behind <= 60, `${kind} highestSeq ${block.highestSeq & 0xffff} is the last sent (${highest}) or just before it`);
        assert.ok(block.highestSeq >>> 16 <= 1, `${kind} highestSeq cycles ${block.highestSeq >>> 16}`);
        assert.equal(block.packetsLost, 0, `${kind}: nothing lost on loopback`);
        assert.equal(block.fractionLost, 0);
      }
    }
    const afterSr = rrs.filter((r) => r.at > srAt + 60);
    assert.ok(afterSr.length >= 1, 'an RR after the SR');
    const block = afterSr[0]!.reports.find((b) => b.ssrc === pub.client.videoSsrc)!;
    assert.equal(block.lsr, Number((ntp >> 16n) & 0xffffffffn), "LSR = the middle 32 bits of the SR's NTP time");
    const dlsrMs = (block.dlsr / 65536) * 1000;
    assert.ok(dlsrMs > 0 && dlsrMs <= afterSr[0]!.at - srAt + 5, `DLSR ${dlsrMs.toFixed(0)} ms ≤ time since the SR`);
    if (remb) {
      assert.ok(rembs.length >= 1, 'goog-remb was negotiated: REMB within ~2 s');
      for (const r of rembs) {
        assert.ok(r.bitrate > 9_900_000 && r.bitrate <= 10_000_000, `REMB ${r.bitrate}`);
        assert.ok(r.ssrcs.includes(pub.client.videoSsrc), 'REMB names the video SSRC');
        assert.notEqual(r.senderSsrc, pub.client.videoSsrc);
      }
    } else {
      assert.equal(rembs.length, 0, 'no REMB when goog-remb was not negotiated');
    }
  });

  it('keeps viewers through a change of publisher: same SSRC, sequence numbers and timestamps run on, video resumes on a keyframe', async () => {
    const room = 'handover';
    const a = await publish(room);
    const vs = await joinMany(room, 3);
    const sessionIds = [...fanout.server.server.sfu.rooms.get(room)!.viewers].map((v) => v.session.id).sort();
    await sleep(2_000);
    a.stop();
    await a.close();
    assert.equal(a.client.deleteStatus, 200);
    const aGone = performance.now();
    const between = await waitFor(
      'the room without its publisher',
      async () => {
        const r = await fanout.server.room(room);
        return r && !r.live ? r : undefined;
      },
      2_000,
    );
    assert.equal(between.viewers, 3, '/api/rooms still lists the 3 viewers');
    assert.equal(between.live, false);
    await sleep(1_000);
    const b = await publish(room);
    const bStart = b.sent[0]!.at;
    assert.notEqual(b.client.videoSsrc, a.client.videoSsrc);
    await sleep(1_500); // 1.5 s of B's media
    b.stop();
    await drained(b, vs);
    const after = await fanout.server.room(room);
    assert.equal(after?.viewers, 3);
    assert.equal(after?.live, true);
    assert.deepEqual(
      [...fanout.server.server.sfu.rooms.get(room)!.viewers].map((v) => v.session.id).sort(),
      sessionIds,
      'the same viewer sessions: nobody reconnected',
    );

    const problems: string[] = [];
    const figures: string[] = [];
    vs.forEach((v, n) => {
      if (!v.client.connected) problems.push(`viewer ${n}: disconnected`);
      if (v.decryptFailures) problems.push(`viewer ${n}: ${v.decryptFailures} packets did not decrypt`);
      for (const kind of KINDS) {
        const all = v.of(kind);
        const fromA = all.filter((p) => p.at < aGone);
        const fromB = all.filter((p) => p.at >= bStart);
        if (fromA.length === 0 || fromB.length === 0 || fromA.length + fromB.length !== all.length) {
          problems.push(`viewer ${n} ${kind}: ${fromA.length} packets from A, ${fromB.length} from B, ${all.length - fromA.length - fromB.length} in between`);
          continue;
        }
        const ssrcs = [...new Set(all.map((p) => p.view.ssrc))];
        if (ssrcs.length !== 1 || ssrcs[0] !== v.ssrc(kind)) problems.push(`viewer ${n} ${kind}: SSRCs ${ssrcs.join(',')} (declared ${v.ssrc(kind)})`);
        if (!sourceOf(b, fromB[0]!)) problems.push(`viewer ${n} ${kind}: the first packet after the gap is not B's`);
        problems.push(...continuityProblems(`viewer ${n} ${kind} A`, fromA), ...continuityProblems(`viewer ${n} ${kind} B`, fromB));
        const lastA = fromA.at(-1)!;
        const firstB = fromB[0]!;
        const seqStep = seqDiff(firstB.view.sequenceNumber, lastA.view.sequenceNumber);
        if (seqStep !== 1) problems.push(`viewer ${n} ${kind}: seq ${lastA.view.sequenceNumber} (A's last) → ${firstB.view.sequenceNumber} (B's first)`);
        const tsGapMs = tsDiff(firstB.view.timestamp, lastA.view.timestamp) / CLOCK_KHZ[kind];
        const wallGapMs = firstB.at - lastA.at;
        if (Math.abs(tsGapMs - wallGapMs) > 150)
          problems.push(`viewer ${n} ${kind}: timestamps advanced ${tsGapMs.toFixed(0)} ms over a ${wallGapMs.toFixed(0)} ms gap`);
        if (kind === 'video') {
          const nals = fromB.slice(0, 2).flatMap((p) => h264Nals(payloadOf(p.plain)));
          if (nals[0]?.type !== 7 || nals[1]?.type !== 8 || nals[2]?.type !== 5)
            problems.push(`viewer ${n}: video resumed on NALs ${JSON.stringify(nals)}, not SPS/PPS/IDR`);
        }
        if (n === 0)
          figures.push(
            `${kind}: seq ${lastA.view.sequenceNumber}→${firstB.view.sequenceNumber}, ts +${tsGapMs.toFixed(0)} ms over ${wallGapMs.toFixed(0)} ms wall`,
          );
      }
    });
    console.log(`      viewer 0 across the change: ${figures.join('; ')}`);
    assert.deepEqual(problems, [], `viewers run on through the change of publisher:\n${problems.join('\n')}`);
  });

  it("while a viewer waits for a new publisher's keyframe, its SRs and NACK answers never mix the old and new numbering", async () => {
    const room = 'handover-wait';
    const a = await publish(room);
    const [v] = await joinMany(room, 1);
    await sleep(800);
    a.stop();
    await a.close();
    const lastA = v!.of('video').slice(-2);
    await sleep(300);
    // B's first keyframe never arrives: the server gets only delta frames, caches them,
    // and holds them back from the viewer (whose video waits for a keyframe).
    const b = await MediaPublisher.connect(`${fanout.server.url}/whip/${room}`, { videoKbps: 2000, fps: 30, keyframeIntervalFrames: 600 });
    fanout.publishers.push(b);
    let firstTs: number | undefined;
    b.filter = (_p, view, kind) => {
      if (kind !== 'video') return true;
      firstTs ??= view.timestamp;
      return view.timestamp !== firstTs;
    };
    b.start();
    await sleep(400);
    // An SR from B for its video now.
    const lastB = [...b.sent, ...b.dropped]
      .filter((p) => p.kind === 'video')
      .sort((x, y) => x.at - y.at)
      .at(-1)!;
    const srRtp = (lastB.view.timestamp + Math.round((performance.now() - lastB.at) * 90)) >>> 0;
    const srAt = performance.now();
    b.client.sendRtcp(buildSr({ ssrc: b.client.videoSsrc, ntpTime: ntpTimeNow(), rtpTimestamp: srRtp, packetCount: 1, octetCount: 1 }));
    await sleep(200);
    b.source.requestKeyframe();
    await waitFor("B's video at the viewer", () => (v!.of('video', srAt).some((p) => sourceOf(b, p)) ? true : undefined), 2_000);
    // Then the viewer asks again for A's last two packets (say they were lost at the change).
    const nackAt = performance.now();
    v!.sendRtcp(
      buildNack(
        v!.rtcpSsrc,
        v!.ssrc('video'),
        lastA.map((p) => p.view.sequenceNumber),
      ),
    );
    await sleep(200);
    const firstB = v!.of('video', srAt).find((p) => sourceOf(b, p))!;
    const offsetB = (firstB.view.timestamp - sourceOf(b, firstB)!.view.timestamp) >>> 0;
    const srs = v!.rtcpItems(srAt).filter((i): i is Extract<RtcpItem, { type: 'sr' }> & { at: number } => i.type === 'sr' && i.ssrc === v!.ssrc('video'));
    const resent = v!.of('video', nackAt).filter((p) => lastA.some((x) => x.view.sequenceNumber === p.view.sequenceNumber));
    console.log(
      `      SRs to the viewer for B's video before its keyframe: ${srs.map((s) => `rtp ${s.rtpTimestamp} (B's offset would give ${(srRtp + offsetB) >>> 0})`).join(', ') || 'none'}; ` +
        `NACK for A's ${lastA.map((p) => p.view.sequenceNumber).join(', ')} answered with ${resent.map((p) => (sourceOf(b, p) ? "B's packet" : lastA.some((x) => x.plain.equals(p.plain)) ? "A's packet" : 'an unknown packet')).join(', ') || 'nothing'}`,
    );
    const problems: string[] = [];
    for (const s of srs) {
      if (s.rtpTimestamp !== (srRtp + offsetB) >>> 0) {
        problems.push(
          `SR for the viewer's video SSRC maps B's RTP time ${srRtp} to ${s.rtpTimestamp}, but B's packets reach the viewer with offset ${offsetB} (${(srRtp + offsetB) >>> 0}): it was translated with the previous publisher's offset while the video forwarder still waited for B's keyframe`,
        );
      }
    }
    for (const p of resent) {
      if (!lastA.some((x) => x.plain.equals(p.plain))) {
        problems.push(
          `NACK for the viewer's seq ${p.view.sequenceNumber} (publisher A's packet) was answered with ${sourceOf(b, p) ? 'a packet of publisher B that the viewer never got' : 'other bytes'}`,
        );
      }
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });
});
