// The DTLS server of one session (RFC 5763/5764), on werift's DtlsServer. werift
// expects a transport that it can read and write; this file gives it one that is
// fed by the UDP mux and writes through the session's bound address.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DtlsServer, ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, keyLength, saltLength } from 'werift';
import type { Certificate } from './certificate';
import { checkClientProof } from './clientProof';
import { HandshakeGuard } from './handshakeGuard';
import { type ClientHello, CookieJar, carriesCookie, clientHelloRecord, helloVerifyRequest, withoutCookie } from './helloVerify';
import { installNativeKeyExchange, signServerKeyExchange } from './nativeKeyExchange';

/** What became of a datagram: taken, or dropped under a reason the UDP mux counts. */
export type DtlsVerdict = 'accepted' | 'dtls-malformed' | 'dtls-over-limit';

/**
 * Ends werift's flight retransmission loop for a DTLS client or server about to close:
 * it re-sends its last flight on ref'd timers until the peer's next flight arrives, up
 * to ~33 s, and close() does not stop it. A flight past the last one (6) ends the loop
 * at its next wake-up.
 */
export function stopRetransmissions(peer: { dtls: { flight: number } }): void {
  peer.dtls.flight = Math.max(peer.dtls.flight, 7);
}

export interface RemoteFingerprint {
  algorithm: string;
  value: string;
}

export interface SrtpKeys {
  profile: number;
  localMasterKey: Buffer;
  localMasterSalt: Buffer;
  remoteMasterKey: Buffer;
  remoteMasterSalt: Buffer;
}

/**
 * werift's Transport, reduced to what its DTLS code calls: records come in through
 * `onData` (set by werift), records go out through the `write` callback. The
 * server feeds it from the UDP mux; the warm-up and test clients from memory.
 */
export class CallbackTransport {
  readonly type = 'udp';
  readonly address: AddressInfo = { address: '0.0.0.0', family: 'IPv4', port: 0 };
  closed = false;
  onData: (data: Buffer) => void = () => {};
  constructor(private readonly write: (data: Buffer) => void) {}
  send = async (data: Buffer): Promise<void> => {
    if (!this.closed) this.write(data);
  };
  close = async (): Promise<void> => {
    this.closed = true;
  };
}

export class DtlsEndpoint {
  private readonly transport: CallbackTransport;
  private readonly server: DtlsServer;
  private readonly guard = new HandshakeGuard();
  private readonly cookies = new CookieJar();
  /** The random of the hello werift's handshake was started from (its retransmissions go straight to werift). */
  private handshakeRandom: Buffer | undefined;
  /** While werift answers the cookieless copy of a verified hello: its HelloVerifyRequest must not leave. */
  private muted = false;
  private settled = false;
  private failed = false;

  constructor(
    certificate: Certificate,
    private readonly remoteFingerprints: readonly RemoteFingerprint[],
    private readonly write: (data: Buffer) => void,
    onConnected: (keys: SrtpKeys) => void,
    private readonly onFailed: (reason: string) => void,
  ) {
    this.transport = new CallbackTransport((data) => {
      if (!this.muted) write(data);
    });
    // No cert/key here: werift would parse both PEMs (@fidm/x509) for every session, ~0.3 ms
    // and more under load; the certificate's DER and key object, parsed once, are set below.
    this.server = new DtlsServer({
      transport: this.transport,
      // The server's order decides (werift takes its first profile the client also
      // offers). GCM first: on the fan-out path it measured 12-16 µs a 1100-byte
      // packet here against 17-22 µs for AES-CM + HMAC-SHA1.
      srtpProfiles: [ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80],
      extendedMasterSecret: true,
      // The client's certificate is what a=fingerprint authenticates.
      certificateRequest: true,
    });
    this.server.cipher.localCert = certificate.der;
    this.server.cipher.signatureHashAlgorithm = certificate.signatureHash;
    // The handshake's public-key work on OpenSSL rather than in JavaScript (nativeKeyExchange.ts).
    installNativeKeyExchange();
    signServerKeyExchange(this.server.cipher, certificate.privateKey);
    this.server.onConnect.subscribe(() => {
      if (this.settled) return;
      this.settled = true;
      const failure =
        this.checkRemoteCertificate() ??
        checkClientProof(this.server.dtls.sortedHandshakeCache, this.server.remoteCertificate!, this.server.cipher.masterSecret);
      if (failure !== undefined) {
        this.fail(failure);
        return;
      }
      const profile = this.server.srtp.srtpProfile;
      if (profile === undefined) {
        this.fail('the DTLS client negotiated no SRTP profile');
        return;
      }
      const k = this.server.extractSessionKeys(keyLength(profile), saltLength(profile));
      onConnected({
        profile,
        localMasterKey: k.localKey as Buffer,
        localMasterSalt: k.localSalt as Buffer,
        remoteMasterKey: k.remoteKey as Buffer,
        remoteMasterSalt: k.remoteSalt as Buffer,
      });
    });
    this.server.onError.subscribe((error: Error) => {
      if (this.settled) return;
      this.settled = true;
      this.fail(`DTLS handshake failed: ${error.message ?? String(error)}`);
    });
  }

