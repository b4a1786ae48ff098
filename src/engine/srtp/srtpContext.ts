// SRTP and SRTCP (RFC 3711, RFC 7714) for one session, keyed from its DTLS
// handshake. werift does the cryptography; this file gives the session one object
// that protects and unprotects, and reports a failed check as undefined so that
// the caller can drop and count it. Outbound RTP, the fan-out's hot path, goes
// through onecast's own SrtpSender.
import { SrtcpSession, SrtpSession } from 'werift';
import { SrtpSender } from './srtpSender';
import type { SrtpKeys } from '../dtls/dtlsEndpoint';

export const SRTP_PROFILE_NAMES: Record<number, string> = {
  0x0001: 'AES_CM_128_HMAC_SHA1_80',
  0x0007: 'AEAD_AES_128_GCM',
};

/** Auth tag lengths (RFC 3711: 80-bit HMAC-SHA1; RFC 7714: 16-byte GCM tag). */
export const TAG_LENGTH: Record<number, number> = { 0x0001: 10, 0x0007: 16 };

/** More header extension elements than any sender writes (RFC 8285: ids 1-14 one-byte, 1-255 two-byte, each once). */
const MAX_EXTENSION_ELEMENTS = 64;

/**
 * Whether an SRTP packet's RTP header (CSRCs and header extension included) ends before its
 * authentication tag and holds a sane number of extension elements. werift parses the header
 * before it authenticates, walking an extension length that overruns the packet element by
 * element past its end and copying its element list at every step: one such datagram from a
 * bound address froze the process for minutes. So nothing else reaches it.
 */
export function isPlausibleSrtpHeader(packet: Buffer, tagLength: number): boolean {
  const end = packet.length - tagLength;
  if (end < 12) return false;
  let pos = 12 + (packet[0]! & 0x0f) * 4;
  if ((packet[0]! & 0x10) === 0) return pos <= end;
  if (pos + 4 > end) return false;
  const profile = packet.readUInt16BE(pos);
  const blockEnd = pos + 4 + packet.readUInt16BE(pos + 2) * 4;
  if (blockEnd > end) return false;
  const oneByte = profile === 0xbede;
  if (!oneByte && (profile & 0xfff0) !== 0x1000) return true;
  let elements = 0;
  pos += 4;
  while (pos < blockEnd) {
    const b = packet[pos]!;
    if (b === 0) {
      pos++; // padding
      continue;
    }
    if (oneByte && b >> 4 === 15) break; // RFC 8285 §4.2: id 15 ends the block
    if (++elements > MAX_EXTENSION_ELEMENTS) return false;
    pos += oneByte ? 2 + (b & 0x0f) : 2 + (pos + 1 < blockEnd ? packet[pos + 1]! : 0);
  }
  return true;
}

export class SrtpContext {
  private readonly srtp: SrtpSession;
  private readonly srtcp: SrtcpSession;
  private readonly sender: SrtpSender;
  private readonly tagLength: number;
  readonly profileName: string;

  constructor(keys: SrtpKeys) {
    const config = {
      profile: keys.profile,
      keys: {
        localMasterKey: keys.localMasterKey,
        localMasterSalt: keys.localMasterSalt,
        remoteMasterKey: keys.remoteMasterKey,
        remoteMasterSalt: keys.remoteMasterSalt,
      },
    };
    this.srtp = new SrtpSession(config);
    this.srtcp = new SrtcpSession(config);
    this.sender = new SrtpSender(keys.profile, keys.localMasterKey, keys.localMasterSalt);
    this.profileName = SRTP_PROFILE_NAMES[keys.profile] ?? `profile ${keys.profile}`;
    this.tagLength = TAG_LENGTH[keys.profile] ?? 16;
  }

  /** Decrypts and authenticates an SRTP packet; undefined when it fails either. */
  unprotectRtp(packet: Buffer): Buffer | undefined {
    if (!isPlausibleSrtpHeader(packet, this.tagLength)) return undefined;
    try {
      return this.srtp.decrypt(packet);
    } catch {
      return undefined;
    }
  }

  unprotectRtcp(packet: Buffer): Buffer | undefined {
    try {
      return this.srtcp.decrypt(packet);
    } catch {
      return undefined;
    }
  }

  protectRtp(packet: Buffer): Buffer {
    return this.sender.protect(packet);
  }

  /** protectRtp for a packet given as header and payload (see SrtpSender.protectParts). */
  protectRtpParts(header: Buffer, length: number, payload: Uint8Array): Buffer {
    return this.sender.protectParts(header, length, payload);
  }

  protectRtcp(packet: Buffer): Buffer {
    return this.srtcp.encrypt(packet);
  }
}
