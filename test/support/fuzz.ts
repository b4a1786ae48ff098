// Bad datagrams for the UDP bad-input and fuzz tests: random bytes in every RFC 7983
// first-byte range, real DTLS handshake records, and a seeded mutator for real packets
// (bit flips, truncation, length fields that lie, extension and attribute bombs; STUN
// messages with chosen defects come from stunMessage.ts). Every random choice comes from
// one mulberry32 stream, so a run's sequence of decisions is replayed from its seed (FUZZ_SEED).
import { createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { createCertificate } from '../../src/engine/dtls/certificate';
import { loopbackHandshake } from '../../src/engine/dtls/loopbackHandshake';
import { prng } from './random';

/** RFC 7983 §7: what the first byte of a datagram means, gaps included. */
export const FIRST_BYTE_RANGES = [
  { name: 'STUN', from: 0, to: 3 },
  { name: 'ZRTP (unused)', from: 4, to: 19 },
  { name: 'DTLS', from: 20, to: 63 },
  { name: 'TURN channel (unused)', from: 64, to: 127 },
  { name: 'RTP/RTCP', from: 128, to: 191 },
  { name: 'unassigned', from: 192, to: 255 },
] as const;

export type PacketKind = 'stun' | 'dtls' | 'rtp' | 'rtcp' | 'srtp' | 'srtcp';

export interface SeedPacket {
  kind: PacketKind;
  packet: Buffer;
  /** STUN: the key of its MESSAGE-INTEGRITY, so that a mutation can be signed again. */
  password?: string;
}

/**
 * The records of one real DTLS 1.2 handshake, werift's client against onecast's DTLS
 * endpoint in memory: ClientHello (without and with cookie), HelloVerifyRequest, the
 * server's and the client's certificate flights, ChangeCipherSpec, encrypted Finished.
 */
export async function captureDtlsHandshake(): Promise<Buffer[]> {
  const records: Buffer[] = [];
  await loopbackHandshake(await createCertificate(), {
    name: 'the in-memory DTLS handshake',
    timeoutMs: 10_000,
    onRecord: (record) => records.push(Buffer.from(record)),
  });
  return records;
}

/** Seeded random datagrams and mutations of real packets. */
export class DatagramFuzzer {
  private readonly random: () => number;

  constructor(readonly seed: number) {
    this.random = prng(seed);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** An integer in [from, to]. */
  between(from: number, to: number): number {
    return from + this.int(to - from + 1);
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** Mostly short, sometimes up to a full MTU: where parsers meet their bounds. */
  length(max = 1400): number {
    return this.chance(0.6) ? this.int(64) : this.int(max + 1);
  }

  /** Random bytes whose first byte is in [from, to]; `length` 0 gives an empty datagram. */
  randomDatagram(from: number, to: number, length = this.length()): Buffer {
    const b = this.bytes(length);
    if (length > 0) b[0] = this.between(from, to);
    return b;
  }

  /**
   * One to three stacked mutations of a copy of `seed`. Half of the mutated STUN messages are
   * signed again (FINGERPRINT, and MESSAGE-INTEGRITY when the seed's password is known), or
   * almost every one would stop at the fingerprint check.
   */
  mutate(seed: SeedPacket): Buffer {
    let out: Buffer = Buffer.from(seed.packet);
    const rounds = 1 + this.int(3);
    for (let i = 0; i < rounds; i++) out = this.mutateOnce(seed.kind, out);
    if (seed.kind === 'stun' && this.chance(0.5)) resignStun(out, seed.password);
    return out;
  }

  private mutateOnce(kind: PacketKind, p: Buffer): Buffer {
    switch (this.int(8)) {
      case 0:
        return this.flipBits(p);
      case 1:
        return this.setBoundaryBytes(p);
      case 2:
        return p.subarray(0, this.int(p.length + 1));
      case 3:
        return Buffer.concat([p, this.bytes(1 + this.int(200))]);
      case 4: {
        // A run of the packet repeated in place, as a buggy sender or a replay would.
        if (p.length === 0) return p;
        const from = this.int(p.length);
        const run = p.subarray(from, from + 1 + this.int(64));
        return Buffer.concat([p.subarray(0, from), run, run, p.subarray(from + run.length)]);
      }
      case 5:
      case 6:
        return this.lieAboutLengths(kind, p);
      default:
        return this.bomb(kind, p);
    }
  }

  private flipBits(p: Buffer): Buffer {
    if (p.length === 0) return p;
    const n = 1 + this.int(8);
    for (let i = 0; i < n; i++) p[this.int(p.length)]! ^= 1 << this.int(8);
    return p;
  }

  private setBoundaryBytes(p: Buffer): Buffer {
    if (p.length === 0) return p;
    const n = 1 + this.int(4);
    for (let i = 0; i < n; i++) p[this.int(p.length)] = this.pick([0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]);
    return p;
  }

  /** A length a parser will trust: zero, all ones, one off, or random. */
  private lie(truth: number, max: number): number {
    const choices = [0, max, truth + 1, Math.max(0, truth - 1), truth + 4, this.int(max + 1)];
    return Math.min(max, this.pick(choices));
  }

  /** Rewrites a length or count field of the packet's own format. */
  private lieAboutLengths(kind: PacketKind, p: Buffer): Buffer {
    switch (kind) {
      case 'stun': {
        if (p.length < 20) return this.flipBits(p);
        const attributes = stunAttributeOffsets(p);
        if (attributes.length > 0 && this.chance(0.6)) {
          const at = this.pick(attributes);
          p.writeUInt16BE(this.lie(p.readUInt16BE(at + 2), 0xffff), at + 2);
        } else {
          p.writeUInt16BE(this.lie(p.readUInt16BE(2), 0xffff), 2);
        }
        return p;
      }
      case 'dtls': {
        if (p.length < 13) return this.flipBits(p);
        const field = this.pick([
          { at: 11, bytes: 2 }, // record length
          { at: 14, bytes: 3 }, // handshake length
          { at: 19, bytes: 3 }, // fragment offset
          { at: 22, bytes: 3 }, // fragment length
          { at: 3, bytes: 2 }, // epoch
        ]);
        if (field.at + field.bytes > p.length) return this.flipBits(p);
        const max = 2 ** (8 * field.bytes) - 1;
        p.writeUIntBE(this.lie(p.readUIntBE(field.at, field.bytes), max), field.at, field.bytes);
        return p;
      }
      case 'rtp':
      case 'srtp': {
        if (p.length < 12) return this.flipBits(p);
        switch (this.int(3)) {
          case 0:
            p[0] = (p[0]! & 0xf0) | this.int(16); // CSRC count
            return p;
          case 1: {
            p[0]! |= 0x10; // an extension header, of whatever length the bytes after the CSRCs say
            const at = 12 + (p[0]! & 0x0f) * 4 + 2;
            if (at + 2 <= p.length) p.writeUInt16BE(this.lie(p.readUInt16BE(at), 0xffff), at);
            return p;
          }
          default:
            p[0]! |= 0x20; // padding, counted by the last byte
            p[p.length - 1] = this.lie(p[p.length - 1]!, 0xff);
            return p;
        }
      }
      case 'rtcp':
      case 'srtcp': {
        if (p.length < 4) return this.flipBits(p);
        if (this.chance(0.5)) p.writeUInt16BE(this.lie(p.readUInt16BE(2), 0xffff), 2);
        else p[0] = (p[0]! & 0xe0) | this.int(32); // report or FMT count
        return p;
      }
    }
  }

  /** Many of what a parser loops over: attributes, header extensions, feedback entries, records. */
  private bomb(kind: PacketKind, p: Buffer): Buffer {
    switch (kind) {
      case 'stun': {
        // Up to ~300 attributes (comprehension-required and -optional types), header length fixed up.
        if (p.length < 20) return p;
        const n = 50 + this.int(250);
        const attrs: Buffer[] = [];
        for (let i = 0; i < n; i++) {
          const len = this.int(5);
          const a = Buffer.alloc(4 + Math.ceil(len / 4) * 4);
          a.writeUInt16BE(this.chance(0.5) ? this.int(0x8000) : 0x8000 + this.int(0x8000), 0);
          a.writeUInt16BE(len, 2);
          attrs.push(a);
        }
        const out = Buffer.concat([p.subarray(0, 20), ...attrs, p.subarray(20)]);
        out.writeUInt16BE(Math.min(0xffff, out.length - 20), 2);
        return out;
      }
      case 'dtls': {
        // Many records in one datagram, the last one's length a lie.
        const n = 2 + this.int(60);
        const records: Buffer[] = [];
        for (let i = 0; i < n; i++) {
          const body = this.bytes(this.int(24));
          const r = Buffer.alloc(13);
          r[0] = this.pick([20, 21, 22, 23]);
          r[1] = 0xfe;
          r[2] = this.pick([0xfd, 0xff]);
          r.writeUInt16BE(i === n - 1 ? this.int(0x10000) : body.length, 11);
          records.push(r, body);
        }
        return Buffer.concat(records);
      }
      case 'rtp':
      case 'srtp': {
        // An RFC 8285 block of many elements: one-byte (0xBEDE) or two-byte (0x100X) form.
        if (p.length < 12) return p;
        const header = Buffer.from(p.subarray(0, 12));
        header[0] = (header[0]! & 0xe0) | 0x10; // X set, no CSRCs
        const twoByte = this.chance(0.5);
        const elements: number[] = [];
        const n = 20 + this.int(400);
        for (let i = 0; i < n; i++) {
          if (twoByte) {
            const len = this.int(256);
            elements.push(this.int(256), len, ...this.bytes(Math.min(len, 8)));
          } else {
            elements.push((this.int(16) << 4) | this.int(16), ...this.bytes(1 + this.int(4)));
          }
        }
        while (elements.length % 4 !== 0) elements.push(0);
        const ext = Buffer.alloc(4);
        ext.writeUInt16BE(twoByte ? 0x1000 | this.int(16) : 0xbede, 0);
        ext.writeUInt16BE(this.chance(0.8) ? elements.length / 4 : this.int(0x10000), 2);
        return Buffer.concat([header, ext, Buffer.from(elements), p.subarray(12)]);
      }
      case 'rtcp':
      case 'srtcp': {
        // Feedback with many entries: a NACK of up to ~350 FCIs, every bitmask bit set, or a FIR list.
        const fir = this.chance(0.3);
        const entries = 10 + this.int(340);
        const packet = Buffer.alloc(12 + entries * (fir ? 8 : 4));
        packet[0] = 0x80 | (fir ? 4 : 1);
        packet[1] = fir ? 206 : 205;
        packet.writeUInt16BE(packet.length / 4 - 1, 2);
        if (p.length >= 8) p.copy(packet, 4, 4, 8);
        if (p.length >= 12) p.copy(packet, 8, 8, 12);
        for (let i = 0; i < entries; i++) {
          if (fir) {
            packet.writeUInt32BE(this.int(2 ** 32), 12 + i * 8);
            packet[16 + i * 8] = this.int(256);
          } else {
            packet.writeUInt16BE(this.int(0x10000), 12 + i * 4);
            packet.writeUInt16BE(0xffff, 14 + i * 4);
          }
        }
        return packet;
      }
    }
  }
}

/**
 * Rewrites, in place, the MESSAGE-INTEGRITY (when `password` is given) and the FINGERPRINT of
 * a STUN message whose attributes still lie within it, as RFC 5389 §15.4-15.5 computes them.
 */
function resignStun(p: Buffer, password: string | undefined): void {
  for (const at of stunAttributeOffsets(p)) {
    const type = p.readUInt16BE(at);
    const length = p.readUInt16BE(at + 2);
    if (at + 4 + length > p.length) return;
    if (type === 0x0008 && length === 20 && password !== undefined) {
      p.writeUInt16BE(at + 24 - 20, 2);
      createHmac('sha1', password)
        .update(p.subarray(0, at))
        .digest()
        .copy(p, at + 4);
    } else if (type === 0x8028 && length === 4) {
      p.writeUInt16BE(at + 8 - 20, 2);
      p.writeUInt32BE((crc32(p.subarray(0, at)) ^ 0x5354554e) >>> 0, at + 4);
    }
  }
}

/** Offsets of the attributes of a STUN message, as far as their lengths hold. */
function stunAttributeOffsets(p: Buffer): number[] {
  const out: number[] = [];
  let pos = 20;
  while (pos + 4 <= p.length) {
    out.push(pos);
    pos += 4 + Math.ceil(p.readUInt16BE(pos + 2) / 4) * 4;
  }
  return out;
}
