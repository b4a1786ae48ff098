// ICE-lite's half of STUN (RFC 8445 §2.5, RFC 5389): read a Binding Request,
// check its credentials, write the success response. Pure: bytes in, bytes out.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Message, parseMessage, methods, classes } from 'werift';

const HEADER_LENGTH = 20;
const ATTR_MESSAGE_INTEGRITY = 0x0008;
const ATTR_FINGERPRINT = 0x8028;
const MAGIC_COOKIE = 0x2112a442;

export interface BindingRequest {
  /** The part of USERNAME before the colon: the ufrag we handed out. */
  localUfrag: string;
  /** The part after the colon: the peer's ufrag. */
  remoteUfrag: string;
  transactionId: Buffer;
  /** Attributes that matter to an ICE-lite agent. */
  useCandidate: boolean;
  iceControlling: boolean;
  priority: number | undefined;
}

export type StunRejection = 'not-stun' | 'not-binding-request' | 'malformed' | 'no-fingerprint' | 'bad-fingerprint' | 'no-username' | 'no-integrity';

export type ParsedStun = { ok: true; request: BindingRequest } | { ok: false; reason: StunRejection };

/**
 * Parses a datagram as a Binding Request. FINGERPRINT must be present and valid
 * (RFC 8445 §7.2.2 requires it on connectivity checks); MESSAGE-INTEGRITY must be
 * present, but can only be verified once the caller has found the password that
 * goes with the USERNAME: see verifyIntegrity.
 */
export function parseBindingRequest(packet: Buffer): ParsedStun {
  if (packet.length < HEADER_LENGTH || packet.readUInt32BE(4) !== MAGIC_COOKIE) return { ok: false, reason: 'not-stun' };
  if ((packet.readUInt16BE(2) & 3) !== 0 || packet.readUInt16BE(2) + HEADER_LENGTH !== packet.length) {
    return { ok: false, reason: 'malformed' };
  }
  const layout = attributeLayout(packet);
  if (layout === undefined) return { ok: false, reason: 'malformed' };
  if (layout.fingerprint === undefined) return { ok: false, reason: 'no-fingerprint' };
  if (layout.fingerprint !== packet.length - 8) return { ok: false, reason: 'malformed' };
  // werift's parser checks the FINGERPRINT (it returns undefined when it is wrong)
  // but not MESSAGE-INTEGRITY unless given the key: we do that ourselves.
  let message: Message | undefined;
  try {
    message = parseMessage(packet);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (message === undefined) return { ok: false, reason: 'bad-fingerprint' };
  if (message.messageMethod !== methods.BINDING || message.messageClass !== classes.REQUEST) {
    return { ok: false, reason: 'not-binding-request' };
  }
  if (layout.integrity === undefined) return { ok: false, reason: 'no-integrity' };
  const username = message.getAttributeValue('USERNAME') as string | undefined;
  const colon = username?.indexOf(':') ?? -1;
  if (username === undefined || colon <= 0) return { ok: false, reason: 'no-username' };
  return {
    ok: true,
    request: {
      localUfrag: username.slice(0, colon),
      remoteUfrag: username.slice(colon + 1),
      transactionId: Buffer.from(message.transactionId),
      useCandidate: message.getAttributeValue('USE-CANDIDATE') !== undefined,
      iceControlling: message.getAttributeValue('ICE-CONTROLLING') !== undefined,
      priority: message.getAttributeValue('PRIORITY') as number | undefined,
    },
  };
}

/**
 * RFC 5389 §15.4: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the
 * header's length field set as if MESSAGE-INTEGRITY were the last attribute.
 * Compared in constant time: the password is the session's only secret.
 */
export function verifyIntegrity(packet: Buffer, password: string): boolean {
  const layout = attributeLayout(packet);
  if (layout?.integrity === undefined) return false;
  const offset = layout.integrity;
  const prefix = Buffer.from(packet.subarray(0, offset));
  prefix.writeUInt16BE(offset - HEADER_LENGTH + 24, 2);
  const expected = createHmac('sha1', password).update(prefix).digest();
  const actual = packet.subarray(offset + 4, offset + 24);
  return actual.length === 20 && timingSafeEqual(actual, expected);
}

/** A Binding success response (RFC 8445 §7.3.1.2) signed with the session's password. */
export function bindingSuccess(transactionId: Buffer, address: string, port: number, password: string): Buffer {
  const response = new Message(methods.BINDING, classes.RESPONSE, transactionId);
  response.setAttribute('XOR-MAPPED-ADDRESS', [address, port]);
  response.addMessageIntegrity(Buffer.from(password, 'utf8'));
  response.addFingerprint();
  return response.bytes;
}

/** Offsets of MESSAGE-INTEGRITY and FINGERPRINT, or undefined if the attributes overrun the packet. */
function attributeLayout(packet: Buffer): { integrity?: number; fingerprint?: number } | undefined {
  const found: { integrity?: number; fingerprint?: number } = {};
  let pos = HEADER_LENGTH;
  while (pos < packet.length) {
    if (pos + 4 > packet.length) return undefined;
    const type = packet.readUInt16BE(pos);
    const length = packet.readUInt16BE(pos + 2);
    const end = pos + 4 + length + ((4 - (length % 4)) % 4);
    if (end > packet.length) return undefined;
    if (type === ATTR_MESSAGE_INTEGRITY && found.integrity === undefined) {
      if (length !== 20) return undefined;
      found.integrity = pos;
    } else if (type === ATTR_FINGERPRINT) {
      found.fingerprint = pos;
    }
    pos = end;
  }
  return found;
}
