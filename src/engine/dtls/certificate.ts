// One ECDSA P-256 certificate per process: every answer carries its SHA-256
// fingerprint, and every DTLS handshake presents it.
import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import { CipherContext, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm, type SignatureHash } from 'werift';

export interface Certificate {
  certPem: string;
  keyPem: string;
  /** certPem as DER, what each handshake presents. */
  der: Buffer;
  /** keyPem, parsed once: each handshake signs with it. */
  privateKey: KeyObject;
  signatureHash: SignatureHash;
  /** "sha-256 AB:CD:..." as it goes after a=fingerprint: */
  fingerprint: string;
}

export async function createCertificate(): Promise<Certificate> {
  const { certPem, keyPem, signatureHash } = await CipherContext.createSelfSignedCertificateWithKey(
    { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
    NamedCurveAlgorithm.secp256r1_23,
  );
  const x509 = new X509Certificate(certPem);
  return { certPem, keyPem, der: x509.raw, privateKey: createPrivateKey(keyPem), signatureHash, fingerprint: `sha-256 ${x509.fingerprint256}` };
}
