// Scale on the one UDP port: short versions of `npm run bench -- soak` (test/load/soak.ts,
// which has the full runs and prints the figures). The server is forked so that its
// sockets, heap and timers are its own; every client does real ICE, DTLS and SRTP.
import assert from 'node:assert/strict';
import { runConcurrent, runCycles } from '../load/soak';
import { heldEntries } from '../support/serverProbe';

const MB = 1024 * 1024;

describe('scale on one UDP port', function () {
  this.timeout(240_000);

  it('carries 200 sessions at once (2 rooms × 1 publisher + 99 viewers) through one UDP socket, every viewer receiving', async () => {
    const r = await runConcurrent({ rooms: 2, viewersPerRoom: 99, pps: 10, connectConcurrency: 16, windowMs: 3_000, connectTimeoutMs: 30_000 });
    console.log(
      `      ${r.connected} connected in ${(r.connectAllMs / 1000).toFixed(1)} s (p95 ${Math.round(r.connectP95Ms)} ms); server: ${r.serverCpuConnectS.toFixed(1)} CPU-s to connect, ` +
        `${r.serverCpuWindowPercent.toFixed(0)} % of a core connected, RSS ${r.serverRssMb.toFixed(0)} MB; min ${r.minPacketsPerViewer} packets per viewer in 3 s`,
    );
    assert.deepEqual(r.failures, []);
    assert.equal(r.connected, 200);
    assert.equal(r.apiSessions, 200, 'GET /api/rooms counts every viewer and both live publishers');
    assert.equal(r.liveRooms, 2);
    assert.equal(r.engineSessions, 200);
    assert.deepEqual(r.serverUdpSockets, [r.udpPort], 'the server holds exactly one UDP socket, on UDP_PORT');
    assert.equal(r.viewersReceiving, 198, 'every viewer received packets while all 200 were connected');
    assert.equal(r.viewersDecrypting, 198, "every viewer's packets decrypt with its own SRTP keys");
    assert.equal(r.sessionsAfterClose, 0);
  });

  it('leaves no session, map entry, timer or ffmpeg behind after 500 join/leave cycles, and the heap where it was', async () => {
    // Consent 6 s: above LiteClient's 2.5 s consent checks with room for a busy event loop.
    const r = await runCycles({ cycles: 500, concurrency: 8, consentMs: 6_000, anchors: 2, warmup: 100, connectTimeoutMs: 30_000 });
    const growth = r.final.heapUsed - r.baseline.heapUsed;
    console.log(
      `      ${r.cycles} cycles (${r.fullIceDtls} with ICE+DTLS) at ${r.cyclesPerSecond.toFixed(1)}/s; heap ${(r.baseline.heapUsed / MB).toFixed(1)} → ${(r.final.heapUsed / MB).toFixed(1)} MB; ` +
        `timers ${r.baseline.liveTimers} → ${r.final.liveTimers}; settled ${(r.settleMs / 1000).toFixed(1)} s after the last cycle`,
    );
    assert.deepEqual(r.failures, []);
    assert.ok(r.fullIceDtls >= 250, `${r.fullIceDtls} of 500 cycles did full ICE + DTLS`);
    assert.equal(r.viewersWithMedia, r.byKind.view + r.byKind['view-abandon'], 'every connected viewer got media before it left');
    assert.equal(r.recordingsFinalized, r.recordingCycles, 'every recorded publish ended with #EXT-X-ENDLIST');
    assert.ok(
      r.settled,
      `the server did not settle: ${JSON.stringify(heldEntries(r.final))}, timers ${r.final.liveTimers} (baseline ${r.baseline.liveTimers})`,
    );
    assert.deepEqual(heldEntries(r.final), { engineSessions: 0, sfuSessions: 0, muxUfrags: 0, muxAddresses: 0, rooms: 0, recordings: 0, childProcesses: 0 });
    assert.equal(r.final.refTimers, 0, 'no timer keeps the idle server busy');
    assert.ok(r.final.liveTimers <= r.baseline.liveTimers, `timers ${r.final.liveTimers}, ${r.baseline.liveTimers} before the cycles`);
    assert.ok(growth < 10 * MB, `heap grew ${(growth / MB).toFixed(1)} MB over 500 cycles`);
  });
});
