// One self-signed ECDSA P-256 certificate per process for the DTLS clients (the relays, the
// test clients): every client presents it (the server only checks it against the offer's
// fingerprint), so 200 clients cost one key generation.
import { X509Certificate } from 'node:crypto';
import { CipherContext, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm, type SignatureHash } from 'werift';

export interface ClientCertificate {
  certPem: string;
  keyPem: string;
  signatureHash: SignatureHash;
  /** "sha-256 AB:CD:..." */
  fingerprint: string;
}

let certificatePromise: Promise<ClientCertificate> | undefined;

export function clientCertificate(): Promise<ClientCertificate> {
  certificatePromise ??= CipherContext.createSelfSignedCertificateWithKey(
    { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
    NamedCurveAlgorithm.secp256r1_23,
  ).then(({ certPem, keyPem, signatureHash }) => ({
    certPem,
    keyPem,
    signatureHash,
    fingerprint: `sha-256 ${new X509Certificate(certPem).fingerprint256}`,
  }));
  return certificatePromise;
}
