// `npm run bench -- soak`: onecast at scale on its one UDP port, in two parts.
//
// concurrent: R rooms × (1 publisher + V viewers) connected at the same time, every one
//   doing real ICE (checks with MESSAGE-INTEGRITY), DTLS and SRTP (LiteClient). Checked
//   through GET /api/rooms and the server's own counts, the server's UDP sockets (/proc),
//   and packets every viewer receives (and decrypts) while all are connected. Reports the
//   time to connect them all, and the server's CPU and RSS.
// cycles: N WHIP/WHEP join/leave cycles of the kinds CycleKind lists (full ICE+DTLS then
//   DELETE, DELETE in the middle of the DTLS handshake, POST then DELETE, sessions
//   abandoned without DELETE and left to a short consent timeout, recorded publishes)
//   against a server with streaming publishers, then checks that every session, map
//   entry, ffmpeg and timer is gone and reports the heap (after GC) before and after.
// A failed connect is printed with the server's log lines about its session.
//
// The server is forked (test/support/soakServer.ts) so that its CPU, RSS, heap and timers are
// its own; the clients run in this process. test/e2e/scale.test.ts runs short versions.
//
//   npm run bench -- soak [--rooms 10] [--viewers 99] [--pps 10] [--cycles 10000]
//                         [--concurrency 16] [--consent-ms 5000] [--only concurrent|cycles]
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { udpSocketsOf } from '../support/process';
import { LiteClient, type LiteClientOptions } from '../clients/lite';
import { cpuSeconds, percentile, rssBytes } from './measure';
import { heldEntries, type ServerProbe } from '../support/serverProbe';
import { forkSoakServer, type SoakServer } from '../support/soakServer';
import { RtpWriter, createSource, type SyntheticSource } from '../clients/syntheticMedia';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

