// `npm run bench -- --attack`: what one anonymous client can do to onecast, measured.
// A forked server (test/support/soakServer.ts) carries a victim: a publisher streaming
// ~300 kbit/s of synthetic H.264 + audio to a viewer in room "victim". An abuser
// with one anonymous WHEP session of its own in room "bait" (one verified STUN
// check binds its socket) then runs, each bounded in count:
//   fragments:    datagrams of one record holding 98 zero-length handshake fragments
//                 (werift buffered every one: ~102 MB of heap per 5.9 MB sent);
//   client-hello: one captured ClientHello replayed at 2 500/s (werift generated an
//                 ECDHE key pair in JavaScript for each, 0.6-0.85 ms);
//   sessions:     8 concurrent loops of anonymous WHEP POSTs with no ICE after them,
//                 while a tokened publisher and a viewer from another address POST
//                 (test/load/sessionFlood.ts, against the default session limits).
// For each: the victim viewer's packet rate and the server's CPU (/proc) before,
// during and after; its heap (after GC) before and after; whether the abuser's
// session was closed. `handshake` measures the server CPU one DTLS handshake costs.
// test/e2e/dtlsFlood.test.ts runs the two DTLS floods and asserts on their outcome.
//
//   npm run bench -- --attack [--only fragments|client-hello|sessions|handshake]
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { createCertificate } from '../../src/engine/dtls/certificate';
import { DtlsServer, ProtectionProfileAeadAes128Gcm } from 'werift';
import { CallbackTransport, DtlsEndpoint, stopRetransmissions } from '../../src/engine/dtls/dtlsEndpoint';
import { loopbackHandshake } from '../../src/engine/dtls/loopbackHandshake';
import { stunMessage } from '../clients/stunMessage';
import { LiteClient } from '../clients/lite';
import { cpuSeconds } from './measure';
import { streamFrom } from './soak';
import { sessionFlood } from './sessionFlood';
import { forkSoakServer, type SoakServer } from '../support/soakServer';
import { createSource, type SyntheticSource } from '../clients/syntheticMedia';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;
/** After a heap probe (two full GCs in the server), for the packets they held up to arrive. */
const GC_SETTLE_MS = 500;

export interface Window {
  seconds: number;
  /** RTP packets per second the victim viewer received, and its publisher sent. */
  victimPps: number;
  publishedPps: number;
  /**
   * Packets the victim received per packet the server numbered for it in the window
   * (RTP sequence numbers, in the clear in SRTP; the server keeps a publisher's gaps):
   * its rate with the source's own jitter (frame sizes, keyframes, a client process
   * starved of CPU) taken out.
   */
  victimDelivery: number;
  /** Server CPU, percent of one core. */
  serverCpuPercent: number;
}

export interface AttackResult {
  attack: string;
  before: Window;
  during: Window;
  after: Window;
  /** Server heap after GC, bytes. */
  heapBefore: number;
  heapAfter: number;
  /** What the abuser sent (datagrams or requests) and how long that took. */
  sent: number;
  sendSeconds: number;
  /** The abuser's own session is gone (its room lists no viewer). */
  abuserClosed: boolean;
  /** Server counters that moved during the attack (drop reasons, closed sessions, HTTP statuses). */
  counters: Record<string, number>;
}

/** The server, the victim room, and a publisher in the abuser's room "bait" (WHEP needs one). */
export interface Target {
  server: SoakServer;
  victim: LiteClient;
  victimSequence: SequenceCount;
  victimSource: SyntheticSource;
  stop(): Promise<void>;
}

