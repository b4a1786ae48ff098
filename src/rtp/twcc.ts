// Transport-wide congestion control feedback, receiver side
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1). A publisher that negotiated
// transport-cc numbers every packet across all its tracks and estimates its bandwidth
// from nothing but these reports: which of those numbers arrived, and when.
//
//   |V=2|P| FMT=15 | PT=205 | length |  SSRC of packet sender  |  SSRC of media source  |
//   | base sequence number | packet status count | reference time (24) | fb pkt count (8) |
//   | packet status chunks, 16 bits each ... | receive deltas, 8 or 16 bits each ... | pad |

const PT_RTPFB = 205;
const FMT_TWCC = 15;
const HEADER_BYTES = 20;

/** Receive deltas count in 250 µs ticks. */
const TICKS_PER_MS = 4;
/** The reference time counts in 64 ms, i.e. 256 ticks. */
const TICKS_PER_REFERENCE = 256;

// Packet status symbols. For a received packet the symbol is also the size in bytes of
// its receive delta, which the size accounting below relies on.
const NOT_RECEIVED = 0;
/** Received, delta 0..255 ticks (0..63.75 ms), sent as one unsigned byte. */
const SMALL_DELTA = 1;
/** Received, delta negative or above 255 ticks, sent as a signed 16-bit integer. */
const LARGE_DELTA = 2;

const RUN_LENGTH_CAPACITY = 0x1fff;
const ONE_BIT_CAPACITY = 14;
const TWO_BIT_CAPACITY = 7;

/**
 * Sequence numbers kept for the next report. Reports go out every 50-100 ms, so this is
 * seconds of traffic even at high rates; past it the oldest unreported packets are dropped
 * so a caller that never reports does not grow without bound.
 */
const MAX_PENDING = 1 << 15;

/**
 * Largest feedback packet. One feedback plus the SRTCP trailer (14 bytes) and IPv6/UDP
 * headers (48) stays under the 1280-byte IPv6 minimum MTU, so it is never fragmented.
 */
const MAX_FEEDBACK_BYTES = 1200;

export interface TwccFeedback {
  baseSeq: number;
  statusCount: number;
  /**
   * As sent: 24 bits, in 64 ms units. The draft calls it signed, but only differences
   * between reports modulo 2^24 mean anything (libwebrtc reads it unsigned).
   */
  referenceTime: number;
  fbPktCount: number;
  /** Every sequence number from baseSeq on, in order; deltaUs only for received ones. */
  packets: { seq: number; received: boolean; deltaUs?: number }[];
}

/**
 * Records arrivals of one publisher's packets (one transport-wide sequence space) and
 * turns them into feedback. Each sequence number is reported once: a packet arriving
 * after a report already covered its number stays reported as lost (libwebrtc would
 * re-send the older range; not worth the state for a packet that late).
 */
export class TwccRecorder {
  /** Arrival times in ticks by extended (unwrapped) sequence number, all >= start. */
  private readonly arrivals = new Map<number, number>();
  /** Highest extended sequence number recorded; undefined until the first packet. */
  private highest: number | undefined;
  /** First extended sequence number the next report covers. */
  private start = 0;
  /** Everything below this has been reported. */
  private reportedEnd = -Infinity;
  private fbPktCount = 0;

  constructor(
    private readonly senderSsrc: number,
    private readonly mediaSsrc: () => number,
  ) {}

  /** Reads the 2-byte transport-wide sequence number from the extension value and records its arrival (ms, fractional ok). */
  record(extensionValue: Uint8Array, arrivalMs: number): void {
    if (extensionValue.length < 2) return;
    const seq = (extensionValue[0]! << 8) | extensionValue[1]!;
    if (this.highest === undefined) {
      this.highest = seq;
      this.start = seq;
    }
    // Nearest extended number to the newest: the low 16 bits of the difference, sign-extended.
    const ext = this.highest + (((seq - this.highest) << 16) >> 16);
    if (ext < this.reportedEnd || ext <= this.highest - MAX_PENDING) return;
    if (this.arrivals.has(ext)) return; // a duplicate: the first arrival is the one that says something about the path
    if (ext > this.highest) {
      this.highest = ext;
      this.dropBefore(ext - MAX_PENDING + 1);
    }
    if (ext < this.start) this.start = ext; // reordered ahead of the first report
    // Whole ticks from here on, so deltas add up to exactly the rounded arrival times.
    this.arrivals.set(ext, Math.round(arrivalMs * TICKS_PER_MS));
  }

  /** Feedback for everything recorded since the last call (RTCP RTPFB PT=205 FMT=15), split into several packets if needed; [] if nothing new. */
  buildFeedback(): Buffer[] {
    if (this.highest === undefined || this.start > this.highest) return [];
    const packets: Buffer[] = [];
    let seq = this.start;
    // The range always ends with a received packet (the highest), so every packet has one.
    while (seq <= this.highest) {
      const built = this.buildOne(seq, this.highest);
      packets.push(built.packet);
      seq = built.next;
    }
    this.arrivals.clear();
    this.start = this.reportedEnd = this.highest + 1;
    return packets;
  }