/** Runs `work` on 0..count-1 with at most `limit` at a time. */
export async function pool(count: number, limit: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/** Polls the server until `done` holds for its probe; the last probe either way. */
async function settle(server: SoakServer, done: (p: ServerProbe) => boolean, timeoutMs: number): Promise<{ probe: ServerProbe; ms: number; settled: boolean }> {
  const start = performance.now();
  for (;;) {
    const probe = await server.probe();
    const ms = performance.now() - start;
    if (done(probe)) return { probe, ms, settled: true };
    if (ms > timeoutMs) return { probe, ms, settled: false };
    await sleep(500);
  }
}

const allEmpty = (p: ServerProbe): boolean => Object.values(heldEntries(p)).every((n) => n === 0);

/** Each failure, followed by the server's log lines about the session it names (if any). */
function withServerSide(failures: readonly string[], serverLog: string): string[] {
  const lines = serverLog.split('\n');
  return failures.map((failure) => {
    const id = /\/(?:whip|whep)\/[^/\s]+\/([0-9a-f]{32})/.exec(failure)?.[1];
    const about = id === undefined ? [] : lines.filter((l) => l.includes(id));
    return [failure, ...about.map((l) => `    server: ${l}`)].join('\n');
  });
}

// ---------------------------------------------------------------------------------------------
// Part 1: many sessions at once

export interface ConcurrentOptions {
  rooms: number;
  viewersPerRoom: number;
  /** Audio packets per second each publisher sends (each goes to all its room's viewers). */
  pps: number;
  /** Connects in flight at once (all of them stay connected). */
  connectConcurrency: number;
  /** How long every viewer's reception is watched once all are connected. */
  windowMs: number;
  /** Per-connect limit; a loaded machine needs more than LiteClient's 10 s default. */
  connectTimeoutMs: number;
}

export interface ConcurrentResult {
  sessions: number;
  connected: number;
  failures: string[];
  /** First POST to the last session's SRTP being keyed. */
  connectAllMs: number;
  connectP50Ms: number;
  connectP95Ms: number;
  /** Sessions the server reports: GET /api/rooms (viewers + live publishers), and its engine. */
  apiSessions: number;
  liveRooms: number;
  engineSessions: number;
  udpPort: number;
  /** The server process's UDP sockets (local ports, from /proc). */
  serverUdpSockets: number[];
  viewers: number;
  /** Viewers that received packets during the window, and whose first one decrypted. */
  viewersReceiving: number;
  viewersDecrypting: number;
  minPacketsPerViewer: number;
  packetsForwarded: number;
  serverCpuConnectS: number;
  /** Server CPU during the window, in percent of one core. */
  serverCpuWindowPercent: number;
  serverRssMb: number;
  serverHeapMb: number;
  /** Engine sessions once every client DELETEd. */
  sessionsAfterClose: number;
}

export async function runConcurrent(o: ConcurrentOptions): Promise<ConcurrentResult> {
  const server = await forkSoakServer({});
  const publishers: LiteClient[] = [];
  const viewers: LiteClient[] = [];
  let ticker: NodeJS.Timeout | undefined;
  try {
    const options = (role: LiteClientOptions['role'], room: number): LiteClientOptions => ({
      url: `${server.base}/${role === 'publish' ? 'whip' : 'whep'}/soak${room}`,
      role,
      timeoutMs: o.connectTimeoutMs,
    });
    const failures: string[] = [];
    const connectMs: number[] = [];
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    await pool(o.rooms, o.connectConcurrency, async (r) => {
      const p = await LiteClient.connect(options('publish', r));
      connectMs.push(p.timings.dtlsMs);
      publishers[r] = p;
    });
    // Audio-like packets at a low rate: the point is that every session carries media, not bandwidth.
    const writers = publishers.map((p) => new RtpWriter(111, p.audioSsrc));
    let tick = 0;
    ticker = setInterval(() => {
      tick++;
      publishers.forEach((p, i) => p.sendRtp(writers[i]!.packet(tick * 960, false, 160).fill(0xfc, 12)));
    }, 1000 / o.pps);
    await pool(o.rooms * o.viewersPerRoom, o.connectConcurrency, async (i) => {
      try {
        const v = await LiteClient.connect(options('play', i % o.rooms));
        connectMs.push(v.timings.dtlsMs);
        viewers.push(v);
      } catch (error) {
        failures.push((error as Error).message);
      }
    });
    const connectAllMs = performance.now() - t0;
    const serverCpuConnectS = cpuSeconds(server.pid) - cpu0;

    // All connected: what the server says, then what every viewer receives.
    const rooms = (await (await fetch(`${server.base}/api/rooms`)).json()) as { live: boolean; viewers: number }[];
    const apiSessions = rooms.reduce((n, r) => n + r.viewers + (r.live ? 1 : 0), 0);
    const engineSessions = (await server.probe()).engineSessions;
    const serverUdpSockets = udpSocketsOf(server.pid);
    const before = viewers.map((v) => v.counters.rtpPackets);
    const decrypted = new Set<LiteClient>();
    for (const v of viewers) {
      v.onRtp = (packet) => {
        v.onRtp = undefined;
        if (v.decryptRtp(packet) !== undefined) decrypted.add(v);
      };
    }
    const cpu1 = cpuSeconds(server.pid);
    await sleep(o.windowMs);
    const cpu2 = cpuSeconds(server.pid);
    const got = viewers.map((v, i) => v.counters.rtpPackets - before[i]!);
    const serverRssMb = rssBytes(server.pid) / MB;
    const serverHeapMb = (await server.probe()).heapUsed / MB;
    clearInterval(ticker);

    const everyone = [...viewers, ...publishers];
    await pool(everyone.length, o.connectConcurrency, (i) => everyone[i]!.close());
    const after = await settle(server, (p) => p.engineSessions === 0, 10_000);
    const sorted = connectMs.sort((a, b) => a - b);
    return {
      sessions: o.rooms * (1 + o.viewersPerRoom),
      connected: publishers.length + viewers.length,
      failures: withServerSide(failures, server.output()),
      connectAllMs,
      connectP50Ms: percentile(sorted, 50),
      connectP95Ms: percentile(sorted, 95),
      apiSessions,
      liveRooms: rooms.filter((r) => r.live).length,
      engineSessions,
      udpPort: server.udpPort,
      serverUdpSockets,
      viewers: viewers.length,
      viewersReceiving: got.filter((n) => n > 0).length,
      viewersDecrypting: decrypted.size,
      minPacketsPerViewer: Math.min(...got),
      packetsForwarded: got.reduce((a, b) => a + b, 0),
      serverCpuConnectS,
      serverCpuWindowPercent: ((cpu2 - cpu1) / (o.windowMs / 1000)) * 100,
      serverRssMb,
      serverHeapMb,
      sessionsAfterClose: after.probe.engineSessions,
    };
  } finally {
    clearInterval(ticker);
    await Promise.all([...viewers, ...publishers].map((c) => c.close(false).catch(() => {})));
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Part 2: join/leave cycles

/**
 * What one cycle does. `view`/`publish`: full ICE + DTLS + media, then DELETE.
 * `view-halfway`: ICE, then DELETE in the middle of the DTLS handshake.
 * `*-post`: the POST only, then DELETE. `*-abandon`: no DELETE; consent expiry ends it.
 * `publish-record`: `publish` with ?record=1 and a second of media (ffmpeg runs).
 */
export type CycleKind =
  | 'view'
  | 'publish'
  | 'publish-record'
  | 'view-halfway'
  | 'whep-post'
  | 'whip-post'
  | 'view-abandon'
  | 'publish-abandon'
  | 'whep-post-abandon'
  | 'whip-post-abandon';

/** One round of 20 cycles: 12 with full ICE+DTLS, 2 that leave mid-handshake, 6 with a POST only; 4 of the 20 abandoned. */
const ROUND: readonly CycleKind[] = [
  'view',
  'publish',
  'whep-post',
  'view',
  'whip-post',
  'view-halfway',
  'view',
  'publish',
  'view-abandon',
  'whep-post',
  'view',
  'publish-abandon',
  'whip-post',
  'view',
  'view-halfway',
  'publish',
  'whep-post-abandon',
  'view',
  'whip-post-abandon',
  'view',
];

/** Every 100th cycle records (ffmpeg costs too much CPU for more on a small machine). */
export function cycleKind(i: number): CycleKind {
  return i % 100 === 99 ? 'publish-record' : ROUND[i % ROUND.length]!;
}

export function isFullCycle(kind: CycleKind): boolean {
  return kind === 'view' || kind === 'publish' || kind === 'publish-record' || kind === 'view-abandon' || kind === 'publish-abandon';
}

export interface CyclesOptions {
  cycles: number;
  concurrency: number;
  /** The server's consent timeout: how soon abandoned sessions end. Over LiteClient's 2.5 s consent interval. */
  consentMs: number;
  /** Rooms with a streaming publisher that viewers join. */
  anchors: number;
  /** Cycles run (and settled) before the baseline is taken: JIT, pools, lazy module state. */
  warmup: number;
  connectTimeoutMs: number;
}

export interface CyclesResult {
  cycles: number;
  byKind: Record<CycleKind, number>;
  fullIceDtls: number;
  /** Viewers (view cycles) that received media before they left. */
  viewersWithMedia: number;
  /** publish-record cycles, warm-up included, and their playlists that end with #EXT-X-ENDLIST. */
  recordingCycles: number;
  recordingsFinalized: number;
  failures: string[];
  seconds: number;
  cyclesPerSecond: number;
  /** Before any session, after the warm-up, and once everything settled after the cycles. */
  initial: ServerProbe;
  baseline: ServerProbe;
  final: ServerProbe;
  /** Whether the final state was reached (maps empty, timers back to baseline), and how long it took. */
  settled: boolean;
  settleMs: number;
}

interface Anchor {
  client: LiteClient;
  source: SyntheticSource;
}

/** Low-rate video with a keyframe a second, streamed from `client` until stop(): joining viewers start on the cached group at once. */
export function streamFrom(client: LiteClient): SyntheticSource {
  const source = createSource({ videoSsrc: client.videoSsrc, audioSsrc: client.audioSsrc, videoKbps: 300, fps: 15, keyframeIntervalFrames: 15 });
  source.start((packet) => client.sendRtp(packet));
  return source;
}

async function startAnchors(base: string, n: number, timeoutMs: number): Promise<Anchor[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const client = await LiteClient.connect({ url: `${base}/whip/anchor${i}`, role: 'publish', timeoutMs });
      return { client, source: streamFrom(client) };
    }),
  );
}

