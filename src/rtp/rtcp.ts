// RTCP for the SFU's packet path (RFC 3550 §6, RFC 4585, RFC 5104, REMB, TWCC): plain
// compound RTCP in (SRTCP is already removed), items out; builders return one packet each.
//
// Written here rather than on werift's RtcpPacketConverter: werift hands every sub-parser
// the rest of the compound instead of its own packet (so a NACK, FIR or REMB followed by
// another packet decodes that packet's bytes as entries), does not check the version or
// the REMB identifier, throws on a short tail, reads "cumulative lost" as unsigned, does
// not wrap NACK sequence numbers, and allocates a class instance per field group.

export interface ReportBlock {
  ssrc: number;
  /** Fraction of packets lost since the previous report, in 1/256 units. */
  fractionLost: number;
  /** Cumulative packets lost, signed 24-bit (duplicates can make it negative on the wire). */
  packetsLost: number;
  /** Extended highest sequence number received: cycles << 16 | highest seq. */
  highestSeq: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP time of the last SR received, 0 if none. */
  lsr: number;
  /** Delay since that SR in 1/65536 s, 0 if none. */
  dlsr: number;
}

export type RtcpItem =
  | { type: 'sr'; ssrc: number; ntpTime: bigint; rtpTimestamp: number; packetCount: number; octetCount: number; reports: ReportBlock[] }
  | { type: 'rr'; ssrc: number; reports: ReportBlock[] }
  | { type: 'pli'; senderSsrc: number; mediaSsrc: number }
  | { type: 'fir'; senderSsrc: number; entries: { ssrc: number; seq: number }[] }
  | { type: 'nack'; senderSsrc: number; mediaSsrc: number; lost: number[] }
  | { type: 'remb'; senderSsrc: number; bitrate: number; ssrcs: number[] }
  | { type: 'twcc'; senderSsrc: number; mediaSsrc: number }
  | { type: 'other'; packetType: number; fmt: number };

const PT_SR = 200;
const PT_RR = 201;
const PT_BYE = 203;
const PT_RTPFB = 205;
const PT_PSFB = 206;
const FMT_NACK = 1;
const FMT_TWCC = 15;
const FMT_PLI = 1;
const FMT_FIR = 4;
const FMT_AFB = 15;
const REPORT_BLOCK_BYTES = 24;
/** 'REMB' in ASCII: application-layer feedback (FMT 15) is REMB only with this identifier. */
const REMB_ID = 0x52454d42;

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * Splits a compound packet and decodes the kinds the SFU acts on. Never throws: a packet
 * whose length or contents do not fit ends the walk and what came before is returned.
 */
export function parseRtcp(compound: Uint8Array): RtcpItem[] {
  const items: RtcpItem[] = [];
  let pos = 0;
  while (pos + 4 <= compound.length) {
    const b0 = compound[pos]!;
    if (b0 >> 6 !== 2) break;
    const size = (u16(compound, pos + 2) + 1) * 4;
    if (pos + size > compound.length) break;
    let end = pos + size;
    if (b0 & 0x20) {
      // RFC 3550 §6.4.1: the last octet counts the padding, itself included.
      const pad = compound[end - 1]!;
      if (pad === 0 || pad > size - 4) break;
      end -= pad;
    }
    const item = parseOne(compound, b0 & 0x1f, compound[pos + 1]!, pos + 4, end);
    if (!item) break;
    items.push(item);
    pos += size;
  }
  return items;
}