export async function startTarget(env: Record<string, string> = {}): Promise<Target> {
  const server = await forkSoakServer(env);
  const clients: LiteClient[] = [];
  const sources: SyntheticSource[] = [];
  const stop = async (): Promise<void> => {
    for (const s of sources) s.stop();
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await server.stop();
  };
  try {
    for (const room of ['victim', 'bait']) {
      const publisher = await LiteClient.connect({ url: `${server.base}/whip/${room}`, role: 'publish', timeoutMs: 30_000 });
      clients.push(publisher);
      // The victim's stream is steady (keyframes no bigger than other frames, 30 fps), so that its rate is comparable window to window.
      const source =
        room === 'victim'
          ? createSource({
              videoSsrc: publisher.videoSsrc,
              audioSsrc: publisher.audioSsrc,
              videoKbps: 300,
              fps: 30,
              keyframeIntervalFrames: 30,
              keyframeWeight: 1,
            })
          : streamFrom(publisher);
      if (room === 'victim') source.start((packet) => publisher.sendRtp(packet));
      sources.push(source);
    }
    const victim = await LiteClient.connect({ url: `${server.base}/whep/victim`, role: 'play', timeoutMs: 30_000 });
    clients.push(victim);
    const victimSequence = new SequenceCount();
    victim.onRtp = (packet) => victimSequence.add(packet);
    return { server, victim, victimSequence, victimSource: sources[0]!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

const sentBy = (source: SyntheticSource): number => source.stats.videoPackets + source.stats.audioPackets;

/** Packets received, and packets numbered from each SSRC's first sequence number to its highest (RFC 3550 A.3, without wrap-around noise). */
export class SequenceCount {
  received = 0;
  private readonly streams = new Map<number, { highest: number; numbered: number }>();

  get expected(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.numbered;
    return n;
  }

  add(packet: Buffer): void {
    if (packet.length < 12) return;
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    this.received++;
    const s = this.streams.get(ssrc);
    if (s === undefined) return void this.streams.set(ssrc, { highest: seq, numbered: 1 });
    const ahead = (seq - s.highest) & 0xffff;
    if (ahead > 0 && ahead < 0x8000) {
      s.numbered += ahead;
      s.highest = seq;
    }
  }
}

/** The victim's packet rate and the server's CPU over `run` (or `ms` of waiting). */
async function measure(target: Target, run: (() => Promise<unknown>) | number): Promise<Window> {
  const packets = target.victim.counters.rtpPackets;
  const expected = target.victimSequence.expected;
  const counted = target.victimSequence.received;
  const published = sentBy(target.victimSource);
  const cpu = cpuSeconds(target.server.pid);
  const start = performance.now();
  if (typeof run === 'number') await sleep(run);
  else await run();
  const seconds = (performance.now() - start) / 1000;
  const received = target.victim.counters.rtpPackets - packets;
  return {
    seconds,
    victimPps: received / seconds,
    publishedPps: (sentBy(target.victimSource) - published) / seconds,
    victimDelivery: (target.victimSequence.received - counted) / (target.victimSequence.expected - expected),
    serverCpuPercent: ((cpuSeconds(target.server.pid) - cpu) / seconds) * 100,
  };
}

/** Counters from /metrics whose names start with one of `prefixes`, as "name{labels}" → value. */
async function scrape(base: string, prefixes: readonly string[]): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\S+)$/.exec(line);
    if (m !== null && prefixes.some((p) => m[1]!.startsWith(p))) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const COUNTERS = ['onecast_datagrams_dropped_total', 'onecast_sessions_closed_total'];

function moved(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of after) if (value !== (before.get(name) ?? 0)) out[name] = value - (before.get(name) ?? 0);
  return out;
}

async function viewersOf(base: string, room: string): Promise<number> {
  const rooms = (await (await fetch(`${base}/api/rooms`)).json()) as Array<{ room: string; viewers: number }>;
  return rooms.find((r) => r.room === room)?.viewers ?? 0;
}

/** An anonymous WHEP session in "bait" whose ICE is done from `socket`: one verified check, nothing else. */
export async function abuserSession(base: string, udpPort: number): Promise<{ socket: dgram.Socket; client: LiteClient }> {
  const client = await LiteClient.signalOnly({ url: `${base}/whep/bait`, role: 'play' });
  const ufrag = /a=ice-ufrag:(\S+)/.exec(client.answer)![1]!;
  const pwd = /a=ice-pwd:(\S+)/.exec(client.answer)![1]!;
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.connect(udpPort, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const answered = new Promise<void>((resolve) => socket.once('message', () => resolve()));
  socket.send(stunMessage({ username: `${ufrag}:${client.localUfrag}`, password: pwd, useCandidate: true }));
  await answered;
  return { socket, client };
}

/** Sends `count` datagrams made by `make(i)` at `rate` per second, at most 200 at a time (a stalled timer resumes without a burst). */
async function paced(count: number, rate: number, send: (i: number) => void): Promise<void> {
  const start = performance.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - start) * rate) / 1000), sent + 200);
    for (; sent < due; sent++) send(sent);
    await sleep(5);
  }
}

