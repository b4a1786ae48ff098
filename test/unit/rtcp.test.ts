import assert from 'node:assert/strict';
import {
  ReceptionStats,
  buildBye,
  buildFir,
  buildNack,
  buildPli,
  buildRemb,
  buildRr,
  buildSr,
  ntpTimeNow,
  parseRtcp,
  translateSr,
  type ReportBlock,
  type RtcpItem,
} from '../../src/rtp/rtcp';
import { hex, prng } from '../support/random';

const block: ReportBlock = {
  ssrc: 0xaabbccdd,
  fractionLost: 25,
  packetsLost: -3,
  highestSeq: 0x0001ffff,
  jitter: 1234,
  lsr: 0x56789abc,
  dlsr: 32768,
};

describe('RTCP builders round-trip through parseRtcp', () => {
  it('SR', () => {
    const sr = { ssrc: 0x01020304, ntpTime: 0xe9b1c2d3_80000000n, rtpTimestamp: 0xfffffff0, packetCount: 1000, octetCount: 1_200_000 };
    assert.deepEqual(parseRtcp(buildSr(sr)), [{ type: 'sr', ...sr, reports: [] }]);
  });

  it('RR with report blocks, including negative cumulative loss', () => {
    const rr = { ssrc: 0x01020304, reports: [block, { ...block, ssrc: 7, packetsLost: 0x7fffff, fractionLost: 255 }] };
    assert.deepEqual(parseRtcp(buildRr(rr)), [{ type: 'rr', ...rr }]);
  });

  it('RR clamps cumulative loss to 24-bit signed', () => {
    const [rr] = parseRtcp(
      buildRr({
        ssrc: 1,
        reports: [
          { ...block, packetsLost: 1e9 },
          { ...block, packetsLost: -1e9 },
        ],
      }),
    );
    assert.ok(rr?.type === 'rr');
    assert.deepEqual(
      rr.reports.map((r) => r.packetsLost),
      [0x7fffff, -0x800000],
    );
  });

  it('PLI, FIR, NACK, REMB', () => {
    assert.deepEqual(parseRtcp(buildPli(1, 2)), [{ type: 'pli', senderSsrc: 1, mediaSsrc: 2 }]);
    assert.deepEqual(parseRtcp(buildFir(1, 0xfedcba98, 300)), [{ type: 'fir', senderSsrc: 1, entries: [{ ssrc: 0xfedcba98, seq: 300 & 0xff }] }]);
    const lost = [10, 11, 12, 30, 31, 47, 48, 1000];
    assert.deepEqual(parseRtcp(buildNack(1, 2, lost)), [{ type: 'nack', senderSsrc: 1, mediaSsrc: 2, lost }]);
    assert.deepEqual(parseRtcp(buildRemb(1, 1_500_000, [5, 6])), [{ type: 'remb', senderSsrc: 1, bitrate: 1_500_000, ssrcs: [5, 6] }]);
  });

  it('a compound of all of them, in order', () => {
    const compound = Buffer.concat([
      buildRr({ ssrc: 9, reports: [block] }),
      buildNack(9, 2, [65535, 0]),
      buildFir(9, 2, 1),
      buildRemb(9, 300_000, [2]),
      buildPli(9, 2),
    ]);
    assert.deepEqual(
      parseRtcp(compound).map((i) => i.type),
      ['rr', 'nack', 'fir', 'remb', 'pli'],
    );
    const nack = parseRtcp(compound)[1];
    assert.ok(nack?.type === 'nack');
    assert.deepEqual(nack.lost, [65535, 0], 'a NACK followed by another packet reads only its own FCI');
  });
});

