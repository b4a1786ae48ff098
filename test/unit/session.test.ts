// A session's state changes only through what happens to it: the peer's ufrag comes from
// the offer or its first verified check, a failure is recorded by the close that it causes.
import assert from 'node:assert/strict';
import { createCertificate, type Certificate } from '../../src/engine/dtls/certificate';
import { Session } from '../../src/engine/session';

describe('session state', () => {
  let certificate: Certificate;

  before(async () => {
    certificate = await createCertificate();
  });

  const newSession = (remoteUfrag: string | undefined) =>
    new Session({ ufragPrefix: 'demo', remoteUfrag, remoteFingerprints: [], certificate, write: () => {} });
  const from = { address: '127.0.0.1', port: 5000 };

  it("takes the peer's ufrag from the first verified check when the offer gave none, and keeps the offer's otherwise", () => {
    const learning = newSession(undefined);
    assert.equal(learning.remoteUfrag, undefined);
    learning.onVerifiedCheck(from, false, 'first', 1000);
    learning.onVerifiedCheck(from, true, 'second', 1001);
    assert.equal(learning.remoteUfrag, 'first');
    assert.equal(learning.state, 'ice-connected');
    assert.equal(learning.iceConnectedAt, 1000);
    assert.equal(learning.lastConsent, 1001);
    learning.close('deleted');

    const offered = newSession('fromOffer');
    offered.onVerifiedCheck(from, false, 'other', 1000);
    assert.equal(offered.remoteUfrag, 'fromOffer');
    offered.close('deleted');
  });

  it("an ICE restart renews the local credentials and takes the peer's new ufrag", () => {
    const session = newSession('old');
    const { localUfrag, localPassword } = session;
    assert.match(localUfrag, /^demo\/[0-9a-f]{24}$/);
    assert.equal(session.restartIce('new'), localUfrag);
    assert.notEqual(session.localUfrag, localUfrag);
    assert.notEqual(session.localPassword, localPassword);
    assert.equal(session.remoteUfrag, 'new');
    session.close('deleted');
  });

  it('close records why it failed, once: a later close changes nothing', () => {
    const session = newSession('peer');
    const reasons: string[] = [];
    session.on('closed', (reason) => void reasons.push(reason));
    session.close('dtls-timeout', 'DTLS did not complete within 10 s of the first verified check');
    session.close('deleted', 'something else');
    assert.ok(session.closed);
    assert.equal(session.state, 'closed');
    assert.deepEqual(reasons, ['dtls-timeout']);
    assert.equal(session.failure, 'DTLS did not complete within 10 s of the first verified check');
    const quiet = newSession('peer');
    quiet.close('deleted');
    assert.equal(quiet.failure, undefined);
  });

  it("tells 'path' when the address its packets go to changes (not on every check), and when it loses it", () => {
    const session = newSession('peer');
    const paths: unknown[] = [];
    session.on('path', (to) => void paths.push(to));
    session.onVerifiedCheck(from, false, 'peer', 1000);
    session.onVerifiedCheck(from, false, 'peer', 1500);
    const viaLoopback = { ...from, local: '127.0.0.1' };
    session.onVerifiedCheck(viaLoopback, true, 'peer', 2000);
    const other = { address: '127.0.0.1', port: 6000 };
    session.onVerifiedCheck(other, false, 'peer', 2500); // a check on another pair, not nominated: the path stays
    session.onVerifiedCheck(other, true, 'peer', 3000);
    session.forgetAddress(other);
    assert.deepEqual(paths, [from, viaLoopback, other, undefined]);
    session.close('deleted');
  });

  it('counts what an outbound meter sent for it beside its own datagrams, and has no outbound keys before DTLS', () => {
    const session = newSession('peer');
    assert.equal(session.outboundKeys, undefined);
    let sent = { packets: 3, bytes: 3_000 };
    session.addOutboundMeter(() => sent);
    assert.equal(session.counters.packetsOut, 3);
    sent = { packets: 5, bytes: 5_500 };
    assert.deepEqual([session.counters.packetsOut, session.counters.bytesOut], [5, 5_500]);
    session.close('deleted');
    assert.equal(session.outboundKeys, undefined);
  });
});
