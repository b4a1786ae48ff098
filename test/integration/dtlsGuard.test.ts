// What of a peer's DTLS reaches werift (src/engine/dtls/handshakeGuard.ts,
// helloVerify.ts): the guard's limits on hand-made records, the stateless cookie
// exchange on the wire of an in-memory DtlsEndpoint, and the handshake deadline of
// the engine over a real loopback socket.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createCertificate, type Certificate } from '../../src/engine/dtls/certificate';
import { DtlsEndpoint } from '../../src/engine/dtls/dtlsEndpoint';
import { HANDSHAKE_LIMITS, HandshakeGuard } from '../../src/engine/dtls/handshakeGuard';
import { clientHelloRecord, readClientHello } from '../../src/engine/dtls/helloVerify';
import { readFragments, readRecords } from '../../src/engine/dtls/records';
import { MediaEngine } from '../../src/engine/engine';
import { captureDtlsHandshake } from '../support/fuzz';
import { waitFor } from '../support/server';
import { stunMessage } from '../clients/stunMessage';

interface Fragment {
  type: number;
  length: number;
  seq?: number;
  offset?: number;
  body: Buffer;
}

/** One epoch-0 handshake record holding `fragments`. */
function record(fragments: Fragment[]): Buffer {
  const parts = fragments.map((f) => {
    const header = Buffer.alloc(12);
    header[0] = f.type;
    header.writeUIntBE(f.length, 1, 3);
    header.writeUInt16BE(f.seq ?? 0, 4);
    header.writeUIntBE(f.offset ?? 0, 6, 3);
    header.writeUIntBE(f.body.length, 9, 3);
    return Buffer.concat([header, f.body]);
  });
  const body = Buffer.concat(parts);
  const head = Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
  head.writeUInt16BE(body.length, 11);
  return Buffer.concat([head, body]);
}

const certificateMessage = (n: number, offset = 0): Fragment => ({ type: 11, length: 1000, offset, body: Buffer.alloc(n, 7) });

