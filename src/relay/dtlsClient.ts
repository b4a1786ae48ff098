// A DTLS client handshake (the relay's, and the test clients'), with werift's DtlsClient over
// our own transport, and the SRTP/SRTCP sessions keyed from it once the server's certificate
// matched the answer's a=fingerprint.
//
// werift notes (0.24.4):
// - DtlsClient.connect() resolves only when flight 1's retransmission timer has run out:
//   Flight.transmit() sends, then always awaits setTimeout(500 ms) before it looks at whether
//   the peer answered. The handshake itself proceeds in parallel (incoming records are
//   handled as they arrive), so `await client.connect()` adds a fixed ~500 ms. Here connect()
//   is fired and forgotten and readiness comes from onConnect.
// - Those retransmission timers are not unref'd and keep going after close() (up to ~27 s
//   for a handshake that never finishes); endHandshake() ends them by marking the flight as done.
import { createHash, timingSafeEqual } from 'node:crypto';
import { DtlsClient, ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, SrtcpSession, SrtpSession, keyLength, saltLength } from 'werift';
import { CallbackTransport, stopRetransmissions, type SrtpKeys } from '../engine/dtls/dtlsEndpoint';
import type { ClientCertificate } from './clientCertificate';
import type { ParsedAnswer } from './sdp';

/** Why a client handshake failed (the server's alert, a certificate that does not match, no SRTP profile). */
export class DtlsClientError extends Error {
  override readonly name = 'DtlsClientError';
}

const SRTP_PROFILE_NAMES: Record<number, string> = {
  [ProtectionProfileAes128CmHmacSha1_80]: 'AES_CM_128_HMAC_SHA1_80',
  [ProtectionProfileAeadAes128Gcm]: 'AEAD_AES_128_GCM',
};

export interface SrtpSessions {
  srtp: SrtpSession;
  srtcp: SrtcpSession;
  /** 'AEAD_AES_128_GCM' or 'AES_CM_128_HMAC_SHA1_80' */
  profileName: string;
  /** The same keys, for the engine's SRTP context (the relay's). */
  keys: SrtpKeys;
}

export interface Handshake {
  client: DtlsClient;
  /** Feed it the DTLS datagrams that arrive. */
  transport: CallbackTransport;
  /** Resolves once the handshake completed and SRTP is keyed; rejects with a DtlsClientError. */
  keyed: Promise<SrtpSessions>;
}

/** Starts the client handshake; its records go out through `write`. */
export function startHandshake(certificate: ClientCertificate, fingerprint: ParsedAnswer['fingerprint'], write: (data: Buffer) => void): Handshake {
  const transport = new CallbackTransport(write);
  const client = new DtlsClient({
    cert: certificate.certPem,
    key: certificate.keyPem,
    signatureHash: certificate.signatureHash,
    transport,
    srtpProfiles: [ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80],
    extendedMasterSecret: true,
  });
  const keyed = new Promise<SrtpSessions>((resolve, reject) => {
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      reject(new DtlsClientError(message));
    };
    client.onConnect.subscribe(() => {
      if (settled) return;
      const mismatch = checkFingerprint(client.remoteCertificate, fingerprint);
      if (mismatch) return fail(mismatch);
      const profile = client.srtp.srtpProfile;
      if (profile === undefined) return fail('the DTLS server negotiated no SRTP profile');
      const k = client.extractSessionKeys(keyLength(profile), saltLength(profile));
      const config = {
        profile,
        keys: {
          localMasterKey: k.localKey as Buffer,
          localMasterSalt: k.localSalt as Buffer,
          remoteMasterKey: k.remoteKey as Buffer,
          remoteMasterSalt: k.remoteSalt as Buffer,
        },
      };
      settled = true;
      resolve({
        srtp: new SrtpSession(config),
        srtcp: new SrtcpSession(config),
        profileName: SRTP_PROFILE_NAMES[profile] ?? `profile ${profile}`,
        keys: { profile, ...config.keys },
      });
    });
    client.onError.subscribe((error: Error) => {
      // werift's client throws an empty Error when a second HelloVerifyRequest
      // arrives (the server answered our retransmitted ClientHello too, as it
      // should); its handshake carries on, so that one is not a failure.
      if (error instanceof Error && error.message === '' && /Flight3/.test(error.stack ?? '')) return;
      fail(`DTLS handshake failed: ${error?.message ?? String(error)}`);
    });
    client.onClose.subscribe(() => fail('the DTLS server sent an alert during the handshake'));
    // Not awaited: connect() resolves only after flight 1's 500 ms retransmission wait (see the header).
    client.connect().catch((error: unknown) => fail(`DTLS handshake failed: ${error instanceof Error ? error.message : String(error)}`));
  });
  return { client, transport, keyed };
}

/** Closes the DTLS client and ends werift's pending flight retransmission loops at their next wake-up. */
export function endHandshake(client: DtlsClient): void {
  stopRetransmissions(client);
  client.close();
}

function checkFingerprint(der: Buffer | undefined, expected: ParsedAnswer['fingerprint']): string | undefined {
  if (der === undefined) return 'the DTLS server sent no certificate';
  const algorithm = expected.algorithm.replace('-', '');
  if (!['sha1', 'sha224', 'sha256', 'sha384', 'sha512'].includes(algorithm)) return `unsupported fingerprint algorithm ${expected.algorithm}`;
  const want = Buffer.from(expected.value.replace(/:/g, ''), 'hex');
  const got = createHash(algorithm).update(der).digest();
  if (want.length === got.length && timingSafeEqual(want, got)) return undefined;
  return "the DTLS server's certificate does not match the answer's a=fingerprint";
}
