// Outbound SRTP (RFC 3711, RFC 7714) on raw packets: the fan-out's hot path.
// werift's encryptor re-parses and re-serialises the RTP header bit by bit for
// every packet; a server CPU profile with 50 viewers showed that costing more than
// the encryption itself. This writes the header bytes as they are and encrypts the
// payload behind them, for both profiles onecast negotiates.
import { createCipheriv, createHmac } from 'node:crypto';

export const PROFILE_AES_CM_128_HMAC_SHA1_80 = 0x0001;
export const PROFILE_AEAD_AES_128_GCM = 0x0007;

const LABEL_RTP_ENCRYPTION = 0x00;
const LABEL_RTP_AUTH = 0x01;
const LABEL_RTP_SALT = 0x02;

/**
 * The SRTP key derivation function (RFC 3711 §4.3.1, AES-CM PRF; RFC 7714 §11
 * uses it too, with a 12-byte salt): key_id = label || index (index 0, as no
 * key derivation rate is set) XORed into the master salt, the result as the
 * counter-mode IV, and the keystream as the derived key.
 */
export function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0);
  iv[7]! ^= label;
  const cipher = createCipheriv('aes-128-ctr', masterKey, iv);
  return cipher.update(Buffer.alloc(length));
}

/** The RTP header's length, CSRCs and extension included. */
function headerLength(packet: Buffer): number {
  let length = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) length += 4 + packet.readUInt16BE(length + 2) * 4;
  return length;
}

export class SrtpSender {
  private readonly key: Buffer;
  private readonly salt: Buffer;
  private readonly authKey: Buffer | undefined;
  private readonly gcm: boolean;
  /** Per SSRC: the rollover counter and the highest sequence number sent. */
  private readonly rollover = new Map<number, { roc: number; lastSeq: number }>();
  private readonly iv: Buffer;
  private readonly rocBytes = Buffer.alloc(4);

  constructor(profile: number, masterKey: Buffer, masterSalt: Buffer) {
    this.gcm = profile === PROFILE_AEAD_AES_128_GCM;
    if (!this.gcm && profile !== PROFILE_AES_CM_128_HMAC_SHA1_80) throw new Error(`unsupported SRTP profile ${profile}`);
    this.key = deriveKey(masterKey, masterSalt, LABEL_RTP_ENCRYPTION, 16);
    this.salt = deriveKey(masterKey, masterSalt, LABEL_RTP_SALT, this.gcm ? 12 : 14);
    this.authKey = this.gcm ? undefined : deriveKey(masterKey, masterSalt, LABEL_RTP_AUTH, 20);
    this.iv = Buffer.alloc(this.gcm ? 12 : 16);
  }

  /** Encrypts a plain RTP packet into a new SRTP packet. */
  protect(packet: Buffer): Buffer {
    const length = headerLength(packet);
    return this.protectParts(packet, length, packet.subarray(length));
  }

  /**
   * Encrypts an RTP packet given as its header (the first `length` bytes of
   * `header`) and its payload, so that a forwarder can pair its own header with
   * the publisher's payload without copying them together first.
   */
  protectParts(header: Buffer, length: number, payload: Uint8Array): Buffer {
    const ssrc = header.readUInt32BE(8);
    const seq = header.readUInt16BE(2);
    const roc = this.rolloverCounter(ssrc, seq);
    return this.gcm ? this.protectGcm(header, length, payload, ssrc, seq, roc) : this.protectCm(header, length, payload, ssrc, seq, roc);
  }

  /** RFC 3711 §3.3.1: the index is ROC·2^16 + SEQ; the ROC grows when SEQ wraps. */
  private rolloverCounter(ssrc: number, seq: number): number {
    let state = this.rollover.get(ssrc);
    if (state === undefined) {
      state = { roc: 0, lastSeq: seq };
      this.rollover.set(ssrc, state);
      return 0;
    }
    const delta = (seq - state.lastSeq) & 0xffff;
    if (delta !== 0 && delta < 0x8000) {
      if (seq < state.lastSeq) state.roc = (state.roc + 1) >>> 0;
      state.lastSeq = seq;
      return state.roc;
    }
    // A resend of an older packet: it belongs to the previous ROC if SEQ wrapped since.
    return seq > state.lastSeq ? (state.roc - 1) >>> 0 : state.roc;
  }

  /** RFC 7714 §8: IV = salt XOR (0x0000 || SSRC || ROC || SEQ), AAD = header, 16-byte tag. */
  private protectGcm(header: Buffer, length: number, payload: Uint8Array, ssrc: number, seq: number, roc: number): Buffer {
    const iv = this.iv;
    iv.writeUInt16BE(0, 0);
    iv.writeUInt32BE(ssrc, 2);
    iv.writeUInt32BE(roc, 6);
    iv.writeUInt16BE(seq, 10);
    for (let i = 0; i < 12; i++) iv[i]! ^= this.salt[i]!;
    const cipher = createCipheriv('aes-128-gcm', this.key, iv);
    cipher.setAAD(header.subarray(0, length));
    const encrypted = cipher.update(payload);
    cipher.final();
    const out = Buffer.allocUnsafe(length + encrypted.length + 16);
    header.copy(out, 0, 0, length);
    encrypted.copy(out, length);
    cipher.getAuthTag().copy(out, length + encrypted.length);
    return out;
  }

  /** RFC 3711 §4.1.1 and §4.2: AES counter mode, then HMAC-SHA1 over packet || ROC, 80 bits. */
  private protectCm(header: Buffer, length: number, payload: Uint8Array, ssrc: number, seq: number, roc: number): Buffer {
    const iv = this.iv;
    this.salt.copy(iv, 0);
    iv[14] = 0;
    iv[15] = 0;
    iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ roc) >>> 0, 8);
    iv.writeUInt16BE(iv.readUInt16BE(12) ^ seq, 12);
    const encrypted = createCipheriv('aes-128-ctr', this.key, iv).update(payload);
    const out = Buffer.allocUnsafe(length + payload.length + 10);
    header.copy(out, 0, 0, length);
    encrypted.copy(out, length);
    this.rocBytes.writeUInt32BE(roc, 0);
    const tag = createHmac('sha1', this.authKey!)
      .update(out.subarray(0, length + payload.length))
      .update(this.rocBytes)
      .digest();
    tag.copy(out, length + payload.length, 0, 10);
    return out;
  }
}
