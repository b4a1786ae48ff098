// onecast's outbound SRTP must produce exactly what werift (a known-good
// implementation, and our receive side) produces, for both profiles, across a
// sequence-number wrap, with CSRCs, extensions and padding in the header.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RtpHeader, RtpPacket, SrtpSession } from 'werift';
import { PROFILE_AEAD_AES_128_GCM, PROFILE_AES_CM_128_HMAC_SHA1_80, SrtpSender } from '../../src/engine/srtp/srtpSender';

function packet(seq: number, opts: Partial<RtpHeader> = {}): Buffer {
  return new RtpPacket(
    new RtpHeader({ payloadType: 102, sequenceNumber: seq, timestamp: seq * 3000, ssrc: 0x01020304, ...opts }),
    randomBytes(100 + (seq % 50)),
  ).serialize();
}

describe('SrtpSender (outbound SRTP)', () => {
  for (const [name, profile, saltLength] of [
    ['AEAD_AES_128_GCM', PROFILE_AEAD_AES_128_GCM, 12],
    ['AES_CM_128_HMAC_SHA1_80', PROFILE_AES_CM_128_HMAC_SHA1_80, 14],
  ] as const) {
    it(`${name}: byte-identical to werift, and werift decrypts it, across a wrap`, () => {
      const key = randomBytes(16);
      const salt = randomBytes(saltLength);
      const ours = new SrtpSender(profile, key, salt);
      const keys = { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt };
      const theirs = new SrtpSession({ profile, keys });
      const receiver = new SrtpSession({ profile, keys });
      const packets = [65533, 65534, 65535, 0, 1, 2].map((seq) => packet(seq));
      packets.push(packet(3, { csrc: [7, 8], extension: true, extensionProfile: 0xbede, extensions: [{ id: 1, payload: Buffer.from('1') }] }));
      for (const p of packets) {
        const header = RtpHeader.deSerialize(p);
        const expected = theirs.encrypt(p.subarray(header.payloadOffset), header);
        const actual = ours.protect(p);
        assert.deepEqual(actual, expected, `seq ${header.sequenceNumber}`);
        assert.deepEqual(receiver.decrypt(actual), p);
      }
    });
  }

  it('keeps the rollover counter of a late resend from before the wrap', () => {
    const key = randomBytes(16);
    const salt = randomBytes(12);
    const ours = new SrtpSender(PROFILE_AEAD_AES_128_GCM, key, salt);
    const receiver = new SrtpSession({
      profile: PROFILE_AEAD_AES_128_GCM,
      keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt },
    });
    for (const seq of [65534, 65535, 0, 1]) receiver.decrypt(ours.protect(packet(seq)));
    const resend = packet(65535);
    assert.deepEqual(receiver.decrypt(ours.protect(resend)), resend, 'a NACKed packet from before the wrap still decrypts');
  });
});