async function stopAnchors(anchors: Anchor[]): Promise<void> {
  for (const a of anchors) a.source.stop();
  await Promise.all(anchors.map((a) => a.client.close()));
}

/** Starting a recording (?record=1) needs the admin key; the soak server is given this one. */
const SOAK_ADMIN_TOKEN = 'soak-admin';

/** One cycle against `base`; throws with a sentence on anything that did not go as it should. */
async function cycle(base: string, i: number, kind: CycleKind, anchors: number, timeoutMs: number): Promise<{ media: boolean }> {
  const publish = kind.startsWith('publish') || kind.startsWith('whip');
  const options: LiteClientOptions = publish
    ? {
        url: `${base}/whip/cycle${i}${kind === 'publish-record' ? '?record=1' : ''}`,
        role: 'publish',
        timeoutMs,
        ...(kind === 'publish-record' ? { token: SOAK_ADMIN_TOKEN } : {}),
      }
    : { url: `${base}/whep/anchor${i % anchors}`, role: 'play', timeoutMs };
  const client = isFullCycle(kind)
    ? await LiteClient.connect(options)
    : kind === 'view-halfway'
      ? await LiteClient.connectHalfway(options)
      : await LiteClient.signalOnly(options);
  let media = false;
  if (kind === 'view' || kind === 'view-abandon') {
    const deadline = performance.now() + 2_000;
    while (client.counters.rtpPackets === 0 && performance.now() < deadline) await sleep(20);
    media = client.counters.rtpPackets > 0;
  } else if (kind === 'publish-record') {
    const source = streamFrom(client);
    await sleep(1_000);
    source.stop();
  } else if (kind === 'publish' || kind === 'publish-abandon') {
    // A keyframe and a few frames: the room's track gets its packet cache filled.
    const source = createSource({ videoSsrc: client.videoSsrc, audioSsrc: client.audioSsrc, videoKbps: 300, fps: 15 });
    for (const packet of source.next(0).concat(source.next(200))) client.sendRtp(packet);
  }
  const abandon = kind.endsWith('abandon');
  await client.close(!abandon);
  if (!abandon && client.deleteStatus !== 200) throw new Error(`${kind}: DELETE answered ${client.deleteStatus ?? 'nothing'}`);
  return { media };
}

