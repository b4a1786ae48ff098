// The client's proof at the end of a DTLS handshake, byte by byte: a CertificateVerify
// whose lengths lie, an unknown signature scheme, a signature over other messages, and a
// Finished that does not match are each refused with their own reason, and nothing throws.
import assert from 'node:assert/strict';
import { randomBytes, sign } from 'node:crypto';
import { createCertificate, type Certificate } from '../../src/engine/dtls/certificate';
import { checkClientProof, type HandshakeMessage } from '../../src/engine/dtls/clientProof';

function message(type: number, body: Buffer): HandshakeMessage {
  // The DTLS handshake header: type, length (24 bits), message_seq, fragment offset 0, fragment length.
  const header = Buffer.alloc(12);
  header[0] = type;
  header.writeUIntBE(body.length, 1, 3);
  header.writeUIntBE(body.length, 9, 3);
  return { msg_type: type, fragment: body, serialize: () => Buffer.concat([header, body]) };
}

function certificateVerify(scheme: number, signature: Buffer, declaredLength = signature.length): HandshakeMessage {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(scheme, 0);
  head.writeUInt16BE(declaredLength, 2);
  return message(15, Buffer.concat([head, signature]));
}

describe('DTLS client proof (CertificateVerify and Finished)', () => {
  let certificate: Certificate;
  const earlier = [message(1, randomBytes(80)), message(2, randomBytes(70)), message(11, randomBytes(300))];
  const transcript = Buffer.concat(earlier.map((m) => m.serialize()));
  const master = randomBytes(48);

  before(async () => {
    certificate = await createCertificate();
  });

  it('refuses a CertificateVerify whose declared signature length is not what it carries', () => {
    const signature = sign('sha256', transcript, certificate.privateKey);
    for (const declared of [signature.length + 1, signature.length - 1, 0, 0xffff]) {
      const proof = checkClientProof([...earlier, certificateVerify(0x0403, signature, declared), message(20, randomBytes(12))], certificate.der, master);
      assert.match(proof ?? '', /CertificateVerify is malformed/);
    }
    assert.match(checkClientProof([...earlier, message(15, Buffer.alloc(3)), message(20, randomBytes(12))], certificate.der, master) ?? '', /malformed/);
  });

  it('refuses an unknown signature scheme, and a signature over other messages', () => {
    const signature = sign('sha256', transcript, certificate.privateKey);
    assert.match(
      checkClientProof([...earlier, certificateVerify(0x0999, signature), message(20, randomBytes(12))], certificate.der, master) ?? '',
      /unknown signature scheme 0x999/,
    );
    const otherSignature = sign('sha256', randomBytes(64), certificate.privateKey);
    assert.match(
      checkClientProof([...earlier, certificateVerify(0x0403, otherSignature), message(20, randomBytes(12))], certificate.der, master) ?? '',
      /does not verify with its certificate's key/,
    );
    assert.match(
      checkClientProof([...earlier, certificateVerify(0x0403, Buffer.alloc(70)), message(20, randomBytes(12))], certificate.der, master) ?? '',
      /does not verify/,
    );
  });

  it('refuses a Finished that does not match the handshake, and a handshake missing either message', () => {
    const verify = certificateVerify(0x0403, sign('sha256', transcript, certificate.privateKey));
    assert.match(checkClientProof([...earlier, verify, message(20, randomBytes(12))], certificate.der, master) ?? '', /Finished does not match/);
    assert.match(checkClientProof([...earlier, verify, message(20, randomBytes(5))], certificate.der, master) ?? '', /Finished does not match/);
    assert.match(checkClientProof([...earlier, verify], certificate.der, master) ?? '', /no Finished/);
    assert.match(checkClientProof([...earlier, message(20, randomBytes(12))], certificate.der, master) ?? '', /no CertificateVerify/);
  });
});