/** One packet's body [start, end); undefined when it is too short for what its header claims. */
function parseOne(b: Uint8Array, count: number, pt: number, start: number, end: number): RtcpItem | undefined {
  const len = end - start;
  switch (pt) {
    case PT_SR: {
      if (len < 24 + count * REPORT_BLOCK_BYTES) return undefined;
      const ntpTime = (BigInt(u32(b, start + 4)) << 32n) | BigInt(u32(b, start + 8));
      return {
        type: 'sr',
        ssrc: u32(b, start),
        ntpTime,
        rtpTimestamp: u32(b, start + 12),
        packetCount: u32(b, start + 16),
        octetCount: u32(b, start + 20),
        reports: readReportBlocks(b, start + 24, count),
      };
    }
    case PT_RR:
      if (len < 4 + count * REPORT_BLOCK_BYTES) return undefined;
      return { type: 'rr', ssrc: u32(b, start), reports: readReportBlocks(b, start + 4, count) };
    case PT_RTPFB:
      if (count === FMT_NACK) {
        if (len < 12) return undefined;
        const lost: number[] = [];
        for (let p = start + 8; p + 4 <= end; p += 4) {
          const pid = u16(b, p);
          const blp = u16(b, p + 2);
          lost.push(pid);
          for (let i = 0; i < 16; i++) if (blp & (1 << i)) lost.push((pid + i + 1) & 0xffff);
        }
        return { type: 'nack', senderSsrc: u32(b, start), mediaSsrc: u32(b, start + 4), lost };
      }
      if (count === FMT_TWCC) {
        if (len < 8) return undefined;
        return { type: 'twcc', senderSsrc: u32(b, start), mediaSsrc: u32(b, start + 4) };
      }
      break;
    case PT_PSFB:
      if (count === FMT_PLI) {
        if (len < 8) return undefined;
        return { type: 'pli', senderSsrc: u32(b, start), mediaSsrc: u32(b, start + 4) };
      }
      if (count === FMT_FIR) {
        if (len < 16) return undefined;
        const entries: { ssrc: number; seq: number }[] = [];
        for (let p = start + 8; p + 8 <= end; p += 8) entries.push({ ssrc: u32(b, p), seq: b[p + 4]! });
        return { type: 'fir', senderSsrc: u32(b, start), entries };
      }
      if (count === FMT_AFB && len >= 16 && u32(b, start + 8) === REMB_ID) {
        const n = b[start + 12]!;
        if (len < 16 + n * 4) return undefined;
        const exp = b[start + 13]! >> 2;
        const mantissa = ((b[start + 13]! & 0x03) << 16) | u16(b, start + 14);
        const ssrcs: number[] = [];
        for (let i = 0; i < n; i++) ssrcs.push(u32(b, start + 16 + i * 4));
        return { type: 'remb', senderSsrc: u32(b, start), bitrate: mantissa * 2 ** exp, ssrcs };
      }
      break;
  }
  return { type: 'other', packetType: pt, fmt: count };
}

function readReportBlocks(b: Uint8Array, start: number, count: number): ReportBlock[] {
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const o = start + i * REPORT_BLOCK_BYTES;
    reports.push({
      ssrc: u32(b, o),
      fractionLost: b[o + 4]!,
      // 24-bit two's complement: shift up to the sign bit and back.
      packetsLost: (((b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) << 8) >> 8,
      highestSeq: u32(b, o + 8),
      jitter: u32(b, o + 12),
      lsr: u32(b, o + 16),
      dlsr: u32(b, o + 20),
    });
  }
  return reports;
}

/** A zeroed packet of `bytes` with V=2, the count/FMT field, PT and the length in words minus one. */
function packet(bytes: number, count: number, pt: number): Buffer {
  const buf = Buffer.alloc(bytes);
  buf[0] = 0x80 | count;
  buf[1] = pt;
  buf.writeUInt16BE(bytes / 4 - 1, 2);
  return buf;
}

/** Counters and timestamps wrap modulo 2^32 on the wire (RFC 3550 §6.4.1), so masking is the spec, not a guard. */
function put32(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32BE(value >>> 0, offset);
}

export function buildSr(p: { ssrc: number; ntpTime: bigint; rtpTimestamp: number; packetCount: number; octetCount: number }): Buffer {
  const buf = packet(28, 0, PT_SR);
  put32(buf, 4, p.ssrc);
  buf.writeBigUInt64BE(BigInt.asUintN(64, p.ntpTime), 8);
  put32(buf, 16, p.rtpTimestamp);
  put32(buf, 20, p.packetCount);
  put32(buf, 24, p.octetCount);
  return buf;
}