describe('DTLS handshake guard', function () {
  this.timeout(20_000);
  let handshake: Buffer[];
  let clientHello: Buffer;
  let certificate: Certificate;

  before(async () => {
    certificate = await createCertificate();
    handshake = await captureDtlsHandshake();
    clientHello = handshake[0]!;
  });

  it('refuses zero-length fragments of a non-empty message and messages over the size limit, at once', () => {
    const guard = new HandshakeGuard();
    assert.deepEqual(guard.inspect(record([{ type: 11, length: 1000, body: Buffer.alloc(0) }]), true), {
      kind: 'over-limit',
      why: 'an empty fragment of a non-empty handshake message',
    });
    assert.equal(guard.inspect(record([{ type: 11, length: HANDSHAKE_LIMITS.messageBytes + 1, body: Buffer.alloc(10) }]), true).kind, 'over-limit');
    // An empty message (ServerHelloDone-like) is not a fragment of anything.
    assert.equal(guard.inspect(record([{ type: 14, length: 0, body: Buffer.alloc(0) }]), true).kind, 'records');
  });

  it('drops records whose fragment headers lie about their lengths', () => {
    const guard = new HandshakeGuard();
    const lying = record([certificateMessage(100)]);
    lying.writeUIntBE(200, 13 + 9, 3); // fragment_length past the record
    assert.equal(guard.inspect(lying, true).kind, 'malformed');
    const pastMessage = record([certificateMessage(100, 950)]); // offset + length > message length
    assert.equal(guard.inspect(pastMessage, true).kind, 'malformed');
    assert.equal(guard.inspect(Buffer.concat([record([certificateMessage(10)]), Buffer.from([22, 0xfe])]), true).kind, 'malformed');
    assert.equal(readFragments(Buffer.alloc(11)), undefined);
    assert.equal(readRecords(Buffer.from([22, 0xfe, 0xfd])), undefined);
  });

  it('lets nothing but a ClientHello through before the cookie round trip', () => {
    const guard = new HandshakeGuard();
    assert.equal(guard.inspect(record([certificateMessage(100)]), false).kind, 'malformed');
    assert.equal(guard.inspect(clientHello, false).kind, 'client-hello');
    // A hello shares its datagram with nothing.
    assert.equal(guard.inspect(Buffer.concat([clientHello, record([certificateMessage(100)])]), true).kind, 'malformed');
  });

  it('bounds fragments of incomplete messages, duplicates and overlaps included', () => {
    const guard = new HandshakeGuard();
    for (let i = 0; i < HANDSHAKE_LIMITS.partialFragments; i++)
      assert.equal(guard.inspect(record([certificateMessage(10, i % 3)]), true).kind, 'records', `fragment ${i}`);
    assert.equal(guard.inspect(record([certificateMessage(10)]), true).kind, 'over-limit');
  });

  it('bounds the datagrams of handshake a session may send', () => {
    const guard = new HandshakeGuard();
    for (let i = 0; i < HANDSHAKE_LIMITS.handshakeDatagrams; i++) assert.equal(guard.inspect(clientHello, false).kind, 'client-hello');
    assert.equal(guard.inspect(clientHello, false).kind, 'over-limit');
  });

  it('puts a fragmented ClientHello together, whatever the order and overlaps of its fragments', () => {
    const body = readFragments(readRecords(clientHello)![0]!.body)![0]!.body;
    const guard = new HandshakeGuard();
    const part = (from: number, to: number): Buffer => record([{ type: 1, length: body.length, offset: from, body: body.subarray(from, to) }]);
    assert.equal(guard.inspect(part(60, body.length), false).kind, 'hello-fragment');
    assert.equal(guard.inspect(part(30, 70), false).kind, 'hello-fragment');
    const whole = guard.inspect(part(0, 40), false);
    assert.equal(whole.kind, 'client-hello');
    assert.ok(whole.kind === 'client-hello' && whole.hello.body.equals(body));
  });

  /** A DTLS server whose every datagram out is kept in `wire`. */
  const recordingEndpoint = (): { wire: Buffer[]; endpoint: DtlsEndpoint } => {
    const wire: Buffer[] = [];
    const endpoint = new DtlsEndpoint(
      certificate,
      [],
      (d) => wire.push(d),
      () => {},
      () => {},
    );
    return { wire, endpoint };
  };

  it('answers a ClientHello without a valid cookie with a HelloVerifyRequest only, one cookie per address', async () => {
    const { wire, endpoint } = recordingEndpoint();
    const cookieOf = (datagram: Buffer): string => {
      const [r] = readRecords(datagram)!;
      // The HelloVerifyRequest's record carries the hello's record sequence number (RFC 6347 §4.2.1).
      assert.ok(r!.sequence.equals(readRecords(clientHello)![0]!.sequence));
      const [f] = readFragments(r!.body)!;
      assert.equal(f!.msgType, 3, 'a HelloVerifyRequest');
      return f!.body.subarray(3).toString('hex');
    };
    try {
      for (let i = 0; i < 3; i++) assert.equal(endpoint.receive(clientHello, 'a:1'), 'accepted');
      endpoint.receive(clientHello, 'b:2');
      await new Promise((r) => setTimeout(r, 50));
      // Nothing else left: werift, which would have answered with a ServerHello flight, never saw a hello.
      assert.equal(wire.length, 4);
      const cookies = wire.map(cookieOf);
      assert.equal(new Set(cookies.slice(0, 3)).size, 1, 'the same cookie for the same hello from the same address');
      assert.notEqual(cookies[3], cookies[0], 'another address gets another cookie');
    } finally {
      endpoint.close();
    }
  });

  it("numbers its flight past every HelloVerifyRequest's record: a client's replay window would drop a record whose number it saw", async () => {
    // Chromium's ClientHello (~1.4 KB, a post-quantum key share) takes two records; when
    // its retransmission timer fires before our HelloVerifyRequest is read, the hello goes
    // again as records 2 and 3, and the second HelloVerifyRequest echoes record number 3
    // (RFC 6347 §4.2.1). Chromium ignores that request, but its anti-replay window (§4.1.2.6)
    // now holds 3 and drops any later record 3 of epoch 0, retransmissions included.
    const { wire, endpoint } = recordingEndpoint();
    const hello = readClientHello(readFragments(readRecords(clientHello)![0]!.body)![0]!.body)!;
    const numbered = (body: Buffer, sequence: number, messageSeq: number): Buffer => {
      const number = Buffer.alloc(6);
      number.writeUIntBE(sequence, 0, 6);
      return clientHelloRecord(body, number, messageSeq);
    };
    const sequenceOf = (record: { sequence: Buffer }): number => record.sequence.readUIntBE(0, 6);
    try {
      assert.equal(endpoint.receive(numbered(hello.body, 1, 0), 'a:1'), 'accepted');
      assert.equal(endpoint.receive(numbered(hello.body, 3, 0), 'a:1'), 'accepted');
      const seen = wire.flatMap((d) => readRecords(d)!.map(sequenceOf));
      assert.deepEqual(seen, [1, 3], "each HelloVerifyRequest carries its hello's record number");
      const cookie = readFragments(readRecords(wire[0]!)![0]!.body)![0]!.body.subarray(3);
      const withCookie = Buffer.concat([hello.body.subarray(0, hello.cookieStart), Buffer.from([cookie.length]), cookie, hello.body.subarray(hello.cookieEnd)]);
      wire.length = 0;
      assert.equal(endpoint.receive(numbered(withCookie, 5, 1), 'a:1'), 'accepted');
      const flight = await waitFor('the server flight up to ServerHelloDone', () => {
        const records = wire.flatMap((d) => readRecords(d)!);
        return records.some((r) => readFragments(r.body)?.[0]?.msgType === 14) ? records : undefined;
      });
      for (const r of flight) assert.ok(!seen.includes(sequenceOf(r)), `record ${sequenceOf(r)} of the flight reuses a number the client has seen`);
    } finally {
      endpoint.close();
    }
  });

  it('closes a session whose DTLS is not done in time after its first verified check (dtls-timeout, counted)', async () => {
    const engine = new MediaEngine({ bind: '127.0.0.1', udpPort: 0, certificate, handshakeTimeoutMs: 300 });
    const port = await engine.start();
    const socket = dgram.createSocket('udp4');
    try {
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
      const session = engine.createSession({ ufragPrefix: 'room', remoteUfrag: 'peer', remoteFingerprints: [] });
      const idle = engine.createSession({ ufragPrefix: 'room', remoteUfrag: 'peer', remoteFingerprints: [] });
      const closed = once(session, 'closed');
      socket.send(stunMessage({ username: `${session.localUfrag}:peer`, password: session.localPassword }), port, '127.0.0.1');
      await once(socket, 'message');
      const started = Date.now();
      const [reason] = await closed;
      assert.equal(reason, 'dtls-timeout');
      assert.ok(Date.now() - started >= 250, 'not before its deadline');
      assert.equal(engine.closedByReason.get('dtls-timeout'), 1);
      assert.equal(engine.mux.boundAddressCount, 0);
      // A session with no verified check has no handshake to wait for (consent expiry ends it).
      assert.equal(idle.closed, false);
    } finally {
      socket.close();
      await engine.close();
    }
  });
});
