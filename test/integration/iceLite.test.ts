// The engine's ICE-lite responder over a real loopback socket: only verified
// checks are answered and bind addresses; rebinding needs a verified check too.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { parseMessage } from 'werift';
import { createCertificate, type Certificate } from '../../src/engine/dtls/certificate';
import { MediaEngine } from '../../src/engine/engine';
import type { Session } from '../../src/engine/session';
import { stunMessage } from '../clients/stunMessage';
import { waitFor } from '../support/server';

async function client(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** How long a check that must be answered may wait for its answer: a deadline that only fails the test. */
const ANSWERED_WITHIN_MS = 10_000;

/** Sends `packet` and waits up to `ms` for a reply (300 ms: the window in which none must come). */
async function exchange(socket: dgram.Socket, port: number, packet: Buffer, ms = 300): Promise<Buffer | undefined> {
  const reply = once(socket, 'message').then(([msg]) => msg as Buffer);
  socket.send(packet, port, '127.0.0.1');
  const timeout = new Promise<undefined>((r) => setTimeout(r, ms));
  return Promise.race([reply, timeout]);
}

describe('ICE-lite on the one UDP port', () => {
  let certificate: Certificate;
  let engine: MediaEngine;
  let port: number;
  let session: Session;
  const sockets: dgram.Socket[] = [];

  before(async () => {
    certificate = await createCertificate();
  });

  beforeEach(async () => {
    engine = new MediaEngine({ bind: '127.0.0.1', udpPort: 0, certificate, consentTimeoutMs: 400 });
    port = await engine.start();
    session = engine.createSession({ ufragPrefix: 'room', remoteUfrag: 'peer', remoteFingerprints: [] });
  });

  afterEach(async () => {
    await engine.close();
    for (const s of sockets.splice(0)) s.close();
  });

  async function newClient(): Promise<dgram.Socket> {
    const s = await client();
    sockets.push(s);
    return s;
  }

  it('answers and binds a check that verifies with the session password', async () => {
    const c = await newClient();
    const reply = await exchange(c, port, stunMessage({ username: `${session.localUfrag}:peer`, password: session.localPassword }), ANSWERED_WITHIN_MS);
    assert.ok(reply, 'a response came back');
    const response = parseMessage(reply, Buffer.from(session.localPassword));
    assert.ok(response, 'the response is signed with the session password');
    assert.deepEqual(response.getAttributeValue('XOR-MAPPED-ADDRESS'), ['127.0.0.1', c.address().port]);
    assert.equal(engine.mux.boundAddressCount, 1);
    assert.deepEqual(session.selectedAddress, { address: '127.0.0.1', port: c.address().port });
    assert.equal(session.state, 'ice-connected');
  });

  it('ignores a check for an unknown ufrag', async () => {
    const c = await newClient();
    const reply = await exchange(c, port, stunMessage({ username: 'room/0000:peer', password: session.localPassword }));
    assert.equal(reply, undefined);
    assert.equal(engine.mux.counters.dropped['stun-unknown-ufrag'], 1);
    assert.equal(engine.mux.boundAddressCount, 0);
  });

  it('ignores a check whose integrity does not verify, and binds nothing', async () => {
    const c = await newClient();
    const reply = await exchange(c, port, stunMessage({ username: `${session.localUfrag}:peer`, password: 'guessed-password-123456' }));
    assert.equal(reply, undefined);
    assert.equal(engine.mux.counters.dropped['stun-bad-integrity'], 1);
    assert.equal(engine.mux.boundAddressCount, 0);
    assert.equal(session.selectedAddress, undefined);
  });

  it('ignores a check with a bad fingerprint', async () => {
    const c = await newClient();
    const packet = stunMessage({ username: `${session.localUfrag}:peer`, password: session.localPassword });
    packet[packet.length - 1] ^= 1;
    assert.equal(await exchange(c, port, packet), undefined);
    assert.equal(engine.mux.counters.dropped['stun-bad-fingerprint'], 1);
  });

  it('moves the session to a new address only through a verified check (NAT rebinding)', async () => {
    const first = await newClient();
    const second = await newClient();
    const attacker = await newClient();
    assert.ok(
      await exchange(
        first,
        port,
        stunMessage({ username: `${session.localUfrag}:peer`, password: session.localPassword, useCandidate: true }),
        ANSWERED_WITHIN_MS,
      ),
    );
    // An unverified check from elsewhere changes nothing.
    assert.equal(
      await exchange(attacker, port, stunMessage({ username: `${session.localUfrag}:peer`, password: 'x'.repeat(24), useCandidate: true })),
      undefined,
    );
    assert.equal(session.selectedAddress?.port, first.address().port);
    // DTLS from an address that never verified is dropped and counted.
    attacker.send(Buffer.from([22, 0xfe, 0xfd, 0, 0]), port, '127.0.0.1');
    await waitFor('the datagram dropped', () => (engine.mux.counters.dropped['unbound-address'] >= 1 ? true : undefined), ANSWERED_WITHIN_MS, 5);
    assert.equal(engine.mux.counters.dropped['unbound-address'], 1);
    // A verified, nominated check from the new address moves the session there.
    assert.ok(
      await exchange(
        second,
        port,
        stunMessage({ username: `${session.localUfrag}:peer`, password: session.localPassword, useCandidate: true }),
        ANSWERED_WITHIN_MS,
      ),
    );
    assert.equal(session.selectedAddress?.port, second.address().port);
  });

  it('closes a session whose consent expires, and forgets its addresses', async () => {
    const c = await newClient();
    assert.ok(await exchange(c, port, stunMessage({ username: `${session.localUfrag}:peer`, password: session.localPassword }), ANSWERED_WITHIN_MS));
    const [reason] = await once(session, 'closed');
    assert.equal(reason, 'consent-expired');
    assert.equal(engine.sessionCount, 0);
    assert.equal(engine.mux.boundAddressCount, 0);
    assert.equal(await exchange(c, port, stunMessage({ username: `${session.localUfrag}:peer`, password: session.localPassword })), undefined);
  });
});
