import assert from 'node:assert/strict';
import { parseRtcp } from '../../src/rtp/rtcp';
import { TwccRecorder, parseTwccFeedback, type TwccFeedback } from '../../src/rtp/twcc';
import { hex, prng } from '../support/random';

/** The transport-wide sequence number extension value (2 bytes, big-endian). */
function ext(seq: number): Uint8Array {
  return Uint8Array.of((seq >> 8) & 0xff, seq & 0xff);
}

function recorder(): TwccRecorder {
  return new TwccRecorder(0x01020304, () => 0x0a0b0c0d);
}

function parse(packet: Buffer): TwccFeedback {
  const fb = parseTwccFeedback(packet);
  assert.ok(fb, `not a valid feedback: ${packet.toString('hex')}`);
  return fb;
}

/**
 * Every status in `packets`, in order, with the arrival time a sender reconstructs:
 * reference time × 64 ms plus the running sum of deltas, in whole 250 µs ticks.
 */
function statuses(packets: Buffer[]): { seq: number; arrivalMs?: number }[] {
  const out: { seq: number; arrivalMs?: number }[] = [];
  for (const packet of packets) {
    assert.ok(packet.length <= 1200, `feedback of ${packet.length} bytes`);
    assert.equal(packet.length % 4, 0);
    const fb = parse(packet);
    assert.equal(fb.packets.length, fb.statusCount);
    let ticks = fb.referenceTime * 256;
    for (const p of fb.packets) {
      if (!p.received) {
        out.push({ seq: p.seq });
        continue;
      }
      ticks += p.deltaUs! / 250;
      out.push({ seq: p.seq, arrivalMs: ticks / 4 });
    }
  }
  return out;
}