export function buildRr(p: { ssrc: number; reports: ReportBlock[] }): Buffer {
  if (p.reports.length > 31) throw new RangeError('an RR carries at most 31 report blocks');
  const buf = packet(8 + p.reports.length * REPORT_BLOCK_BYTES, p.reports.length, PT_RR);
  put32(buf, 4, p.ssrc);
  p.reports.forEach((r, i) => {
    const o = 8 + i * REPORT_BLOCK_BYTES;
    put32(buf, o, r.ssrc);
    buf[o + 4] = Math.min(255, Math.max(0, r.fractionLost));
    const lost = Math.min(0x7fffff, Math.max(-0x800000, r.packetsLost)) & 0xffffff;
    buf[o + 5] = lost >> 16;
    buf.writeUInt16BE(lost & 0xffff, o + 6);
    put32(buf, o + 8, r.highestSeq);
    put32(buf, o + 12, r.jitter);
    put32(buf, o + 16, r.lsr);
    put32(buf, o + 20, r.dlsr);
  });
  return buf;
}

/**
 * RFC 3550 §6.6 BYE for one SSRC, with an optional reason (at most 255 bytes of UTF-8),
 * zero-padded to a 32-bit boundary. With a reason of 1–3 bytes it is 12 bytes long, which
 * matters to ffmpeg: it ignores RTCP shorter than that.
 */
export function buildBye(ssrc: number, reason?: string): Buffer {
  const text = reason === undefined ? Buffer.alloc(0) : Buffer.from(reason, 'utf8');
  if (text.length > 255) throw new RangeError('a BYE reason is at most 255 bytes');
  const reasonBytes = reason === undefined ? 0 : Math.ceil((1 + text.length) / 4) * 4;
  const buf = packet(8 + reasonBytes, 1, PT_BYE);
  put32(buf, 4, ssrc);
  if (reason !== undefined) {
    buf[8] = text.length;
    text.copy(buf, 9);
  }
  return buf;
}

/** RFC 4585 §6.3.1: no FCI. */
export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const buf = packet(12, FMT_PLI, PT_PSFB);
  put32(buf, 4, senderSsrc);
  put32(buf, 8, mediaSsrc);
  return buf;
}

/**
 * RFC 5104 §4.3.1: the target goes in the FCI, and the header's media source SSRC is 0.
 * `seq` must change for each new request (the encoder ignores repeats of the same one).
 */
export function buildFir(senderSsrc: number, mediaSsrc: number, seq: number): Buffer {
  const buf = packet(20, FMT_FIR, PT_PSFB);
  put32(buf, 4, senderSsrc);
  put32(buf, 12, mediaSsrc);
  buf[16] = seq & 0xff;
  return buf;
}

/**
 * RFC 4585 §6.2.1 generic NACK. The numbers are put in circular order first (starting
 * after the widest gap), so a run across 65535→0 shares one PID+BLP pair.
 */
export function buildNack(senderSsrc: number, mediaSsrc: number, lost: number[]): Buffer {
  const seqs = circularOrder(lost);
  if (seqs.length === 0) throw new RangeError('a NACK needs at least one lost sequence number');
  const pairs: number[] = [];
  let pid = seqs[0]!;
  let blp = 0;
  for (let i = 1; i < seqs.length; i++) {
    const d = (seqs[i]! - pid - 1) & 0xffff;
    if (d < 16) {
      blp |= 1 << d;
    } else {
      pairs.push(pid, blp);
      pid = seqs[i]!;
      blp = 0;
    }
  }
  pairs.push(pid, blp);
  const buf = packet(12 + pairs.length * 2, FMT_NACK, PT_RTPFB);
  put32(buf, 4, senderSsrc);
  put32(buf, 8, mediaSsrc);
  pairs.forEach((v, i) => buf.writeUInt16BE(v, 12 + i * 2));
  return buf;
}

/** Distinct 16-bit sequence numbers, ascending, rotated to start just after the largest circular gap. */
function circularOrder(lost: number[]): number[] {
  const sorted = [...new Set(lost.map((s) => s & 0xffff))].sort((a, b) => a - b);
  if (sorted.length < 2) return sorted;
  let start = 0;
  let widest = sorted[0]! + 0x10000 - sorted[sorted.length - 1]!;
  for (let i = 1; i < sorted.length; i++) {
    const gap = sorted[i]! - sorted[i - 1]!;
    if (gap > widest) {
      widest = gap;
      start = i;
    }
  }
  return [...sorted.slice(start), ...sorted.slice(0, start)];
}

