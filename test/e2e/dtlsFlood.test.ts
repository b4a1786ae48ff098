// DTLS floods from one anonymous WHEP session of the attacker's own (one verified STUN
// check binds its socket), against a forked server (test/load/attack.ts, which `npm run
// bench -- --attack` prints in full) while a viewer in another room watches a stream.
// Before the handshake guard, werift kept every zero-length fragment (the heap grew by
// ~102 MB per 5.9 MB sent) and generated an ECDHE key pair for every replayed
// ClientHello (the victim fell from 115 to 69 packets/s at 2 500/s).
import assert from 'node:assert/strict';
import { clientHelloFlood, fragmentFlood, startTarget, type AttackResult, type Target } from '../load/attack';

const MB = 1024 * 1024;

/**
 * The victim kept ≥ 95 % of its packet rate in `during` compared with `before`: its rate
 * as a share of what its publisher sent in the same window (a client process short of
 * CPU slows both alike), and no more packets lost (RTP sequence numbers).
 */
function assertVictimKept(r: AttackResult, during: AttackResult['during']): void {
  // Above 1 is catching up after a stall (the heap probe's full GC), not a higher rate.
  const share = (w: AttackResult['during']): number => Math.min(1, w.victimPps / w.publishedPps);
  assert.ok(
    share(during) >= 0.95 * share(r.before),
    `the victim received ${during.victimPps.toFixed(0)} of ${during.publishedPps.toFixed(0)} packets/s, against ${r.before.victimPps.toFixed(0)} of ${r.before.publishedPps.toFixed(0)} before`,
  );
  assert.ok(
    during.victimDelivery >= 0.95 * r.before.victimDelivery,
    `the victim got ${(during.victimDelivery * 100).toFixed(0)} % of its packets, ${(r.before.victimDelivery * 100).toFixed(0)} % before`,
  );
}

function report(r: AttackResult): void {
  const w = (name: string, x: AttackResult['before']): string =>
    `${name} ${x.victimPps.toFixed(0)} of ${x.publishedPps.toFixed(0)} pkt/s (${(x.victimDelivery * 100).toFixed(0)} % delivered), server CPU ${x.serverCpuPercent.toFixed(0)} %`;
  console.log(`      ${r.attack}: sent in ${r.sendSeconds.toFixed(1)} s; victim ${w('before', r.before)}; ${w('during', r.during)}; ${w('after', r.after)}`);
  console.log(`      heap after GC ${(r.heapBefore / MB).toFixed(1)} → ${(r.heapAfter / MB).toFixed(1)} MB; counters ${JSON.stringify(r.counters)}`);
}

describe('DTLS floods from one anonymous session', function () {
  this.timeout(180_000);
  let target: Target;

  beforeEach(async () => {
    target = await startTarget();
  });

  afterEach(async () => {
    await target?.stop();
  });

  it('100 000 datagrams of zero-length handshake fragments: the session is closed (dtls-failed, counted), the heap stays flat, the victim keeps receiving', async () => {
    const r = await fragmentFlood(target, { datagrams: 100_000, rate: 10_000 });
    report(r);
    assert.ok(r.heapAfter - r.heapBefore < 20 * MB, `the heap grew ${((r.heapAfter - r.heapBefore) / MB).toFixed(1)} MB`);
    assert.ok(r.abuserClosed, "the abuser's session is gone");
    assert.equal(r.counters['onecast_sessions_closed_total{reason="dtls-failed"}'], 1);
    assert.equal(r.counters['onecast_datagrams_dropped_total{reason="dtls-over-limit"}'], 1, 'its first datagram closed it');
    assertVictimKept(r, r.during);
    assertVictimKept(r, r.after);
  });

  it('a ClientHello replayed 12 500 times at 2 500/s: the victim keeps ≥ 95 % of its packet rate, the abuser is closed, the server CPU stays bounded', async () => {
    const r = await clientHelloFlood(target, { datagrams: 12_500, rate: 2_500 });
    report(r);
    assertVictimKept(r, r.during);
    assert.ok(r.abuserClosed, "the abuser's session is gone");
    assert.equal(r.counters['onecast_sessions_closed_total{reason="dtls-failed"}'], 1);
    assert.equal(r.counters['onecast_datagrams_dropped_total{reason="dtls-over-limit"}'], 1);
    // werift's key pairs alone would take 2 500 × ~0.7 ms = 175 % of a core.
    assert.ok(
      r.during.serverCpuPercent < r.before.serverCpuPercent + 25,
      `server CPU ${r.during.serverCpuPercent.toFixed(0)} % during the flood, ${r.before.serverCpuPercent.toFixed(0)} % before`,
    );
  });
});
