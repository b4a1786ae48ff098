// The first DTLS handshake in a process pays for werift's lazily built elliptic-
// curve tables: a CPU profile of a cold server showed 150 ms in the first P-256
// key generation (noble-curves precomputation) and 30 ms in the first X25519 one,
// where a warm handshake takes ~30 ms in all. Handshakes with ourselves, in memory,
// at start-up move that cost out of the first publishers' connection time. Both
// curves are primed: libdatachannel (OBS) negotiates P-256, Chromium X25519.
import { DtlsClient, NamedCurveAlgorithm, ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80 } from 'werift';
import type { Certificate } from './certificate';
import { CallbackTransport, DtlsEndpoint } from './dtlsEndpoint';

export async function primeDtls(certificate: Certificate): Promise<void> {
  await Promise.all([NamedCurveAlgorithm.secp256r1_23, NamedCurveAlgorithm.x25519_29].map((curve) => handshakeWithSelf(certificate, curve)));
}

/** elliptic_curves extension (RFC 8422 §5.1.1) */
const SUPPORTED_GROUPS = 10;

async function handshakeWithSelf(certificate: Certificate, curve: number): Promise<void> {
  const [algorithm, value] = certificate.fingerprint.split(' ') as [string, string];
  const clientTransport = new CallbackTransport((data) => setImmediate(() => server.receive(data)));
  let settle: (error?: string) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(new Error(error)));
  });
  const server = new DtlsEndpoint(
    certificate,
    [{ algorithm, value }],
    (record) => setImmediate(() => clientTransport.onData(record)),
    () => settle(),
    (reason) => settle(reason),
  );
  const client = new DtlsClient({
    cert: certificate.certPem,
    key: certificate.keyPem,
    signatureHash: certificate.signatureHash,
    transport: clientTransport,
    srtpProfiles: [ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80],
    extendedMasterSecret: true,
  });
  // werift's client offers every curve it knows; offer only `curve` so the server
  // side (the one that matters) takes that path.
  const groups = client.extensions.find((e) => e.type === SUPPORTED_GROUPS);
  if (groups !== undefined) groups.data = Buffer.from([0, 2, curve >> 8, curve & 0xff]);
  const timeout = setTimeout(() => settle('DTLS warm-up did not finish in 5 s'), 5_000);
  // werift's connect() resolves only after its first retransmission timer (500 ms)
  // whatever the peer does; the server side reporting the handshake is what counts.
  client.connect().catch(() => settle('DTLS warm-up client failed'));
  try {
    await done;
  } finally {
    clearTimeout(timeout);
    client.close();
    server.close();
  }
}