/** One record of 98 handshake fragments of a 1000-byte certificate, each of zero length (an attack that once made werift keep every fragment). */
export function emptyFragmentsDatagram(i: number): Buffer {
  const fragments = 98;
  const record = Buffer.alloc(13 + 12 * fragments);
  record.set([22, 0xfe, 0xfd], 0);
  record.writeUIntBE(i + 1, 5, 6);
  record.writeUInt16BE(12 * fragments, 11);
  for (let f = 0; f < fragments; f++) {
    const at = 13 + 12 * f;
    record[at] = 11;
    record.writeUIntBE(1000, at + 1, 3);
    record.writeUInt16BE((i * fragments + f) & 0xffff, at + 4);
  }
  return record;
}

/** The first record werift's DTLS client sends: a ClientHello without a cookie. */
export async function captureClientHello(): Promise<Buffer> {
  let hello: Buffer | undefined;
  await loopbackHandshake(await createCertificate(), { name: 'capturing a ClientHello', timeoutMs: 10_000, onRecord: (r) => (hello ??= Buffer.from(r)) });
  return hello!;
}

export interface FloodOptions {
  datagrams: number;
  rate: number;
  /** Before and after windows. */
  windowMs?: number;
}

/** The abuser's session sends `datagrams` made by `make` at `rate`/s while the victim is watched. */
export async function datagramFlood(target: Target, attack: string, make: (i: number) => Buffer, o: FloodOptions): Promise<AttackResult> {
  const { server } = target;
  const windowMs = o.windowMs ?? 3_000;
  const abuser = await abuserSession(server.base, server.udpPort);
  try {
    const heapBefore = (await server.probe()).heapUsed;
    const countersBefore = await scrape(server.base, COUNTERS);
    await sleep(GC_SETTLE_MS);
    const before = await measure(target, windowMs);
    const t0 = performance.now();
    const during = await measure(target, () => paced(o.datagrams, o.rate, (i) => abuser.socket.send(make(i))));
    const sendSeconds = (performance.now() - t0) / 1000;
    const after = await measure(target, windowMs);
    const heapAfter = (await server.probe()).heapUsed;
    const abuserClosed = (await viewersOf(server.base, 'bait')) === 0;
    return {
      attack,
      before,
      during,
      after,
      heapBefore,
      heapAfter,
      sent: o.datagrams,
      sendSeconds,
      abuserClosed,
      counters: moved(countersBefore, await scrape(server.base, COUNTERS)),
    };
  } finally {
    abuser.socket.close();
    await abuser.client.close().catch(() => {});
  }
}

export function fragmentFlood(target: Target, o: FloodOptions): Promise<AttackResult> {
  return datagramFlood(target, `fragments: ${o.datagrams} datagrams of 98 zero-length fragments at ${o.rate}/s`, emptyFragmentsDatagram, o);
}

export async function clientHelloFlood(target: Target, o: FloodOptions): Promise<AttackResult> {
  const hello = await captureClientHello();
  return datagramFlood(target, `client-hello: one ${hello.length}-byte ClientHello ${o.datagrams} times at ${o.rate}/s`, () => hello, o);
}

/** 8 loops of anonymous WHEP POSTs (no ICE after them), `posts` in all. */
export async function handshakeCost(target: Target, n: number): Promise<{ n: number; signalMs: number; connectMs: number }> {
  const cpuMsEach = async (open: typeof LiteClient.connect): Promise<number> => {
    const cpu = cpuSeconds(target.server.pid);
    for (let i = 0; i < n; i++) await (await open({ url: `${target.server.base}/whep/bait`, role: 'play', timeoutMs: 30_000 })).close();
    return ((cpuSeconds(target.server.pid) - cpu) * 1000) / n;
  };
  const signalMs = await cpuMsEach((o) => LiteClient.signalOnly(o));
  const connectMs = await cpuMsEach((o) => LiteClient.connect(o));
  return { n, signalMs, connectMs };
}

/**
 * CPU µs one cookieless ClientHello costs, in this process: werift's DtlsServer fed
 * directly (as onecast did before the handshake guard: a key pair each), and
 * onecast's DtlsEndpoint (a HelloVerifyRequest each; an endpoint per 40, its budget).
 */