  /**
   * A datagram of DTLS records from `from` (an address key), one of the session's
   * bound addresses. Only what the guard accepts reaches werift, and a ClientHello
   * only once it carries the cookie this endpoint gave `from`.
   */
  receive(datagram: Buffer, from: string): DtlsVerdict {
    if (this.transport.closed) return 'dtls-malformed';
    const inspection = this.guard.inspect(datagram, this.handshakeRandom !== undefined);
    switch (inspection.kind) {
      case 'malformed':
        return 'dtls-malformed';
      case 'over-limit':
        this.fail(`DTLS input over its limit: ${inspection.why}`);
        return 'dtls-over-limit';
      case 'hello-fragment':
        return 'accepted';
      case 'client-hello':
        return this.receiveHello(from, inspection.hello, inspection.sequence, inspection.messageSeq);
      case 'records':
        return this.feed(() => this.transport.onData(datagram));
    }
  }

  close(): void {
    // Otherwise a session that ended mid-handshake (DELETE, consent expiry) stays
    // referenced by werift's ServerHello retransmissions for up to ~33 s.
    stopRetransmissions(this.server);
    this.server.close();
  }

  /** A whole ClientHello (from however many fragments); werift gets it as one record. */
  private receiveHello(from: string, hello: ClientHello, sequence: Buffer, messageSeq: number): DtlsVerdict {
    // WebRTC never renegotiates; werift would start over with a new key pair.
    if (this.settled) return 'dtls-malformed';
    const cookie = this.cookies.cookieFor(from, hello);
    if (!carriesCookie(hello, cookie)) {
      this.write(helloVerifyRequest(sequence, cookie));
      return 'accepted';
    }
    const record = clientHelloRecord(hello.body, sequence, messageSeq);
    // A retransmitted hello: werift re-sends its flight.
    if (this.handshakeRandom?.equals(hello.random) === true) return this.feed(() => this.transport.onData(record));
    const overLimit = this.guard.startHandshake();
    if (overLimit !== undefined) {
      this.fail(`DTLS input over its limit: ${overLimit}`);
      return 'dtls-over-limit';
    }
    this.handshakeRandom = Buffer.from(hello.random);
    return this.feed(() => {
      // werift sets up a handshake (curve, SRTP profile, randoms, key pair) only from a
      // hello without a cookie, and then answers it with a HelloVerifyRequest of its own;
      // it does so synchronously (werift 0.24 flight2), so muting that answer is enough.
      // The verified hello that follows then matches the cookie werift holds.
      this.muted = true;
      try {
        this.transport.onData(clientHelloRecord(withoutCookie(hello), sequence, messageSeq));
      } finally {
        this.muted = false;
      }
      this.server.dtls.cookie = cookie;
      // werift numbers its records from 1 again at every handshake, but each of our
      // HelloVerifyRequests took its hello's record number, and the client's replay window
      // (RFC 6347 §4.1.2.6) drops a later record with a number it has seen, werift's
      // retransmissions too, which reuse theirs. Chromium's two-record hello, retransmitted
      // before the cookie came back, made the request take number 3, the Certificate's:
      // its handshake never finished. As OpenSSL's DTLSv1_listen does, the flight follows
      // this hello's number, past those of the hellos that came before it.
      this.server.dtls.recordSequenceNumber = sequence.readUIntBE(0, 6);
      this.transport.onData(record);
    });
  }

  private feed(deliver: () => void): DtlsVerdict {
    try {
      deliver();
      return 'accepted';
    } catch {
      // A record werift cannot parse concerns this peer alone: drop it, keep the process.
      return 'dtls-malformed';
    }
  }

  private fail(reason: string): void {
    if (this.failed) return;
    this.failed = true;
    this.onFailed(reason);
  }

  /** The client's certificate must hash to one of the offer's a=fingerprint values (RFC 8122 §5). */
  private checkRemoteCertificate(): string | undefined {
    const der = this.server.remoteCertificate;
    if (der === undefined) return 'the DTLS client sent no certificate';
    for (const fp of this.remoteFingerprints) {
      const algorithm = fp.algorithm.toLowerCase().replace('-', '');
      if (!['sha1', 'sha224', 'sha256', 'sha384', 'sha512'].includes(algorithm)) continue;
      const expected = Buffer.from(fp.value.replace(/:/g, ''), 'hex');
      const actual = createHash(algorithm).update(der).digest();
      if (expected.length === actual.length && timingSafeEqual(expected, actual)) return undefined;
    }
    return "the DTLS client's certificate does not match the offer's a=fingerprint";
  }
}
