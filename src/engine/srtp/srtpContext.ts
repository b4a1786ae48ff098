// SRTP and SRTCP (RFC 3711, RFC 7714) for one session, keyed from its DTLS
// handshake. werift does the cryptography; this file gives the session one object
// that protects and unprotects, and reports a failed check as undefined so that
// the caller can drop and count it.
import { RtpHeader, SrtcpSession, SrtpSession } from 'werift';
import type { SrtpKeys } from '../dtls/dtlsEndpoint';

export const SRTP_PROFILE_NAMES: Record<number, string> = {
  0x0001: 'AES_CM_128_HMAC_SHA1_80',
  0x0007: 'AEAD_AES_128_GCM',
};

export class SrtpContext {
  private readonly srtp: SrtpSession;
  private readonly srtcp: SrtcpSession;
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
    const header = RtpHeader.deSerialize(packet);
    return this.srtp.encrypt(packet.subarray(header.payloadOffset), header);
  }

  protectRtcp(packet: Buffer): Buffer {
    return this.srtcp.encrypt(packet);
  }
}