describe('RTCP exact bytes', () => {
  it('PLI (RFC 4585 §6.3.1): V=2 FMT=1 PT=206 length=2', () => {
    assert.equal(buildPli(0x11223344, 0x55667788).toString('hex'), '81ce0002' + '11223344' + '55667788');
  });

  it('FIR (RFC 5104 §4.3.1.1): FMT=4, media source 0, FCI = SSRC, seq, 24 reserved bits', () => {
    assert.equal(buildFir(0x11223344, 0x55667788, 7).toString('hex'), '84ce0004' + '11223344' + '00000000' + '55667788' + '07000000');
  });

  it('generic NACK (RFC 4585 §6.2.1) with a bitmask and a second pair', () => {
    // 101 → bit 0, 103 → bit 2, 116 → bit 15; 117 is 17 after the PID so it opens a new pair.
    assert.equal(
      buildNack(0x11223344, 0x55667788, [100, 101, 103, 116, 117]).toString('hex'),
      '81cd0004' + '11223344' + '55667788' + '0064' + '8005' + '0075' + '0000',
    );
  });

  it('generic NACK across the 65535→0 wrap packs into one pair, whatever the input order', () => {
    const bytes = buildNack(1, 2, [0, 65535, 2, 65534, 0]);
    assert.equal(bytes.toString('hex'), '81cd0003' + '00000001' + '00000002' + 'fffe' + '000b');
    const [nack] = parseRtcp(bytes);
    assert.ok(nack?.type === 'nack');
    assert.deepEqual(nack.lost, [65534, 65535, 0, 2]);
  });

  it('REMB (draft-alvestrand-rmcat-remb) for 1.5 Mbps: exp 3, mantissa 187500', () => {
    assert.equal(
      buildRemb(0x11223344, 1_500_000, [0xaabbccdd]).toString('hex'),
      '8fce0005' + '11223344' + '00000000' + '52454d42' + '01' + '0edc6c' + 'aabbccdd',
    );
  });

  it('REMB for 50 Mbps: exp 8, mantissa truncated to 195312', () => {
    const bytes = buildRemb(0x11223344, 50_000_000, [1, 2]);
    assert.equal(bytes.toString('hex'), '8fce0006' + '11223344' + '00000000' + '52454d42' + '02' + '22faf0' + '00000001' + '00000002');
    const [remb] = parseRtcp(bytes);
    assert.ok(remb?.type === 'remb');
    assert.equal(remb.bitrate, 195312 * 2 ** 8);
    assert.ok(remb.bitrate <= 50_000_000);
  });

  it('BYE (RFC 3550 §6.6) with a reason: 12 bytes, the shortest RTCP ffmpeg reads', () => {
    assert.equal(buildBye(0x11223344, 'end').toString('hex'), '81cb0002' + '11223344' + '03656e64');
    assert.equal(buildBye(0x11223344).toString('hex'), '81cb0001' + '11223344');
    // A longer reason is zero-padded to a 32-bit boundary.
    assert.equal(buildBye(1, 'done').toString('hex'), '81cb0003' + '00000001' + '04646f6e' + '65000000');
    const [bye] = parseRtcp(buildBye(1, 'end'));
    assert.deepEqual(bye, { type: 'other', packetType: 203, fmt: 1 });
  });

  it('SR (RFC 3550 §6.4.1)', () => {
    assert.equal(
      buildSr({ ssrc: 0x11223344, ntpTime: 0x0102030405060708n, rtpTimestamp: 0x0a0b0c0d, packetCount: 5, octetCount: 600 }).toString('hex'),
      '80c80006' + '11223344' + '0102030405060708' + '0a0b0c0d' + '00000005' + '00000258',
    );
  });
});

