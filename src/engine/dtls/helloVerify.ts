// The stateless cookie exchange of RFC 6347 §4.2.1, answered here rather than by
// werift: werift generates an ECDHE key pair in JavaScript for every ClientHello
// without a cookie (0.6-0.85 ms each), so a peer replaying one ClientHello could
// make the server do that thousands of times a second. Here a cookieless hello
// costs one HMAC, and only a hello that returns a valid cookie reaches werift.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { HandshakeType, handshakeRecord } from './records';

/** DTLS 1.2 (0xfefd): the version werift writes, and the one its peers expect. */
const DTLS_1_2 = 0xfefd;
const RANDOM_LENGTH = 32;
const MAX_SESSION_ID_LENGTH = 32;
const COOKIE_LENGTH = 20;

/** Where the parts of a ClientHello body (RFC 5246 §7.4.1.2, RFC 6347 §4.2.1) lie. */
export interface ClientHello {
  body: Buffer;
  random: Buffer;
  cookie: Buffer;
  /** Offset of the cookie's length byte, and of the byte after the cookie. */
  cookieStart: number;
  cookieEnd: number;
  /** End of the compression methods: the parameters a retried hello must repeat. */
  parametersEnd: number;
}

/** Reads a ClientHello body up to its extensions (werift reads those); undefined when a length runs past the end. */
export function readClientHello(body: Buffer): ClientHello | undefined {
  let pos = 2 + RANDOM_LENGTH;
  if (body.length < pos + 1) return undefined;
  const sessionIdLength = body[pos]!;
  if (sessionIdLength > MAX_SESSION_ID_LENGTH) return undefined;
  pos += 1 + sessionIdLength;
  if (body.length < pos + 1) return undefined;
  const cookieStart = pos;
  const cookieEnd = pos + 1 + body[pos]!;
  if (body.length < cookieEnd + 2) return undefined;
  const suitesLength = body.readUInt16BE(cookieEnd);
  pos = cookieEnd + 2 + suitesLength;
  if (suitesLength === 0 || suitesLength % 2 !== 0 || body.length < pos + 1) return undefined;
  const parametersEnd = pos + 1 + body[pos]!;
  if (body[pos] === 0 || body.length < parametersEnd) return undefined;
  return { body, random: body.subarray(2, 2 + RANDOM_LENGTH), cookie: body.subarray(cookieStart + 1, cookieEnd), cookieStart, cookieEnd, parametersEnd };
}

/**
 * Cookies for one session: HMAC over the client's address and the hello's version,
 * random, session id, cipher suites and compression methods (what RFC 6347 §4.2.1
 * has the client repeat), under a secret of this session's.
 */
export class CookieJar {
  private readonly secret = randomBytes(32);

  cookieFor(from: string, hello: ClientHello): Buffer {
    return createHmac('sha256', this.secret)
      .update(from)
      .update('\0')
      .update(hello.body.subarray(0, hello.cookieStart))
      .update(hello.body.subarray(hello.cookieEnd, hello.parametersEnd))
      .digest()
      .subarray(0, COOKIE_LENGTH);
  }
}

/** Whether the hello returns `cookie` (compared in constant time). */
export function carriesCookie(hello: ClientHello, cookie: Buffer): boolean {
  return hello.cookie.length === cookie.length && timingSafeEqual(hello.cookie, cookie);
}

/** A HelloVerifyRequest carrying `cookie`, in a record with the ClientHello's record sequence number (RFC 6347 §4.2.1). */
export function helloVerifyRequest(helloSequence: Buffer, cookie: Buffer): Buffer {
  const message = Buffer.alloc(3 + cookie.length);
  message.writeUInt16BE(DTLS_1_2, 0);
  message[2] = cookie.length;
  cookie.copy(message, 3);
  return handshakeRecord(DTLS_1_2, helloSequence, HandshakeType.helloVerifyRequest, 0, message);
}

/** A hello body as one record of its own, whatever fragments it came in. */
export function clientHelloRecord(body: Buffer, sequence: Buffer, messageSeq: number): Buffer {
  return handshakeRecord(DTLS_1_2, sequence, HandshakeType.clientHello, messageSeq, body);
}

/** The same hello without its cookie: werift prepares its handshake state (curve, SRTP profile, randoms, key pair) only from a cookieless hello. */
export function withoutCookie(hello: ClientHello): Buffer {
  return Buffer.concat([hello.body.subarray(0, hello.cookieStart), Buffer.from([0]), hello.body.subarray(hello.cookieEnd)]);
}