/**
 * draft-alvestrand-rmcat-remb §2.2: bitrate = mantissa (18 bits) · 2^exp (6 bits). The
 * mantissa is truncated, so the advertised rate never exceeds the estimate.
 */
export function buildRemb(senderSsrc: number, bitrate: number, ssrcs: number[]): Buffer {
  if (!Number.isFinite(bitrate) || bitrate < 0) throw new RangeError(`REMB bitrate must be a finite number >= 0, got ${bitrate}`);
  if (ssrcs.length > 255) throw new RangeError('a REMB lists at most 255 SSRCs');
  let mantissa = Math.floor(bitrate);
  let exp = 0;
  while (mantissa > 0x3ffff) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  if (exp > 63) throw new RangeError(`REMB bitrate ${bitrate} does not fit a 6-bit exponent`);
  const buf = packet(20 + ssrcs.length * 4, FMT_AFB, PT_PSFB);
  put32(buf, 4, senderSsrc);
  // Media source SSRC stays 0: the SSRCs the estimate applies to are listed after the bitrate.
  put32(buf, 12, REMB_ID);
  buf[16] = ssrcs.length;
  buf[17] = (exp << 2) | (mantissa >> 16);
  buf.writeUInt16BE(mantissa & 0xffff, 18);
  ssrcs.forEach((s, i) => put32(buf, 20 + i * 4, s));
  return buf;
}

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** 64-bit NTP timestamp (RFC 3550 §4) of a Unix time in (fractional) milliseconds. */
function ntpFromUnixMs(ms: number): bigint {
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 32);
  // The seconds field wraps in 2036 (era 1); keeping the low 32 bits is what peers expect.
  return (BigInt((seconds + NTP_UNIX_OFFSET_S) >>> 0) << 32n) | BigInt(fraction);
}

/**
 * Now as a 64-bit NTP timestamp. performance.timeOrigin + now() rather than Date.now():
 * sub-millisecond, and it does not step when the wall clock is adjusted, which would
 * otherwise break the NTP↔RTP mapping peers build from consecutive SRs.
 */
export function ntpTimeNow(): bigint {
  return ntpFromUnixMs(performance.timeOrigin + performance.now());
}

/**
 * The SR a viewer gets for a forwarded stream: the publisher's NTP time with the RTP
 * timestamp moved into the viewer's timestamp space, under the viewer's SSRC and counters.
 * Keeping the NTP time as sent is what keeps the viewer's audio and video in sync.
 */
export function translateSr(
  sr: Extract<RtcpItem, { type: 'sr' }>,
  viewer: { ssrc: number; timestampOffset: number; packetCount: number; octetCount: number },
): Buffer {
  return buildSr({
    ssrc: viewer.ssrc,
    ntpTime: sr.ntpTime,
    rtpTimestamp: (sr.rtpTimestamp + viewer.timestampOffset) >>> 0,
    packetCount: viewer.packetCount,
    octetCount: viewer.octetCount,
  });
}

/** Gap (in sequence numbers) still taken as loss rather than a restart (RFC 3550 A.1 MAX_DROPOUT). */
const MAX_DROPOUT = 3000;
/** How many sequence numbers back loss is remembered, and so how late a packet may arrive and still count. */
const HISTORY = 1024;

/**
 * Reception statistics for one incoming SSRC, for the report block of an RR (RFC 3550
 * A.1, A.3, A.8) and for NACK generation. Sequence numbers are kept extended (cycles
 * included) so comparisons never wrap. Unlike A.1, duplicates are not counted as
 * received, so cumulative loss does not go negative when the network duplicates.
 */
export class ReceptionStats {
  private started = false;
  private baseSeq = 0;
  private maxSeq = 0;
  /** Next sequence number after a jump too large to be loss; a packet there confirms a restart. */
  private badSeq = -1;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  /** Extended sequence numbers not yet received, oldest first (insertion order is ascending). */
  private readonly lost = new Set<number>();
  private jitter = 0;
  private lastArrivalMs = 0;
  private lastTimestamp = 0;
  private lsr = 0;
  private lastSrArrivalMs: number | undefined;

