// Who gets a session: the limits of src/sfu/admission.ts over real engine sessions,
// which leave the counts when they connect (pending) or close, and the problem
// response each refusal becomes (src/http/signalingProblems.ts).
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createCertificate } from '../../src/engine/dtls/certificate';
import { MediaEngine } from '../../src/engine/engine';
import { limitProblem } from '../../src/http/signalingProblems';
import { Admission, clientKey, type AdmissionLimits, type AdmissionRequest } from '../../src/sfu/admission';
import { stunMessage } from '../clients/stunMessage';

const NONE: AdmissionLimits = { maxPublishers: 0, maxViewers: 0, maxRoomViewers: 0, maxRelays: 0, maxSessions: 0, maxPending: 0, maxPendingPerAddress: 0 };

describe('admission', () => {
  let engine: MediaEngine;

  before(async () => {
    engine = new MediaEngine({ bind: '127.0.0.1', udpPort: 0, certificate: await createCertificate() });
    await engine.start();
  });

  after(() => engine.close());

  /** The problem response the request would get now, or undefined when it would be admitted. */
  function refused(admission: Admission, request: AdmissionRequest) {
    const refusal = admission.check(request);
    return refusal === undefined ? undefined : limitProblem(refusal);
  }

  function admitted(admission: Admission, request: AdmissionRequest) {
    const refusal = refused(admission, request);
    if (refusal !== undefined) return refusal;
    const session = engine.createSession({ ufragPrefix: request.room, remoteUfrag: 'peer', remoteFingerprints: [] });
    admission.admit(session, request);
    return session;
  }

  const view = (client: string, room = 'r'): AdmissionRequest => ({ kind: 'play', room, client, trusted: false });
  const publish = (client: string, trusted: boolean, room = 'p'): AdmissionRequest => ({ kind: 'publish', room, client, trusted });

  it('counts IPv4 clients by address and IPv6 clients by /64', () => {
    assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(clientKey('2001:db8:1:2:aaaa::1'), clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
    assert.equal(clientKey('2001:db8::5:6:7:8:9'), '2001:db8:0:5::/64');
  });

  it('holds pending sessions per address (429) and in total (503) until they connect or close; trusted publishers are not pending', () => {
    const admission = new Admission({ ...NONE, maxPending: 3, maxPendingPerAddress: 2 });
    const a1 = admitted(admission, view('192.0.2.1'));
    const a2 = admitted(admission, view('192.0.2.1'));
    const a3 = refused(admission, view('192.0.2.1'));
    assert.equal(a3?.status, 429);
    assert.match(a3!.detail, /MAX_PENDING_PER_ADDRESS/);
    assert.ok(!('status' in a1) && !('status' in a2));
    const b1 = admitted(admission, view('192.0.2.2'));
    assert.ok(!('status' in b1));
    const full = refused(admission, view('192.0.2.3'));
    assert.equal(full?.status, 503);
    assert.match(full!.detail, /MAX_PENDING limit/);
    assert.equal(refused(admission, publish('192.0.2.1', true)), undefined, 'a tokened publisher is no stranger');
    assert.equal(refused(admission, publish('192.0.2.1', false))?.status, 429, 'an anonymous one is');
    a1.close('deleted');
    assert.equal(admission.pendingCount, 2);
    assert.equal(refused(admission, view('192.0.2.1')), undefined, 'a closed session frees its place');
  });

  it('keeps a session pending after its verified check: it must finish DTLS too', async () => {
    const admission = new Admission({ ...NONE, maxPendingPerAddress: 1 });
    const s = admitted(admission, view('192.0.2.9'));
    assert.ok(!('status' in s));
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    sock.send(stunMessage({ username: `${s.localUfrag}:peer`, password: s.localPassword }), engine.mux.localPort, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 200));
    sock.close();
    assert.equal(s.state, 'ice-connected');
    assert.equal(refused(admission, view('192.0.2.9'))?.status, 429, 'ICE alone is not connected: DTLS must finish too');
    s.close('deleted');
    assert.equal(admission.pendingCount, 0);
  });

  it("keeps publishers and viewers apart: viewers cannot take publishers' places", () => {
    const admission = new Admission({ ...NONE, maxPublishers: 1, maxViewers: 2, maxRoomViewers: 1, maxSessions: 2 });
    const v1 = admitted(admission, view('192.0.2.1', 'one'));
    assert.ok(!('status' in v1));
    assert.match(refused(admission, view('192.0.2.2', 'one'))!.detail, /MAX_ROOM_VIEWERS/);
    const v2 = admitted(admission, view('192.0.2.2', 'two'));
    assert.ok(!('status' in v2));
    assert.match(refused(admission, view('192.0.2.3', 'three'))!.detail, /MAX_VIEWERS/);
    const p = admitted(admission, publish('192.0.2.4', true));
    assert.ok(!('status' in p), 'viewers at MAX_SESSIONS still leave the publisher its place');
    assert.match(refused(admission, publish('192.0.2.5', true))!.detail, /MAX_PUBLISHERS/);
    v2.close('deleted');
    assert.match(refused(admission, view('192.0.2.3', 'three'))!.detail, /MAX_SESSIONS/, 'MAX_SESSIONS counts publishers and viewers, and holds viewers');
    for (const s of [v1, p]) s.close('deleted');
    assert.equal(refused(admission, view('192.0.2.3', 'three')), undefined);
  });
});
