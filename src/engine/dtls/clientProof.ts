// What werift 0.24's DTLS server leaves unchecked: that the client holds the private key
// of the certificate it presented (its CertificateVerify, RFC 5246 §7.4.8), and that the
// client's Finished matches the handshake both sides saw (§7.4.9). a=fingerprint only says
// which certificate the client must present, and a certificate travels in clear in DTLS
// 1.2: without these two checks anyone who had seen it could present it. Checked once the
// handshake is done, over the handshake messages werift keeps (the verified ClientHello
// on, each as one unfragmented message, which is how RFC 6347 §4.2.6 hashes them).
import { createHash, createHmac, timingSafeEqual, verify, X509Certificate } from 'node:crypto';

const CERTIFICATE_VERIFY = 15;
const FINISHED = 20;
const VERIFY_DATA_LENGTH = 12;

/** A handshake message as werift keeps it: its type, its body, and its bytes with the DTLS header. */
export interface HandshakeMessage {
  msg_type: number;
  fragment: Buffer;
  serialize(): Buffer;
}

/** TLS 1.2 SignatureScheme values (RFC 8446 §4.2.3) a WebRTC client signs with, and the hash each takes. */
const SCHEMES = new Map<number, { hash: string; pss: boolean }>([
  [0x0401, { hash: 'sha256', pss: false }], // rsa_pkcs1_sha256
  [0x0501, { hash: 'sha384', pss: false }],
  [0x0601, { hash: 'sha512', pss: false }],
  [0x0403, { hash: 'sha256', pss: false }], // ecdsa_secp256r1_sha256 (Chromium, libdatachannel)
  [0x0503, { hash: 'sha384', pss: false }],
  [0x0603, { hash: 'sha512', pss: false }],
  [0x0804, { hash: 'sha256', pss: true }], // rsa_pss_rsae_sha256
  [0x0805, { hash: 'sha384', pss: true }],
  [0x0806, { hash: 'sha512', pss: true }],
]);

/**
 * Undefined when the client proved its certificate's key and its Finished is right;
 * otherwise why not, for the session's close reason. `messages` is the handshake in
 * order, the client's CertificateVerify and Finished included.
 */
export function checkClientProof(messages: readonly HandshakeMessage[], certificateDer: Buffer, masterSecret: Buffer): string | undefined {
  const verifyAt = messages.findIndex((m) => m.msg_type === CERTIFICATE_VERIFY);
  const finishedAt = messages.findIndex((m) => m.msg_type === FINISHED);
  if (verifyAt < 0) return 'the DTLS client sent no CertificateVerify for its certificate';
  if (finishedAt < verifyAt) return 'the DTLS client sent no Finished after its CertificateVerify';
  const transcript = (end: number) => Buffer.concat(messages.slice(0, end).map((m) => m.serialize()));

  const body = messages[verifyAt]!.fragment;
  // scheme (2 bytes), signature length (2), signature: every length from the wire is checked.
  if (body.length < 4 || body.readUInt16BE(2) !== body.length - 4) return "the DTLS client's CertificateVerify is malformed";
  const scheme = SCHEMES.get(body.readUInt16BE(0));
  if (scheme === undefined) return `the DTLS client's CertificateVerify uses an unknown signature scheme 0x${body.readUInt16BE(0).toString(16)}`;
  let signed: boolean;
  try {
    const key = new X509Certificate(certificateDer).publicKey;
    signed = verify(scheme.hash, transcript(verifyAt), scheme.pss ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -1 } : key, body.subarray(4));
  } catch {
    signed = false;
  }
  if (!signed) return "the DTLS client's CertificateVerify does not verify with its certificate's key";

  const expected = verifyData(masterSecret, transcript(finishedAt));
  const given = messages[finishedAt]!.fragment;
  if (given.length !== VERIFY_DATA_LENGTH || !timingSafeEqual(given, expected)) return "the DTLS client's Finished does not match the handshake";
  return undefined;
}

/** RFC 5246 §7.4.9: PRF(master_secret, "client finished", SHA-256(handshake messages))[0..11], the PRF being P_SHA256 (§5). */
function verifyData(masterSecret: Buffer, transcript: Buffer): Buffer {
  const seed = Buffer.concat([Buffer.from('client finished'), createHash('sha256').update(transcript).digest()]);
  const a1 = createHmac('sha256', masterSecret).update(seed).digest();
  return createHmac('sha256', masterSecret).update(a1).update(seed).digest().subarray(0, VERIFY_DATA_LENGTH);
}
