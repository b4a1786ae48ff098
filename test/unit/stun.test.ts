import assert from 'node:assert/strict';
import { Message, classes, methods, parseMessage } from 'werift';
import { bindingSuccess, parseBindingRequest, verifyIntegrity } from '../../src/engine/ice/stun';
import { stunMessage } from '../clients/stunMessage';

const PASSWORD = 'c2VydmVyLXBhc3N3b3JkLTEyMzQ1';

describe('STUN (ICE-lite side)', () => {
  it('parses a valid Binding Request and verifies its integrity', () => {
    const packet = stunMessage({ username: 'room/abc:peer', password: PASSWORD, useCandidate: true });
    const parsed = parseBindingRequest(packet);
    assert.ok(parsed.ok);
    assert.equal(parsed.request.localUfrag, 'room/abc');
    assert.equal(parsed.request.remoteUfrag, 'peer');
    assert.equal(parsed.request.useCandidate, true);
    assert.equal(parsed.request.iceControlling, true);
    assert.equal(verifyIntegrity(packet, PASSWORD), true);
  });

  it('rejects MESSAGE-INTEGRITY made with another password', () => {
    const packet = stunMessage({ username: 'room/abc:peer', password: 'some-other-password-000' });
    assert.ok(parseBindingRequest(packet).ok);
    assert.equal(verifyIntegrity(packet, PASSWORD), false);
  });

  it('rejects a request whose integrity was broken in transit', () => {
    const packet = stunMessage({ username: 'room/abc:peer', password: PASSWORD, fingerprint: false });
    packet[packet.length - 1] ^= 0xff;
    assert.equal(verifyIntegrity(packet, PASSWORD), false);
  });

  it('rejects a bad or missing FINGERPRINT', () => {
    const packet = stunMessage({ username: 'room/abc:peer', password: PASSWORD });
    packet[packet.length - 1] ^= 0x01;
    assert.deepEqual(parseBindingRequest(packet), { ok: false, reason: 'bad-fingerprint' });
    const none = stunMessage({ username: 'room/abc:peer', password: PASSWORD, fingerprint: false });
    assert.deepEqual(parseBindingRequest(none), { ok: false, reason: 'no-fingerprint' });
  });

  it('rejects requests without MESSAGE-INTEGRITY or without a USERNAME colon', () => {
    assert.deepEqual(parseBindingRequest(stunMessage({ username: 'room/abc:peer' })), { ok: false, reason: 'no-integrity' });
    assert.deepEqual(parseBindingRequest(stunMessage({ username: 'nocolon', password: PASSWORD })), { ok: false, reason: 'no-username' });
  });

  it('rejects truncated, overlong and non-STUN datagrams', () => {
    const packet = stunMessage({ username: 'room/abc:peer', password: PASSWORD });
    assert.equal(parseBindingRequest(packet.subarray(0, 30)).ok, false);
    assert.equal(parseBindingRequest(Buffer.concat([packet, Buffer.alloc(4)])).ok, false);
    assert.equal(parseBindingRequest(Buffer.alloc(40)).ok, false);
    const lying = Buffer.from(packet);
    lying.writeUInt16BE(0xfff0, 22); // first attribute claims to run far past the end
    assert.equal(parseBindingRequest(lying).ok, false);
  });

  it('does not answer responses or indications', () => {
    const m = new Message(methods.BINDING, classes.INDICATION);
    m.addFingerprint();
    assert.deepEqual(parseBindingRequest(m.bytes), { ok: false, reason: 'not-binding-request' });
  });

  it('builds a success response with XOR-MAPPED-ADDRESS, integrity and fingerprint', () => {
    const tid = Buffer.from('0123456789ab');
    const response = bindingSuccess(tid, '192.0.2.7', 40000, PASSWORD);
    const parsed = parseMessage(response, Buffer.from(PASSWORD));
    assert.ok(parsed, 'the response verifies with the password');
    assert.equal(parsed.messageClass, classes.RESPONSE);
    assert.deepEqual(parsed.transactionId, tid);
    assert.deepEqual(parsed.getAttributeValue('XOR-MAPPED-ADDRESS'), ['192.0.2.7', 40000]);
    assert.equal(parseMessage(response, Buffer.from('wrong')), undefined);
  });
});