describe('parseRtcp', () => {
  // SR with one report block, then SDES with a 16-character CNAME, as Chrome sends them.
  const chromeSr = hex(
    '81c8000c' +
      '5e2f9a01' +
      'e9b1c2d3' +
      '4bc6a7f0' +
      '0001e240' +
      '00000064' +
      '00003a98' +
      '1a2b3c4d' +
      '05' +
      'ffffff' +
      '0000ffff' +
      '0000001e' +
      'c2d34bc6' +
      '00008000',
  );
  const chromeSdes = hex('81ca0006' + '5e2f9a01' + '0110' + Buffer.from('aBcDeFgHiJkLmNoP').toString('hex') + '0000');

  it('reads a compound SR+SDES as Chrome sends it', () => {
    const items = parseRtcp(Buffer.concat([chromeSr, chromeSdes]));
    assert.deepEqual(items, [
      {
        type: 'sr',
        ssrc: 0x5e2f9a01,
        ntpTime: 0xe9b1c2d34bc6a7f0n,
        rtpTimestamp: 123456,
        packetCount: 100,
        octetCount: 15000,
        reports: [{ ssrc: 0x1a2b3c4d, fractionLost: 5, packetsLost: -1, highestSeq: 65535, jitter: 30, lsr: 0xc2d34bc6, dlsr: 0x8000 }],
      },
      { type: 'other', packetType: 202, fmt: 1 },
    ]);
  });

  it('recognises transport-wide CC without decoding it, and passes other feedback through', () => {
    const twcc = hex('8fcd0005' + '00000001' + '00000002' + '0001000a' + '00000100' + '200a0000');
    const afb = hex('8fce0004' + '00000001' + '00000000' + '41424344' + '01000000'); // FMT 15 but not 'REMB'
    assert.deepEqual(parseRtcp(Buffer.concat([twcc, afb])), [
      { type: 'twcc', senderSsrc: 1, mediaSsrc: 2 },
      { type: 'other', packetType: 206, fmt: 15 },
    ]);
  });

  it('honours padding on the last packet', () => {
    // PLI padded with 4 bytes: length 3, P bit set, last octet = 4.
    assert.deepEqual(parseRtcp(hex('a1ce0003' + '00000001' + '00000002' + '00000004')), [{ type: 'pli', senderSsrc: 1, mediaSsrc: 2 }]);
  });

  it('returns [] for a wrong version and for nothing', () => {
    assert.deepEqual(parseRtcp(hex('41ce0002' + '00000001' + '00000002')), []);
    assert.deepEqual(parseRtcp(new Uint8Array(0)), []);
  });

  it('returns the packets before a truncated one', () => {
    const compound = Buffer.concat([chromeSr, buildPli(1, 2)]);
    for (let cut = 0; cut <= compound.length; cut++) {
      const types = parseRtcp(compound.subarray(0, cut)).map((i) => i.type);
      const expected = cut === compound.length ? ['sr', 'pli'] : cut >= chromeSr.length ? ['sr'] : [];
      assert.deepEqual(types, expected, `cut at ${cut}`);
    }
  });

  it('stops at a packet whose contents do not fit its length', () => {
    // An RR claiming 2 report blocks in a 1-block length, after a valid PLI.
    const badRr = Buffer.from(buildRr({ ssrc: 1, reports: [block] }));
    badRr[0] = 0x82;
    assert.deepEqual(
      parseRtcp(Buffer.concat([buildPli(1, 2), badRr, buildPli(3, 4)])).map((i) => i.type),
      ['pli'],
    );
  });

  it('never throws on random or mutated input (seeded fuzz)', () => {
    const rand = prng(0x5eed);
    const valid = Buffer.concat([chromeSr, chromeSdes, buildNack(1, 2, [1, 5, 40]), buildFir(1, 2, 3), buildRemb(1, 2e6, [2, 3]), buildPli(1, 2)]);
    let items = 0;
    for (let i = 0; i < 10_000; i++) {
      let buf: Uint8Array;
      if (i % 2 === 0) {
        buf = new Uint8Array(Math.floor(rand() * 200));
        for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256);
        if (buf.length > 0 && rand() < 0.5) buf[0] = 0x80 | (buf[0]! & 0x3f); // version 2 half the time
      } else {
        buf = new Uint8Array(valid.subarray(0, Math.floor(rand() * (valid.length + 1))));
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips && buf.length > 0; f++) buf[Math.floor(rand() * buf.length)]! ^= 1 << Math.floor(rand() * 8);
      }
      const parsed: RtcpItem[] = parseRtcp(buf);
      items += parsed.length;
    }
    assert.ok(items > 1000, 'the mutated half should still yield items');
  });
});

describe('translateSr', () => {
  it('keeps the NTP time, shifts the RTP timestamp with wrap, and uses the viewer SSRC and counters', () => {
    const sr = { type: 'sr' as const, ssrc: 111, ntpTime: 0xe9b1c2d34bc6a7f0n, rtpTimestamp: 0xfffff000, packetCount: 9, octetCount: 9, reports: [block] };
    const out = parseRtcp(translateSr(sr, { ssrc: 222, timestampOffset: 0x2000, packetCount: 50, octetCount: 6000 }));
    assert.deepEqual(out, [{ type: 'sr', ssrc: 222, ntpTime: sr.ntpTime, rtpTimestamp: 0x1000, packetCount: 50, octetCount: 6000, reports: [] }]);
    const back = parseRtcp(translateSr(sr, { ssrc: 222, timestampOffset: -0x1000, packetCount: 0, octetCount: 0 }));
    assert.ok(back[0]?.type === 'sr');
    assert.equal(back[0].rtpTimestamp, 0xffffe000);
  });
});

describe('ntpTimeNow', () => {
  it('is Date.now() in NTP seconds and 2^-32 fractions', () => {
    const ntp = ntpTimeNow();
    const ms = Number(ntp >> 32n) * 1000 + (Number(ntp & 0xffffffffn) / 2 ** 32) * 1000 - 2_208_988_800_000;
    assert.ok(Math.abs(ms - Date.now()) < 50, `${ms} vs ${Date.now()}`);
  });
});