  /**
   * One feedback packet from `from` on, up to `last` or until the next packet's delta
   * does not fit 16 bits or the size limit is reached; `next` is where the next starts.
   */
  private buildOne(from: number, last: number): { packet: Buffer; next: number } {
    const chunks = new ChunkPacker();
    const deltas: number[] = [];
    let deltaBytes = 0;
    /** Reference time (64 ms units), set by the first received packet. */
    let reference: number | undefined;
    let previousTicks = 0;
    let seq = from;
    for (; seq <= last; seq++) {
      const ticks = this.arrivals.get(seq);
      let symbol = NOT_RECEIVED;
      let delta = 0;
      if (ticks !== undefined) {
        if (reference === undefined) {
          // Rounded down, so the first delta is 0..255 ticks.
          reference = Math.floor(ticks / TICKS_PER_REFERENCE);
          previousTicks = reference * TICKS_PER_REFERENCE;
        }
        delta = ticks - previousTicks;
        if (delta < -0x8000 || delta > 0x7fff) break;
        symbol = delta >= 0 && delta <= 0xff ? SMALL_DELTA : LARGE_DELTA;
      }
      if (HEADER_BYTES + chunks.bytesWith(symbol) + deltaBytes + symbol > MAX_FEEDBACK_BYTES) break;
      chunks.add(symbol);
      if (symbol !== NOT_RECEIVED) {
        deltas.push(delta);
        deltaBytes += symbol;
        previousTicks = ticks!;
      }
    }
    const words = chunks.finish();
    const unpadded = HEADER_BYTES + words.length * 2 + deltaBytes;
    const size = (unpadded + 3) & ~3;
    const buf = Buffer.alloc(size);
    // Padded the RFC 3550 way (P bit, count in the last octet), as libwebrtc sends it.
    buf[0] = 0x80 | (size > unpadded ? 0x20 : 0) | FMT_TWCC;
    buf[1] = PT_RTPFB;
    buf.writeUInt16BE(size / 4 - 1, 2);
    buf.writeUInt32BE(this.senderSsrc >>> 0, 4);
    buf.writeUInt32BE(this.mediaSsrc() >>> 0, 8);
    buf.writeUInt16BE(from & 0xffff, 12);
    buf.writeUInt16BE(seq - from, 14);
    // Masking wraps the 24-bit time as the draft intends: receivers use differences only.
    buf.writeUIntBE((reference ?? 0) & 0xffffff, 16, 3);
    buf[19] = this.fbPktCount;
    this.fbPktCount = (this.fbPktCount + 1) & 0xff;
    let p = HEADER_BYTES;
    for (const word of words) p = buf.writeUInt16BE(word, p);
    for (const delta of deltas) p = delta >= 0 && delta <= 0xff ? buf.writeUInt8(delta, p) : buf.writeInt16BE(delta, p);
    if (size > unpadded) buf[size - 1] = size - unpadded;
    return { packet: buf, next: seq };
  }

  /** Forgets unreported packets below `limit`, touching at most as many entries as there are. */
  private dropBefore(limit: number): void {
    if (this.start >= limit) return;
    if (limit - this.start <= this.arrivals.size) {
      for (let s = this.start; s < limit; s++) this.arrivals.delete(s);
    } else {
      for (const s of this.arrivals.keys()) if (s < limit) this.arrivals.delete(s);
    }
    this.start = limit;
  }
}

/**
 * Packs status symbols into chunks as they are added, so the packet's exact size is known
 * before each symbol goes in. Symbols wait until the next one no longer fits any chunk
 * type that could hold them all; then the widest chunk that takes them is written: a run
 * (up to 8191 of one symbol), 14 one-bit symbols (no large deltas), or 7 two-bit symbols
 * (the rest wait). Waiting symbols therefore always fit one chunk.
 */
class ChunkPacker {
  private readonly words: number[] = [];
  /** The first up to 14 waiting symbols; a longer wait is a run, counted only. */
  private waiting: number[] = [];
  private count = 0;
  private allSame = true;
  private hasLarge = false;

  /** Bytes of chunks once `symbol` is added. */
  bytesWith(symbol: number): number {
    const newChunk = this.count === 0 || !this.fits(symbol);
    return (this.words.length + (this.count > 0 ? 1 : 0) + (newChunk ? 1 : 0)) * 2;
  }

  add(symbol: number): void {
    if (!this.fits(symbol)) this.emit();
    if (this.waiting.length < ONE_BIT_CAPACITY) this.waiting.push(symbol);
    this.allSame &&= this.count === 0 || symbol === this.waiting[0];
    this.hasLarge ||= symbol === LARGE_DELTA;
    this.count++;
  }