interface Tally {
  byKind: Record<CycleKind, number>;
  fullIceDtls: number;
  viewersWithMedia: number;
  failures: string[];
}

/** Playlists under `dir` (room/id/index.m3u8) that end with #EXT-X-ENDLIST. */
function finalizedPlaylists(dir: string): number {
  let n = 0;
  for (const room of readdirSync(dir)) {
    for (const id of readdirSync(path.join(dir, room))) {
      const playlist = path.join(dir, room, id, 'index.m3u8');
      if (existsSync(playlist) && /#EXT-X-ENDLIST\s*$/.test(readFileSync(playlist, 'utf8'))) n++;
    }
  }
  return n;
}

export async function runCycles(o: CyclesOptions): Promise<CyclesResult> {
  const recordings = mkdtempSync(path.join(os.tmpdir(), 'onecast-soak-'));
  const server = await forkSoakServer({ SOAK_CONSENT_TIMEOUT_MS: String(o.consentMs), RECORDINGS_DIR: recordings, ADMIN_TOKEN: SOAK_ADMIN_TOKEN });
  try {
    const initial = await server.probe();
    /** Cycles from..from+count-1 against the server, with anchors streaming throughout. */
    const run = async (from: number, count: number): Promise<Tally> => {
      const tally: Tally = {
        byKind: Object.fromEntries([...ROUND, 'publish-record'].map((k) => [k, 0])) as Record<CycleKind, number>,
        fullIceDtls: 0,
        viewersWithMedia: 0,
        failures: [],
      };
      const anchors = await startAnchors(server.base, o.anchors, o.connectTimeoutMs);
      await sleep(1_100); // a keyframe group in every anchor's cache
      await pool(count, o.concurrency, async (k) => {
        const i = from + k;
        const kind = cycleKind(i);
        try {
          const { media } = await cycle(server.base, i, kind, o.anchors, o.connectTimeoutMs);
          tally.byKind[kind]++;
          if (isFullCycle(kind)) tally.fullIceDtls++;
          if (media) tally.viewersWithMedia++;
        } catch (error) {
          tally.failures.push(`cycle ${i} (${kind}): ${(error as Error).message}`);
        }
      });
      await stopAnchors(anchors);
      return tally;
    };
    // Consent expiry, then at most one of werift's DTLS retransmission waits (≤ 5.5 s) and
    // HTTP keep-alive (5 s); whatever lasts longer is held too long.
    const settleMs = o.consentMs + 15_000;

    const warmup = await run(0, o.warmup);
    // Idle: nothing held, no timer keeping the event loop alive, the timer count the same for 2 s.
    let previous = -1;
    let same = 0;
    const warm = await settle(
      server,
      (p) => {
        same = p.liveTimers === previous ? same + 1 : 0;
        previous = p.liveTimers;
        return allEmpty(p) && p.refTimers === 0 && same >= 4;
      },
      settleMs,
    );
    const baseline = warm.probe;

    const t0 = performance.now();
    const tally = await run(o.warmup, o.cycles);
    const seconds = (performance.now() - t0) / 1000;
    const end = await settle(server, (p) => allEmpty(p) && p.refTimers === 0 && p.liveTimers <= baseline.liveTimers, settleMs);
    return {
      cycles: o.cycles,
      ...tally,
      failures: withServerSide([...warmup.failures.map((f) => `warm-up ${f}`), ...tally.failures], server.output()),
      seconds,
      cyclesPerSecond: o.cycles / seconds,
      initial,
      baseline,
      final: end.probe,
      settled: warm.settled && end.settled,
      settleMs: end.ms,
      recordingCycles: Array.from({ length: o.warmup + o.cycles }, (_, i) => cycleKind(i)).filter((k) => k === 'publish-record').length,
      recordingsFinalized: finalizedPlaylists(recordings),
    };
  } finally {
    await server.stop();
    rmSync(recordings, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// `npm run bench -- soak`

interface SoakArgs {
  concurrent: ConcurrentOptions;
  cycles: CyclesOptions;
  only: 'concurrent' | 'cycles' | undefined;
}

function parseArgs(argv: readonly string[]): SoakArgs {
  const a: SoakArgs = {
    concurrent: { rooms: 10, viewersPerRoom: 99, pps: 10, connectConcurrency: 32, windowMs: 5_000, connectTimeoutMs: 30_000 },
    cycles: { cycles: 10_000, concurrency: 16, consentMs: 5_000, anchors: 4, warmup: 100, connectTimeoutMs: 30_000 },
    only: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=') as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const n = Number(value);
    if (flag === '--only') {
      if (value !== 'concurrent' && value !== 'cycles') throw new Error('--only takes concurrent or cycles');
      a.only = value;
      continue;
    }
    if (!(Number.isInteger(n) && n > 0)) throw new Error(`${flag} needs a positive whole number, got "${value}"`);
    if (flag === '--rooms') a.concurrent.rooms = n;
    else if (flag === '--viewers') a.concurrent.viewersPerRoom = n;
    else if (flag === '--pps') a.concurrent.pps = n;
    else if (flag === '--cycles') a.cycles.cycles = n;
    else if (flag === '--concurrency') a.cycles.concurrency = n;
    else if (flag === '--consent-ms') a.cycles.consentMs = n;
    else throw new Error(`unknown option ${flag}`);
  }
  return a;
}

const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

function printConcurrent(r: ConcurrentResult, o: ConcurrentOptions): void {
  console.log(
    `concurrent: ${o.rooms} rooms × (1 publisher + ${o.viewersPerRoom} viewers) = ${r.sessions} sessions, each ICE + DTLS + SRTP; publishers send ${o.pps} audio packets/s`,
  );
  console.log(`  connected          ${r.connected} / ${r.sessions}${r.failures.length > 0 ? ` — ${r.failures.length} failed:` : ''}`);
  for (const f of r.failures.slice(0, 5)) console.log(`    ${f}`);
  console.log(
    `  time to connect all ${(r.connectAllMs / 1000).toFixed(1)} s (${o.connectConcurrency} connects in flight); per session p50 ${Math.round(r.connectP50Ms)} ms, p95 ${Math.round(r.connectP95Ms)} ms`,
  );
  console.log(`  server says        ${r.apiSessions} sessions in GET /api/rooms (${r.liveRooms} live rooms), ${r.engineSessions} in its engine`);
  console.log(`  server UDP sockets ${JSON.stringify(r.serverUdpSockets)} (UDP_PORT ${r.udpPort})`);
  console.log(
    `  viewers receiving  ${r.viewersReceiving} / ${r.viewers} in ${o.windowMs / 1000} s (first packet decrypted: ${r.viewersDecrypting}); min ${r.minPacketsPerViewer} packets, ${r.packetsForwarded} in all`,
  );
  console.log(
    `  server CPU         ${r.serverCpuConnectS.toFixed(1)} s to connect them all; ${r.serverCpuWindowPercent.toFixed(0)} % of a core while all were connected`,
  );
  console.log(`  server memory      RSS ${r.serverRssMb.toFixed(0)} MB, heap ${r.serverHeapMb.toFixed(0)} MB (after GC) with all connected`);
  console.log(`  after DELETE       ${r.sessionsAfterClose} sessions`);
}

function printCycles(r: CyclesResult, o: CyclesOptions): void {
  const kinds = Object.entries(r.byKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  console.log(
    `cycles: ${r.cycles} WHIP/WHEP join/leave cycles, ${o.concurrency} at a time, consent timeout ${o.consentMs} ms, ${o.anchors} streaming publishers to view`,
  );
  console.log(`  kinds              ${kinds}`);
  console.log(`  full ICE+DTLS      ${r.fullIceDtls}; viewers that got media before leaving ${r.viewersWithMedia}`);
  console.log(`  recordings         ${r.recordingsFinalized} of ${r.recordingCycles} (warm-up included) finalized: index.m3u8 ends with #EXT-X-ENDLIST`);
  console.log(`  failed             ${r.failures.length}`);
  for (const f of r.failures.slice(0, 5)) console.log(`    ${f}`);
  console.log(`  rate               ${r.cyclesPerSecond.toFixed(1)} cycles/s (${r.seconds.toFixed(0)} s)`);
  console.log(
    `  heap after GC      ${mb(r.initial.heapUsed)} at start, ${mb(r.baseline.heapUsed)} after ${o.warmup} warm-up cycles, ${mb(r.final.heapUsed)} at the end: ${r.final.heapUsed - r.baseline.heapUsed >= 0 ? '+' : ''}${mb(r.final.heapUsed - r.baseline.heapUsed)}`,
  );
  console.log(`  RSS                ${mb(r.baseline.rss)} → ${mb(r.final.rss)}`);
  console.log(`  timers             ${r.baseline.liveTimers} live (${r.baseline.refTimers} ref'd) before → ${r.final.liveTimers} (${r.final.refTimers}) after`);
  console.log(`  maps after         ${JSON.stringify(heldEntries(r.final))}`);
  console.log(
    `  settled            ${r.settled ? `yes, ${(r.settleMs / 1000).toFixed(1)} s after the last cycle` : `NO, after ${(r.settleMs / 1000).toFixed(0)} s`}`,
  );
}

export async function soak(argv: readonly string[]): Promise<void> {
  const a = parseArgs(argv);
  const cpu = os.cpus();
  console.log(
    `onecast soak — ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log('server (forked, its own process) and every client (this process) share the machine, over loopback\n');
  let ok = true;
  if (a.only !== 'cycles') {
    const r = await runConcurrent(a.concurrent);
    printConcurrent(r, a.concurrent);
    ok &&= r.failures.length === 0 && r.apiSessions === r.sessions && r.viewersReceiving === r.viewers && r.serverUdpSockets.length === 1;
    console.log('');
  }
  if (a.only !== 'concurrent') {
    const r = await runCycles(a.cycles);
    printCycles(r, a.cycles);
    ok &&= r.failures.length === 0 && r.settled && r.final.heapUsed - r.baseline.heapUsed < 50 * MB;
  }
  console.log(
    `\nload average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  if (!ok) process.exitCode = 1;
}
