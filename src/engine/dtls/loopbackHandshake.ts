// One DTLS 1.2 handshake of werift's client against our own DtlsEndpoint, in memory:
// each side's records reach the other on the next turn of the event loop, never a
// socket. The start-up warm-up (warmup.ts) runs it to prime werift's curve tables; the
// bad-input tests (test/support/fuzz.ts) run it to capture real handshake records.
import { DtlsClient, ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80 } from 'werift';
import type { Certificate } from './certificate';
import { CallbackTransport, DtlsEndpoint, stopRetransmissions } from './dtlsEndpoint';

/** The client's address as the server's cookies see it. */
const LOOPBACK_PEER = 'loopback';

/** elliptic_curves extension (RFC 8422 §5.1.1) */
const SUPPORTED_GROUPS = 10;

export interface LoopbackHandshakeOptions {
  /** What the handshake is called in its errors, e.g. 'DTLS warm-up'. */
  name: string;
  timeoutMs: number;
  /** A NamedCurveAlgorithm: the only curve the client offers (werift's offers every one it knows). */
  curve?: number;
  /** Every record either side sends, in the order they are sent. */
  onRecord?: (record: Buffer) => void;
}

/** Resolves when the server side reports the handshake done; rejects on its failure or the timeout. */
export async function loopbackHandshake(certificate: Certificate, options: LoopbackHandshakeOptions): Promise<void> {
  const { name, timeoutMs, curve, onRecord } = options;
  const [algorithm, value] = certificate.fingerprint.split(' ') as [string, string];
  let settle: (error?: string) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(new Error(error)));
  });
  const clientTransport = new CallbackTransport((data) => {
    onRecord?.(data);
    setImmediate(() => server.receive(data, LOOPBACK_PEER));
  });
  const server = new DtlsEndpoint(
    certificate,
    [{ algorithm, value }],
    (data) => {
      onRecord?.(data);
      setImmediate(() => clientTransport.onData(data));
    },
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
  if (curve !== undefined) {
    const groups = client.extensions.find((e) => e.type === SUPPORTED_GROUPS);
    if (groups !== undefined) groups.data = Buffer.from([0, 2, curve >> 8, curve & 0xff]);
  }
  const timeout = setTimeout(() => settle(`${name} did not finish in ${timeoutMs / 1000} s`), timeoutMs);
  // werift's connect() resolves only after its first retransmission timer (500 ms)
  // whatever the peer does; the server side reporting the handshake is what counts.
  client.connect().catch(() => settle(`${name} client failed`));
  try {
    await done;
  } finally {
    clearTimeout(timeout);
    stopRetransmissions(client);
    client.close();
    server.close();
  }
}
