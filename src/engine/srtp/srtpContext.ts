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

export class SrtpContext {
  private readonly srtp: SrtpSession;
  private readonly srtcp: SrtcpSession;
  private readonly sender: SrtpSender;
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
  }

  /** Decrypts and authenticates an SRTP packet; undefined when it fails either. */
  unprotectRtp(packet: Buffer): Buffer | undefined {
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