export async function helloCost(n: number): Promise<{ weriftUs: number; endpointUs: number }> {
  const hello = await captureClientHello();
  const certificate = await createCertificate();
  const cpuUs = (run: () => void): number => {
    const t = process.cpuUsage();
    run();
    const d = process.cpuUsage(t);
    return (d.user + d.system) / n;
  };
  const transport = new CallbackTransport(() => {});
  const werift = new DtlsServer({
    cert: certificate.certPem,
    key: certificate.keyPem,
    signatureHash: certificate.signatureHash,
    transport,
    srtpProfiles: [ProtectionProfileAeadAes128Gcm],
    extendedMasterSecret: true,
    certificateRequest: true,
  });
  const weriftUs = cpuUs(() => {
    for (let i = 0; i < n; i++) transport.onData(hello);
  });
  stopRetransmissions(werift);
  werift.close();
  // Made beforehand: a session's endpoint exists before its first check, whatever it is sent.
  const endpoints = Array.from(
    { length: Math.ceil(n / 40) },
    () =>
      new DtlsEndpoint(
        certificate,
        [],
        () => {},
        () => {},
        () => {},
      ),
  );
  const endpointUs = cpuUs(() => {
    for (let i = 0; i < n; i++) endpoints[Math.floor(i / 40)]!.receive(hello, '127.0.0.1:5000');
  });
  for (const e of endpoints) e.close();
  return { weriftUs, endpointUs };
}

function printResult(r: AttackResult): void {
  const w = (x: Window): string =>
    `victim ${x.victimPps.toFixed(0).padStart(4)} pkt/s of ${x.publishedPps.toFixed(0).padStart(4)} sent, ${(x.victimDelivery * 100).toFixed(0).padStart(3)} % of those numbered delivered; server CPU ${x.serverCpuPercent.toFixed(0).padStart(3)} %`;
  console.log(`\n${r.attack}`);
  console.log(`  before  ${w(r.before)}`);
  const perSent = ((r.during.serverCpuPercent - r.before.serverCpuPercent) * 10 * r.during.seconds) / r.sent;
  console.log(
    `  during  ${w(r.during)}   (${r.sent} sent in ${r.sendSeconds.toFixed(1)} s; ${(perSent * 1000).toFixed(0)} µs of server CPU each, above the victim's load)`,
  );
  console.log(`  after   ${w(r.after)}`);
  console.log(
    `  heap after GC ${(r.heapBefore / MB).toFixed(1)} → ${(r.heapAfter / MB).toFixed(1)} MB; abuser's session ${r.abuserClosed ? 'closed' : 'not closed'}`,
  );
  console.log(`  counters ${JSON.stringify(r.counters)}`);
}

export async function attack(argv: readonly string[]): Promise<void> {
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  const runs: Array<[string, (t: Target) => Promise<void>]> = [
    ['fragments', async (t) => printResult(await fragmentFlood(t, { datagrams: 100_000, rate: 10_000 }))],
    ['client-hello', async (t) => printResult(await clientHelloFlood(t, { datagrams: 12_500, rate: 2_500 }))],
    [
      'handshake',
      async (t) => {
        const h = await helloCost(2_000);
        console.log(
          `\nhandshake: CPU per cookieless ClientHello, in-process: werift's DtlsServer ${h.weriftUs.toFixed(0)} µs (an ECDHE key pair each), onecast's DtlsEndpoint ${h.endpointUs.toFixed(1)} µs (a HelloVerifyRequest)`,
        );
        const r = await handshakeCost(t, 100);
        console.log(
          `\nhandshake: server CPU per WHEP session, ${r.n} in sequence: ${r.connectMs.toFixed(1)} ms connected (POST, ICE, DTLS, SRTP; DELETE), ${r.signalMs.toFixed(1)} ms POST and DELETE only: ${(r.connectMs - r.signalMs).toFixed(1)} ms for ICE + DTLS`,
        );
      },
    ],
  ];
  for (const [name, run] of runs) {
    if (only !== undefined && only !== name) continue;
    // A fresh server for each: one attack's leftovers must not weigh on the next.
    const target = await startTarget();
    try {
      await run(target);
    } finally {
      await target.stop();
    }
  }
  // Against the default session limits, on a server of its own (test/load/sessionFlood.ts).
  if (only === undefined || only === 'sessions') await sessionFlood(['--seconds', '10']);
}
