// The DTLS server against werift's DTLS client in memory: both SRTP profiles are
// negotiated and key working SRTP contexts; a certificate that does not match the
// offer's fingerprint fails the session, and so does one presented without its private
// key; tampered packets fail authentication.
import assert from 'node:assert/strict';
import { DtlsClient, ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, RtpHeader, RtpPacket, keyLength, saltLength } from 'werift';
import { createCertificate, type Certificate } from '../../src/engine/dtls/certificate';
import { CallbackTransport, DtlsEndpoint, type SrtpKeys } from '../../src/engine/dtls/dtlsEndpoint';
import { SrtpContext } from '../../src/engine/srtp/srtpContext';

interface Pair {
  server: DtlsEndpoint;
  client: DtlsClient;
  result: Promise<{ keys?: SrtpKeys; failure?: string }>;
}

/** `signingKey`: the private key the client signs its CertificateVerify with; its own certificate's unless an impostor's. */
function connect(serverCert: Certificate, clientCert: Certificate, offeredFingerprint: string, profiles: (1 | 7)[], signingKey = clientCert.keyPem): Pair {
  const [algorithm, value] = offeredFingerprint.split(' ') as [string, string];
  const transport = new CallbackTransport((d) => setImmediate(() => server.receive(d, 'client')));
  let settle: (r: { keys?: SrtpKeys; failure?: string }) => void = () => {};
  const result = new Promise<{ keys?: SrtpKeys; failure?: string }>((r) => (settle = r));
  const server = new DtlsEndpoint(
    serverCert,
    [{ algorithm, value }],
    (record) => setImmediate(() => transport.onData(record)),
    (keys) => settle({ keys }),
    (failure) => settle({ failure }),
  );
  const client = new DtlsClient({
    cert: clientCert.certPem,
    key: signingKey,
    signatureHash: clientCert.signatureHash,
    transport,
    srtpProfiles: profiles,
    extendedMasterSecret: true,
  });
  void client.connect();
  return { server, client, result };
}

function clientSrtp(client: DtlsClient): SrtpContext {
  const profile = client.srtp.srtpProfile!;
  const k = client.extractSessionKeys(keyLength(profile), saltLength(profile));
  return new SrtpContext({ profile, localMasterKey: k.localKey, localMasterSalt: k.localSalt, remoteMasterKey: k.remoteKey, remoteMasterSalt: k.remoteSalt });
}

const rtp = (seq: number) =>
  new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: 0x11223344 }), Buffer.alloc(200, seq)).serialize();
// An RTCP receiver report with no report blocks.
const rtcp = Buffer.from([0x80, 201, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44]);

describe('DTLS server and SRTP', function () {
  this.timeout(20_000);
  let serverCert: Certificate;
  let clientCert: Certificate;

  before(async () => {
    [serverCert, clientCert] = await Promise.all([createCertificate(), createCertificate()]);
  });

  it('uses one ECDSA P-256 certificate with a SHA-256 fingerprint', () => {
    assert.match(serverCert.fingerprint, /^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.match(serverCert.certPem, /BEGIN CERTIFICATE/);
  });

  for (const [name, profile] of [
    ['AEAD_AES_128_GCM', ProtectionProfileAeadAes128Gcm],
    ['AES_CM_128_HMAC_SHA1_80', ProtectionProfileAes128CmHmacSha1_80],
  ] as const) {
    it(`negotiates ${name} and keys SRTP/SRTCP both ways; tampered packets fail`, async () => {
      const pair = connect(serverCert, clientCert, clientCert.fingerprint, [profile]);
      const { keys, failure } = await pair.result;
      assert.equal(failure, undefined);
      assert.equal(keys!.profile, profile);
      const server = new SrtpContext(keys!);
      const client = clientSrtp(pair.client);
      assert.equal(server.profileName, name);

      const protectedRtp = client.protectRtp(rtp(1));
      assert.deepEqual(server.unprotectRtp(protectedRtp), rtp(1));
      assert.deepEqual(client.unprotectRtp(server.protectRtp(rtp(2))), rtp(2));
      assert.deepEqual(server.unprotectRtcp(client.protectRtcp(rtcp)), rtcp);

      const tampered = Buffer.from(client.protectRtp(rtp(3)));
      tampered[20] ^= 0x01;
      assert.equal(server.unprotectRtp(tampered), undefined);
      const truncated = client.protectRtp(rtp(4)).subarray(0, 14);
      assert.equal(server.unprotectRtp(truncated), undefined);
      const garbledRtcp = Buffer.from(client.protectRtcp(rtcp));
      garbledRtcp[garbledRtcp.length - 1] ^= 0xff;
      assert.equal(server.unprotectRtcp(garbledRtcp), undefined);
      pair.client.close();
      pair.server.close();
    });
  }

  it("fails the session when the client's certificate does not match the offer's fingerprint", async () => {
    const pair = connect(serverCert, clientCert, serverCert.fingerprint /* not the client's */, [ProtectionProfileAeadAes128Gcm]);
    const { keys, failure } = await pair.result;
    assert.equal(keys, undefined);
    assert.match(failure ?? '', /does not match the offer's a=fingerprint/);
    pair.client.close();
    pair.server.close();
  });

  it("fails the session when the client presents the offer's certificate without its private key (a certificate seen on the wire)", async () => {
    const impostor = await createCertificate();
    const pair = connect(serverCert, clientCert, clientCert.fingerprint, [ProtectionProfileAeadAes128Gcm], impostor.keyPem);
    const { keys, failure } = await pair.result;
    assert.equal(keys, undefined);
    assert.match(failure ?? '', /CertificateVerify does not verify with its certificate's key/);
    pair.client.close();
    pair.server.close();
  });
});