  constructor(
    readonly ssrc: number,
    private readonly clockRate: number,
  ) {}

  onPacket(seq: number, rtpTimestamp: number, arrivalMs: number): void {
    seq &= 0xffff;
    if (!this.started) {
      this.restart(seq, rtpTimestamp, arrivalMs);
      return;
    }
    const delta = (seq - this.maxSeq) & 0xffff;
    if (delta === 0) return; // duplicate of the newest packet
    if (delta < MAX_DROPOUT) {
      const ext = this.maxSeq + delta;
      for (let s = Math.max(this.maxSeq + 1, ext - HISTORY); s < ext; s++) this.lost.add(s);
      this.maxSeq = ext;
      this.received++;
      this.forgetBefore(ext - HISTORY);
      this.updateJitter(rtpTimestamp, arrivalMs);
      return;
    }
    const back = 0x10000 - delta;
    if (back <= HISTORY) {
      // Reordered or retransmitted: counts only if it fills a hole; otherwise a duplicate.
      if (this.lost.delete(this.maxSeq - back)) this.received++;
      return;
    }
    // A jump neither forward nor back: a new sender or a reset. Believe it when the next packet follows it.
    if (seq === this.badSeq) this.restart(seq, rtpTimestamp, arrivalMs);
    else this.badSeq = (seq + 1) & 0xffff;
  }

  onSenderReport(ntpTime: bigint, arrivalMs: number): void {
    this.lsr = Number((ntpTime >> 16n) & 0xffffffffn);
    this.lastSrArrivalMs = arrivalMs;
  }

  /** The report block as of `nowMs`; also starts the next interval for fraction lost. */
  reportBlock(nowMs: number): ReportBlock {
    const expected = this.started ? this.maxSeq - this.baseSeq + 1 : 0;
    const expectedInterval = expected - this.expectedPrior;
    const lostInterval = expectedInterval - (this.received - this.receivedPrior);
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const dlsr = this.lastSrArrivalMs === undefined ? 0 : Math.floor((Math.max(0, nowMs - this.lastSrArrivalMs) * 65536) / 1000);
    return {
      ssrc: this.ssrc,
      fractionLost: expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval * 256) / expectedInterval)),
      packetsLost: Math.min(0x7fffff, Math.max(-0x800000, expected - this.received)),
      highestSeq: this.maxSeq % 2 ** 32,
      jitter: Math.floor(this.jitter),
      lsr: this.lsr,
      dlsr: Math.min(0xffffffff, dlsr),
    };
  }

  /** Missing sequence numbers at most `maxAgePackets` behind the newest, oldest first. */
  missing(maxAgePackets = HISTORY): number[] {
    const out: number[] = [];
    for (const ext of this.lost) if (this.maxSeq - ext <= maxAgePackets) out.push(ext & 0xffff);
    return out;
  }

  private restart(seq: number, rtpTimestamp: number, arrivalMs: number): void {
    this.started = true;
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = -1;
    this.received = 1;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.lost.clear();
    this.lastTimestamp = rtpTimestamp;
    this.lastArrivalMs = arrivalMs;
  }

  private forgetBefore(ext: number): void {
    for (const s of this.lost) {
      if (s >= ext) break;
      this.lost.delete(s);
    }
  }

  /**
   * A.8, from in-order packets only (a retransmission's delay is not network jitter).
   * Uses differences to the previous packet so that arrival times in ms since 1970,
   * scaled to a 90 kHz clock, never need more than a double's 53 bits.
   */
  private updateJitter(rtpTimestamp: number, arrivalMs: number): void {
    const arrival = ((arrivalMs - this.lastArrivalMs) * this.clockRate) / 1000;
    const sent = (rtpTimestamp - this.lastTimestamp) | 0;
    this.jitter += (Math.abs(arrival - sent) - this.jitter) / 16;
    this.lastTimestamp = rtpTimestamp;
    this.lastArrivalMs = arrivalMs;
  }
}
