// How much DTLS one session may make the server handle. werift keeps every fragment
// of an incomplete handshake message it is given, forever (its
// bufferFragmentedHandshakes): 5.9 MB of records holding zero-length fragments grew
// the heap by ~102 MB. A real handshake is two ClientHellos and one flight of a few
// KB, in a handful of datagrams; retransmissions double or triple that. The guard
// reads each datagram's headers (records.ts) before werift sees it and holds the
// session to those sizes; past them the session is closed.
import { type ClientHello, readClientHello } from './helloVerify';
import { ContentType, type HandshakeFragment, HandshakeType, readFragments, readRecords } from './records';

export const HANDSHAKE_LIMITS = {
  /** Datagrams with handshake records in a session's life: a handshake takes 3-6, each flight may be retransmitted 3-4 times. */
  handshakeDatagrams: 40,
  /** Handshakes (key pairs werift generates): the first, and room for a client that starts over. */
  handshakes: 3,
  /** Largest handshake message: a ClientHello is ~100-300 bytes, a certificate of a WebRTC peer 300-1500. */
  messageBytes: 8_192,
  /** Fragments of messages not carried whole, and their bytes: a fragmented certificate flight, retransmitted. */
  partialFragments: 32,
  partialBytes: 32_768,
  /** After ChangeCipherSpec the only handshake record is Finished: 12 bytes + header, AES-GCM nonce and tag (48). */
  encryptedHandshakeBytes: 64,
} as const;

export type Inspection =
  /** Records werift may have. */
  | { kind: 'records' }
  /** A whole ClientHello, put together from its fragments: the cookie exchange's to answer. */
  | { kind: 'client-hello'; hello: ClientHello; sequence: Buffer; messageSeq: number }
  /** Part of a ClientHello, kept until the rest arrives. */
  | { kind: 'hello-fragment' }
  /** Not DTLS werift can take: dropped, the session carries on. */
  | { kind: 'malformed' }
  /** Past what any real client sends: the session is closed. */
  | { kind: 'over-limit'; why: string };

const malformed: Inspection = { kind: 'malformed' };

/** A ClientHello arriving in fragments: Chromium's, with its post-quantum key share, is ~1.4 KB in two. */
interface PartialHello {
  messageSeq: number;
  body: Buffer;
  /** [start, end) of the bytes received. */
  ranges: Array<[number, number]>;
}

/**
 * One session's DTLS budget, spent as its datagrams are inspected. Only handshake
 * records cost werift real work (key pairs, signatures) or memory; change_cipher_spec,
 * alerts and application data cost it microseconds, like any dropped datagram.
 * ClientHellos never reach werift from here: they are put together whole for the
 * cookie exchange (helloVerify.ts).
 */
export class HandshakeGuard {
  private handshakeDatagrams = 0;
  private handshakes = 0;
  private partialFragments = 0;
  private partialBytes = 0;
  private partialHello: PartialHello | undefined;

  /** What to do with a datagram from the session's peer; `cookieVerified` once a hello came back with a valid cookie. */
  inspect(datagram: Buffer, cookieVerified: boolean): Inspection {
    const records = readRecords(datagram);
    if (records === undefined) return malformed;
    let handshake = false;
    let helloFragments = 0;
    let otherFragments = 0;
    let hello: Inspection | undefined;
    for (const record of records) {
      if (record.type !== ContentType.handshake) continue;
      handshake = true;
      if (record.epoch > 0) {
        // Encrypted: werift decrypts it and reads its fragments; only a Finished is that small.
        if (record.body.length > HANDSHAKE_LIMITS.encryptedHandshakeBytes) return malformed;
        otherFragments++;
        continue;
      }
      const fragments = readFragments(record.body);
      if (fragments === undefined) return malformed;
      for (const f of fragments) {
        if (f.length > HANDSHAKE_LIMITS.messageBytes) return { kind: 'over-limit', why: `a handshake message of ${f.length} bytes` };
        if (f.body.length === 0 && f.length > 0) return { kind: 'over-limit', why: 'an empty fragment of a non-empty handshake message' };
        if (f.body.length < f.length) {
          this.partialFragments++;
          this.partialBytes += f.body.length;
          if (this.partialFragments > HANDSHAKE_LIMITS.partialFragments || this.partialBytes > HANDSHAKE_LIMITS.partialBytes) {
            return {
              kind: 'over-limit',
              why: `more than ${HANDSHAKE_LIMITS.partialFragments} handshake fragments or ${HANDSHAKE_LIMITS.partialBytes} bytes of them`,
            };
          }
        }
        if (f.msgType !== HandshakeType.clientHello) {
          otherFragments++;
          continue;
        }
        helloFragments++;
        const body = this.assembleHello(f);
        if (body === undefined) continue;
        const parsed = readClientHello(body);
        if (parsed === undefined) return malformed;
        hello = { kind: 'client-hello', hello: parsed, sequence: record.sequence, messageSeq: f.messageSeq };
      }
    }
    // Before the cookie round trip werift holds no handshake to continue; hellos come alone.
    if (otherFragments > 0 && (helloFragments > 0 || !cookieVerified)) return malformed;
    const overLimit = handshake ? this.spend() : undefined;
    if (overLimit !== undefined) return overLimit;
    if (helloFragments > 0) return hello ?? { kind: 'hello-fragment' };
    return { kind: 'records' };
  }

  /** A hello with a valid cookie starts a handshake; the reason to close the session once there were too many. */
  startHandshake(): string | undefined {
    return ++this.handshakes > HANDSHAKE_LIMITS.handshakes ? `more than ${HANDSHAKE_LIMITS.handshakes} DTLS handshakes` : undefined;
  }

  private spend(): Inspection | undefined {
    return ++this.handshakeDatagrams > HANDSHAKE_LIMITS.handshakeDatagrams
      ? { kind: 'over-limit', why: `more than ${HANDSHAKE_LIMITS.handshakeDatagrams} datagrams of DTLS handshake` }
      : undefined;
  }

  /** The hello's whole body once `f` completes it; fragments of another hello start over. */
  private assembleHello(f: HandshakeFragment): Buffer | undefined {
    if (f.body.length === f.length) return f.body;
    let partial = this.partialHello;
    if (partial === undefined || partial.messageSeq !== f.messageSeq || partial.body.length !== f.length) {
      partial = this.partialHello = { messageSeq: f.messageSeq, body: Buffer.alloc(f.length), ranges: [] };
    }
    f.body.copy(partial.body, f.offset);
    partial.ranges.push([f.offset, f.offset + f.body.length]);
    partial.ranges.sort((a, b) => a[0] - b[0]);
    let covered = 0;
    for (const [start, end] of partial.ranges) {
      if (start > covered) return undefined;
      covered = Math.max(covered, end);
    }
    if (covered < partial.body.length) return undefined;
    this.partialHello = undefined;
    return partial.body;
  }
}