describe('ReceptionStats', () => {
  /** 30 fps at 90 kHz, one packet per frame, arriving exactly on time in the order given. */
  function feed(stats: ReceptionStats, seqs: number[]): void {
    for (const seq of seqs) stats.onPacket(seq, seq * 3000, (seq * 1000) / 30);
  }
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  it('in order: no loss, highest sequence', () => {
    const stats = new ReceptionStats(42, 90000);
    feed(stats, range(1000, 1100));
    const r = stats.reportBlock(0);
    assert.deepEqual(r, { ssrc: 42, fractionLost: 0, packetsLost: 0, highestSeq: 1099, jitter: 0, lsr: 0, dlsr: 0 });
    assert.deepEqual(stats.missing(), []);
  });

  it('loss: fraction since the last report, cumulative total, and the holes', () => {
    const stats = new ReceptionStats(42, 90000);
    feed(
      stats,
      range(0, 20).filter((s) => s !== 5 && s !== 6),
    );
    assert.deepEqual(stats.missing(), [5, 6]);
    let r = stats.reportBlock(0);
    assert.equal(r.packetsLost, 2);
    assert.equal(r.fractionLost, Math.floor((2 * 256) / 20));
    feed(stats, range(20, 40));
    r = stats.reportBlock(0);
    assert.equal(r.packetsLost, 2);
    assert.equal(r.fractionLost, 0);
    assert.deepEqual(stats.missing(10), [], 'older than maxAgePackets');
    assert.deepEqual(stats.missing(), [5, 6]);
  });

  it('a late arrival (reordering or retransmission) fills its hole; duplicates are not counted', () => {
    const stats = new ReceptionStats(42, 90000);
    feed(stats, [0, 1, 3, 2, 4, 4, 1]);
    assert.deepEqual(stats.missing(), []);
    assert.equal(stats.reportBlock(0).packetsLost, 0);
    feed(stats, [5, 9]);
    assert.deepEqual(stats.missing(), [6, 7, 8]);
    feed(stats, [7]);
    assert.deepEqual(stats.missing(), [6, 8]);
    const r = stats.reportBlock(0);
    assert.equal(r.packetsLost, 2);
    assert.equal(r.highestSeq, 9);
  });

  it('wraps at 65535 into the cycle count, and reports holes across the wrap in order', () => {
    const stats = new ReceptionStats(42, 90000);
    feed(stats, [65530, 65531, 65532, 65533, 65534, 1, 2]);
    assert.deepEqual(stats.missing(), [65535, 0]);
    const r = stats.reportBlock(0);
    assert.equal(r.highestSeq, 0x10000 + 2);
    assert.equal(r.packetsLost, 2);
    assert.equal(r.fractionLost, Math.floor((2 * 256) / 9));
  });

  it('takes a large jump as a restart only when the next packet follows it (RFC 3550 A.1)', () => {
    const stats = new ReceptionStats(42, 90000);
    feed(stats, range(0, 10));
    feed(stats, [40000]);
    assert.equal(stats.reportBlock(0).highestSeq, 9, 'a lone jump is ignored');
    feed(stats, [40001, 40002]);
    const r = stats.reportBlock(0);
    assert.equal(r.highestSeq, 40002);
    assert.equal(r.packetsLost, 0);
  });

  it('jitter is ~0 for a constant-rate stream and tracks alternating delay (A.8)', () => {
    const steady = new ReceptionStats(42, 90000);
    const jittery = new ReceptionStats(43, 90000);
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 300; i++) {
      // 30 fps at 90 kHz: 3000 ticks per 33.33 ms, starting near the 32-bit timestamp wrap.
      const ts = (0xffff0000 + i * 3000) >>> 0;
      steady.onPacket(i, ts, t0 + (i * 1000) / 30);
      jittery.onPacket(i, ts, t0 + (i * 1000) / 30 + (i % 2) * 5);
    }
    assert.equal(steady.reportBlock(0).jitter, 0);
    // Every transit difference is 5 ms = 450 ticks, so J converges on 450.
    const j = jittery.reportBlock(0).jitter;
    assert.ok(j >= 440 && j <= 450, `jitter ${j}`);
  });

  it('LSR is the middle 32 bits of the last SR and DLSR is in 1/65536 s', () => {
    const stats = new ReceptionStats(42, 48000);
    feed(stats, [1, 2, 3]);
    stats.onSenderReport(0x12345678_9abcdef0n, 1000);
    const r = stats.reportBlock(1500);
    assert.equal(r.lsr, 0x56789abc);
    assert.equal(r.dlsr, 32768);
  });

  it('reports zeros before any packet', () => {
    assert.deepEqual(new ReceptionStats(7, 90000).reportBlock(0), { ssrc: 7, fractionLost: 0, packetsLost: 0, highestSeq: 0, jitter: 0, lsr: 0, dlsr: 0 });
  });
});