  finish(): number[] {
    if (this.count > 0) {
      // Trailing slots of a vector past the status count are ignored by receivers.
      if (this.allSame) this.words.push(runLength(this.waiting[0]!, this.count));
      else if (this.count <= TWO_BIT_CAPACITY) this.words.push(twoBit(this.waiting));
      else this.words.push(oneBit(this.waiting));
      this.reset([]);
    }
    return this.words;
  }

  private fits(symbol: number): boolean {
    if (this.count < TWO_BIT_CAPACITY) return true;
    if (this.count < ONE_BIT_CAPACITY && !this.hasLarge && symbol !== LARGE_DELTA) return true;
    return this.allSame && symbol === this.waiting[0] && this.count < RUN_LENGTH_CAPACITY;
  }

  private emit(): void {
    if (this.allSame) {
      this.words.push(runLength(this.waiting[0]!, this.count));
      this.reset([]);
    } else if (this.count === ONE_BIT_CAPACITY) {
      // Mixed symbols only get past 7 without large deltas.
      this.words.push(oneBit(this.waiting));
      this.reset([]);
    } else {
      this.words.push(twoBit(this.waiting.slice(0, TWO_BIT_CAPACITY)));
      this.reset(this.waiting.slice(TWO_BIT_CAPACITY));
    }
  }

  private reset(waiting: number[]): void {
    this.waiting = waiting;
    this.count = waiting.length;
    this.allSame = waiting.every((s) => s === waiting[0]);
    this.hasLarge = waiting.includes(LARGE_DELTA);
  }
}

/** T=0, 2-bit symbol, 13-bit run length. */
function runLength(symbol: number, count: number): number {
  return (symbol << 13) | count;
}

/** T=1 S=0, 14 one-bit symbols (0 = not received, 1 = small delta), first symbol highest. */
function oneBit(symbols: number[]): number {
  let word = 0x8000;
  symbols.forEach((s, i) => (word |= s << (ONE_BIT_CAPACITY - 1 - i)));
  return word;
}

/** T=1 S=1, 7 two-bit symbols, first symbol highest. */
function twoBit(symbols: number[]): number {
  let word = 0xc000;
  symbols.forEach((s, i) => (word |= s << (2 * (TWO_BIT_CAPACITY - 1 - i))));
  return word;
}

/**
 * Decodes one transport-cc feedback packet; undefined when it is not one or is
 * inconsistent (including the cases libwebrtc rejects: no statuses, a reserved symbol,
 * chunks or deltas missing).
 */
export function parseTwccFeedback(packet: Uint8Array): TwccFeedback | undefined {
  if (packet.length < 4 || packet[0]! >> 6 !== 2 || (packet[0]! & 0x1f) !== FMT_TWCC || packet[1] !== PT_RTPFB) return undefined;
  const size = (u16(packet, 2) + 1) * 4;
  if (size > packet.length) return undefined;
  let end = size;
  if (packet[0]! & 0x20) {
    const pad = packet[size - 1]!;
    if (pad === 0 || pad > size - 4) return undefined;
    end -= pad;
  }
  if (end < HEADER_BYTES) return undefined;
  const statusCount = u16(packet, 14);
  if (statusCount === 0) return undefined;
  const symbols: number[] = [];
  let p = HEADER_BYTES;
  while (symbols.length < statusCount) {
    if (p + 2 > end) return undefined;
    const word = u16(packet, p);
    p += 2;
    const room = statusCount - symbols.length;
    if ((word & 0x8000) === 0) {
      const n = Math.min(word & 0x1fff, room);
      for (let i = 0; i < n; i++) symbols.push((word >> 13) & 0x03);
    } else if ((word & 0x4000) === 0) {
      const n = Math.min(ONE_BIT_CAPACITY, room);
      for (let i = 0; i < n; i++) symbols.push((word >> (ONE_BIT_CAPACITY - 1 - i)) & 0x01);
    } else {
      const n = Math.min(TWO_BIT_CAPACITY, room);
      for (let i = 0; i < n; i++) symbols.push((word >> (2 * (TWO_BIT_CAPACITY - 1 - i))) & 0x03);
    }
  }
  const baseSeq = u16(packet, 12);
  const packets: TwccFeedback['packets'] = [];
  for (let i = 0; i < statusCount; i++) {
    const seq = (baseSeq + i) & 0xffff;
    const symbol = symbols[i]!;
    if (symbol === NOT_RECEIVED) {
      packets.push({ seq, received: false });
      continue;
    }
    if (symbol !== SMALL_DELTA && symbol !== LARGE_DELTA) return undefined;
    if (p + symbol > end) return undefined;
    // Large deltas are signed 16-bit: shift the high byte to the sign bit and back.
    const ticks = symbol === SMALL_DELTA ? packet[p]! : (u16(packet, p) << 16) >> 16;
    p += symbol;
    packets.push({ seq, received: true, deltaUs: ticks * 250 });
  }
  return {
    baseSeq,
    statusCount,
    referenceTime: (packet[16]! << 16) | u16(packet, 17),
    fbPktCount: packet[19]!,
    packets,
  };
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