describe('TWCC feedback', () => {
  it('exact bytes of two hand-built feedback packets', () => {
    const r = recorder();
    r.record(ext(100), 1000); // 4000 ticks
    r.record(ext(101), 1001); // 4004
    // 102 lost
    r.record(ext(103), 1070.5); // 4282
    r.record(ext(104), 1070); // 4280: before 103
    r.record(ext(105), 1071); // 4284
    // Reference time floor(4000 / 256) = 15 (960 ms). Deltas in 250 µs ticks: 4000 - 3840 = 160,
    // 4, lost, 278 (> 255: large), -2 (negative: large), 4. Symbols 1 1 0 2 2 1 include large
    // ones, so a two-bit vector: 11 | 01 01 00 10 10 01 00 = 0xd4a4 (7th slot unused).
    // 20 header + 2 chunk + 7 delta bytes = 29, padded to 32 with P set and count 3 at the end.
    assert.deepEqual(r.buildFeedback(), [
      hex(`
          af cd 0007   01020304   0a0b0c0d
          0064 0006    00000f 00
          d4a4
          a0 04 0116 fffe 04
          000003`),
    ]);

    r.record(ext(106), 1100); // 4400
    r.record(ext(107), 1101);
    r.record(ext(108), 1102);
    // Reference floor(4400 / 256) = 17 (4352 ticks), deltas 48, 4, 4: three small deltas in a
    // run-length chunk 0 | 01 | 0000000000011 = 0x2003. Feedback packet count is now 1.
    // 20 + 2 + 3 = 25, padded to 28.
    assert.deepEqual(r.buildFeedback(), [hex('af cd 0006 01020304 0a0b0c0d 006a 0003 000011 01 2003 30 04 04 000003')]);
  });

  it('all received at 1 ms spacing', () => {
    const r = recorder();
    for (let i = 0; i < 20; i++) r.record(ext(1000 + i), 5000 + i);
    const packets = r.buildFeedback();
    assert.equal(packets.length, 1);
    const fb = parse(packets[0]!);
    assert.equal(fb.baseSeq, 1000);
    assert.equal(fb.statusCount, 20);
    assert.equal(fb.referenceTime, Math.floor(5000 / 64));
    assert.deepEqual(
      statuses(packets),
      Array.from({ length: 20 }, (_, i) => ({ seq: 1000 + i, arrivalMs: 5000 + i })),
    );
  });

  it('300 packets in one feedback, as one run-length chunk', () => {
    const r = recorder();
    for (let i = 0; i < 300; i++) r.record(ext(i), 10_000 + i * 0.5);
    const packets = r.buildFeedback();
    assert.equal(packets.length, 1);
    // 20 header + one 2-byte chunk + 300 one-byte deltas = 322, padded to 324.
    assert.equal(packets[0]!.length, 324);
    assert.deepEqual(
      statuses(packets),
      Array.from({ length: 300 }, (_, i) => ({ seq: i, arrivalMs: 10_000 + i * 0.5 })),
    );
  });

  it('gaps: losses reported as not received, mixed runs as one-bit vectors', () => {
    const r = recorder();
    const received = new Set<number>();
    // 28 alternating (two one-bit chunks), then a long gap of 40 lost, then 5 received.
    for (let i = 0; i < 28; i += 2) received.add(i);
    for (let i = 68; i < 73; i++) received.add(i);
    for (const seq of received) r.record(ext(seq), 2000 + seq);
    const packets = r.buildFeedback();
    assert.deepEqual(
      statuses(packets),
      Array.from({ length: 73 }, (_, seq) => (received.has(seq) ? { seq, arrivalMs: 2000 + seq } : { seq })),
    );
    // Chunks: 2 one-bit vectors (0..27), a run of 40 lost (28..67), a run of 5 received: 8 bytes.
    // Deltas: 14 + 5 one-byte (the one after the gap is 42 ms). 20 + 8 + 19 = 47 → 48.
    assert.equal(packets[0]!.length, 48);
  });

  it('a delta above 63.75 ms is sent as a large delta', () => {
    const r = recorder();
    r.record(ext(7), 3000);
    r.record(ext(8), 3100.25);
    r.record(ext(9), 3100.5);
    const packets = r.buildFeedback();
    const fb = parse(packets[0]!);
    assert.deepEqual(
      fb.packets.map((p) => p.deltaUs),
      [(3000 - 46 * 64) * 1000, 100_250, 250],
    );
    assert.deepEqual(statuses(packets), [
      { seq: 7, arrivalMs: 3000 },
      { seq: 8, arrivalMs: 3100.25 },
      { seq: 9, arrivalMs: 3100.5 },
    ]);
  });

  it('a negative delta when a later number arrived first', () => {
    const r = recorder();
    r.record(ext(1), 1000);
    r.record(ext(3), 1002);
    r.record(ext(2), 1003); // placed between 1 and 3 though recorded after 3
    const packets = r.buildFeedback();
    assert.deepEqual(
      parse(packets[0]!).packets.map((p) => p.deltaUs),
      [(1000 - 15 * 64) * 1000, 3000, -1000],
    );
    assert.deepEqual(statuses(packets), [
      { seq: 1, arrivalMs: 1000 },
      { seq: 2, arrivalMs: 1003 },
      { seq: 3, arrivalMs: 1002 },
    ]);
  });

  it('sequence numbers wrap 65535 → 0', () => {
    const r = recorder();
    const seqs = [65533, 65534, 65535, 0, 1, 2];
    seqs.forEach((seq, i) => r.record(ext(seq), 100 + i));
    r.record(ext(4), 106);
    const packets = r.buildFeedback();
    assert.equal(packets.length, 1);
    assert.equal(parse(packets[0]!).baseSeq, 65533);
    assert.deepEqual(statuses(packets), [...seqs.map((seq, i) => ({ seq, arrivalMs: 100 + i })), { seq: 3 }, { seq: 4, arrivalMs: 106 }]);
    // The next report continues after the wrap.
    r.record(ext(5), 107);
    assert.equal(parse(r.buildFeedback()[0]!).baseSeq, 5);
  });

  it('a delta that does not fit 16 bits starts a new packet with its own reference time', () => {
    const r = recorder();
    r.record(ext(10), 1000);
    r.record(ext(12), 1000 + 8192); // 32768 ticks: one more than a signed 16-bit delta holds
    r.record(ext(13), 1000 + 8193);
    const packets = r.buildFeedback();
    assert.equal(packets.length, 2);
    const [a, b] = packets.map(parse);
    // The loss of 11 stays with the first packet; the second starts at 12.
    assert.deepEqual([a!.baseSeq, a!.statusCount, b!.baseSeq, b!.statusCount], [10, 2, 12, 2]);
    assert.equal(b!.referenceTime, Math.floor(9192 / 64));
    assert.deepEqual([a!.fbPktCount, b!.fbPktCount], [0, 1]);
    assert.deepEqual(statuses(packets), [{ seq: 10, arrivalMs: 1000 }, { seq: 11 }, { seq: 12, arrivalMs: 9192 }, { seq: 13, arrivalMs: 9193 }]);
    // One tick less fits as a large delta in a single packet.
    const s = recorder();
    s.record(ext(10), 1000);
    s.record(ext(11), 1000 + 8191.75);
    assert.equal(s.buildFeedback().length, 1);
  });

  it('the feedback packet count increments per packet and wraps at 256', () => {
    const r = recorder();
    const counts: number[] = [];
    for (let i = 0; i < 258; i++) {
      r.record(ext(i), i * 10);
      for (const p of r.buildFeedback()) counts.push(parse(p).fbPktCount);
    }
    assert.deepEqual(
      counts,
      Array.from({ length: 258 }, (_, i) => i & 0xff),
    );
  });

  it('nothing new → []', () => {
    const r = recorder();
    assert.deepEqual(r.buildFeedback(), []);
    r.record(ext(1), 1);
    assert.equal(r.buildFeedback().length, 1);
    assert.deepEqual(r.buildFeedback(), []);
  });

  it('duplicates keep the first arrival; numbers already reported are ignored', () => {
    const r = recorder();
    r.record(ext(1), 10);
    r.record(ext(3), 12);
    r.record(ext(1), 15);
    assert.deepEqual(statuses(r.buildFeedback()), [{ seq: 1, arrivalMs: 10 }, { seq: 2 }, { seq: 3, arrivalMs: 12 }]);
    r.record(ext(2), 20); // reported lost already: too late
    r.record(ext(3), 21);
    assert.deepEqual(r.buildFeedback(), []);
    r.record(ext(2), 22);
    r.record(ext(5), 23);
    assert.deepEqual(statuses(r.buildFeedback()), [{ seq: 4 }, { seq: 5, arrivalMs: 23 }]);
  });

  it('reordering within the window: a number below the first one recorded is still reported', () => {
    const r = recorder();
    r.record(ext(50), 1);
    r.record(ext(48), 2);
    r.record(ext(52), 3);
    r.record(ext(51), 4);
    assert.deepEqual(statuses(r.buildFeedback()), [
      { seq: 48, arrivalMs: 2 },
      { seq: 49 },
      { seq: 50, arrivalMs: 1 },
      { seq: 51, arrivalMs: 4 },
      { seq: 52, arrivalMs: 3 },
    ]);
  });

  it('splits a large report into packets of at most 1200 bytes, contiguous', () => {
    const r = recorder();
    for (let i = 0; i < 3000; i++) r.record(ext(i), 1000 + i * 0.25);
    const packets = r.buildFeedback();
    assert.ok(packets.length >= 3);
    const all = statuses(packets);
    assert.deepEqual(
      all,
      Array.from({ length: 3000 }, (_, i) => ({ seq: i, arrivalMs: 1000 + i * 0.25 })),
    );
    // parseRtcp (the SFU's own parser) takes them as one compound packet.
    const items = parseRtcp(Buffer.concat(packets));
    assert.deepEqual(
      items,
      packets.map(() => ({ type: 'twcc', senderSsrc: 0x01020304, mediaSsrc: 0x0a0b0c0d })),
    );
  });

  it('keeps at most 2^15 numbers pending when no report is taken', () => {
    const r = recorder();
    const n = (1 << 15) + 100;
    for (let i = 0; i < n; i++) r.record(ext(i), i);
    const all = statuses(r.buildFeedback());
    assert.equal(all.length, 1 << 15);
    assert.deepEqual(all[0], { seq: 100, arrivalMs: 100 });
    assert.deepEqual(all.at(-1), { seq: n - 1, arrivalMs: n - 1 });
  });

  it('the 24-bit reference time wraps', () => {
    const r = recorder();
    const wrapMs = 2 ** 24 * 64;
    r.record(ext(1), wrapMs - 10);
    const a = parse(r.buildFeedback()[0]!);
    r.record(ext(2), wrapMs + 100);
    const b = parse(r.buildFeedback()[0]!);
    assert.deepEqual([a.referenceTime, b.referenceTime], [0xffffff, 1]);
    assert.deepEqual([a.packets[0]!.deltaUs, b.packets[0]!.deltaUs], [54_000, 36_000]);
  });

  it('parseTwccFeedback rejects what is not a consistent feedback packet', () => {
    const good = hex('af cd 0006 01020304 0a0b0c0d 006a 0003 000011 01 2003 30 04 04 000003');
    assert.ok(parseTwccFeedback(good));
    const variant = (at: number, value: number): Buffer => {
      const b = Buffer.from(good);
      b[at] = value;
      return b;
    };
    assert.equal(parseTwccFeedback(variant(1, 206)), undefined); // PSFB
    assert.equal(parseTwccFeedback(variant(0, 0xa1)), undefined); // NACK
    assert.equal(parseTwccFeedback(good.subarray(0, 24)), undefined); // shorter than its length
    assert.equal(parseTwccFeedback(variant(15, 0)), undefined); // no statuses
    assert.equal(parseTwccFeedback(variant(15, 6)), undefined); // more statuses than deltas
    assert.equal(parseTwccFeedback(variant(20, 0x60)), undefined); // reserved symbol 11
    assert.equal(parseTwccFeedback(variant(27, 0)), undefined); // padding count 0
  });

  it('10 000 packets with 5% loss, jitter, reordering and duplicates round-trip exactly', () => {
    const rand = prng(0x7cc);
    const firstSeq = 60_000; // wraps through 0
    const count = 10_000;
    // Arrivals: sent every 0..2 ms, 20 ms path delay, 0..5 ms jitter, 2% delayed up to 150 ms
    // more (large and negative deltas, reordering), 5% lost, 1% duplicated later.
    const firstArrival = new Map<number, number>();
    const events: { seq: number; at: number }[] = [];
    let sentMs = 10_000;
    for (let i = 0; i < count; i++) {
      sentMs += rand() * 2;
      const seq = (firstSeq + i) & 0xffff;
      if (i > 0 && rand() < 0.05) continue;
      let at = sentMs + 20 + rand() * 5;
      if (i > 0 && rand() < 0.02) at += rand() * 150; // the first stays first: the reports start there
      firstArrival.set(seq, at);
      events.push({ seq, at });
      if (rand() < 0.01) events.push({ seq, at: at + rand() * 50 });
    }
    events.sort((x, y) => x.at - y.at);

    const r = recorder();
    const reports: { at: number; packets: Buffer[] }[] = [];
    let nextReport = 10_050;
    for (const e of events) {
      while (nextReport <= e.at) {
        reports.push({ at: nextReport, packets: r.buildFeedback() });
        nextReport += 50 + rand() * 50;
      }
      r.record(ext(e.seq), e.at);
    }
    reports.push({ at: Infinity, packets: r.buildFeedback() });

    let expectedSeq = firstSeq;
    let received = 0;
    let late = 0;
    for (const report of reports) {
      for (const s of statuses(report.packets)) {
        assert.equal(s.seq, expectedSeq, 'each number reported once, in order');
        expectedSeq = (expectedSeq + 1) & 0xffff;
        const arrival = firstArrival.get(s.seq);
        if (arrival !== undefined && arrival < report.at) {
          // Rounded to whole 250 µs ticks, never accumulated: off by at most half a tick.
          assert.ok(s.arrivalMs !== undefined, `seq ${s.seq} arrived but reported lost`);
          assert.ok(Math.abs(s.arrivalMs - arrival) <= 0.125 + 1e-9, `seq ${s.seq}: ${s.arrivalMs} vs ${arrival}`);
          received++;
        } else {
          assert.equal(s.arrivalMs, undefined, `seq ${s.seq} reported received before it arrived`);
          if (arrival !== undefined) late++;
        }
      }
    }
    assert.equal(expectedSeq, (firstSeq + count) & 0xffff);
    assert.equal(received + late, firstArrival.size);
    // Late: arrived after a report had already covered (and lost) them, mostly the delayed 2%.
    assert.ok(received > count * 0.9 && late < count * 0.03, `received ${received}, late ${late}`);
  });
});
