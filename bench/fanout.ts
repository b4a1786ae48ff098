// `npm run bench`: the fan-out benchmark. One synthetic publisher (H.264-like video at a
// chosen bitrate + Opus) and N WHEP viewers that do real ICE/DTLS/SRTP, against onecast in
// its own process, once per fan-out path (the server's FANOUT setting). For each N the
// paths take turns (one server per path, both started at the beginning), so that the
// machine's other load affects them alike. Per step:
// - joins: the viewers join `batch` at a time, the next batch once the previous one has
//   connected and seen its first video packet (or failed): join → first video packet
//   p50/p95, and the phases (POST answered, ICE, DTLS done) at p50;
// - then a measured window with everything flowing: viewer-packets forwarded per server
//   CPU-second, the server's and the load generator's CPU (publisher in this process,
//   viewers in `--viewer-processes` children, test/load/viewerProcess.ts), loss from the
//   viewers' sequence-number gaps, and the server's event-loop delay (its /metrics).
//
//   npm run bench -- [--viewers 50,100,200,300] [--kbps 2700] [--seconds 10] [--batch 10]
//                    [--fanout native,js] [--viewer-processes 2]
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { LiteClient } from '../test/clients/lite';
import { hotPath } from './hotPath';
import { cpuSeconds, percentile, udpSocketStats } from '../test/load/measure';
import { forkViewerProcess, type JoinTiming, type ReceptionSnapshot, type ViewerProcess } from '../test/load/viewerProcess';
import { createSource } from '../test/clients/syntheticMedia';
import { freePort, spawnServer, type ServerProcess } from '../test/support/process';

interface Options {
  viewers: number[];
  kbps: number;
  seconds: number;
  batch: number;
  fanout: string[];
  viewerProcesses: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { viewers: [50, 100, 200, 300], kbps: 2700, seconds: 10, batch: 10, fanout: ['native', 'js'], viewerProcesses: 2 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=') as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--viewers') o.viewers = value.split(',').map(Number);
    else if (flag === '--kbps') o.kbps = Number(value);
    else if (flag === '--seconds') o.seconds = Number(value);
    else if (flag === '--batch') o.batch = Number(value);
    else if (flag === '--fanout') o.fanout = value.split(',');
    else if (flag === '--viewer-processes') o.viewerProcesses = Number(value);
    else throw new Error(`unknown option ${flag}`);
  }
  return o;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Server {
  fanout: string;
  proc: ServerProcess;
  base: string;
  udpPort: number;
}

interface SocketWatch {
  /** The most bytes waiting in the server's UDP receive queue, and the datagrams the kernel dropped from it, since the watch began. */
  stop(): { maxQueueBytes: number; drops: number };
}

/** Samples the server's UDP receive queue every 50 ms: how far behind its event loop is, in datagrams it has not read. */
function watchSocket(server: Server): SocketWatch {
  const first = udpSocketStats(server.udpPort);
  let maxQueueBytes = first.rxQueueBytes;
  const timer = setInterval(() => (maxQueueBytes = Math.max(maxQueueBytes, udpSocketStats(server.udpPort).rxQueueBytes)), 50);
  return {
    stop: () => {
      clearInterval(timer);
      const last = udpSocketStats(server.udpPort);
      return { maxQueueBytes: Math.max(maxQueueBytes, last.rxQueueBytes), drops: last.drops - first.drops };
    },
  };
}

/** How late the server's event loop ran since the previous call (prom-client resets its histogram on every scrape of /metrics), in ms. */
async function loopDelay(server: Server): Promise<{ p50: number; p99: number; max: number }> {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  const read = (name: string): number => Number(new RegExp(`^nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  // monitorEventLoopDelay counts its own 10 ms sampling interval (prom-client's default precision): lateness is what lies beyond it.
  const late = (name: string): number => Math.max(0, read(name) - 10);
  return { p50: late('p50'), p99: late('p99'), max: late('max') };
}

interface StepResult {
  viewers: number;
  fanout: string;
  connected: number;
  joins: JoinTiming[];
  /** Server and load-generator CPU, % of one core, while the viewers joined. */
  joinServerCpu: number;
  joinLoadCpu: number;
  joinLoop: { p50: number; p99: number; max: number };
  joinSocket: { maxQueueBytes: number; drops: number };
  forwarded: number;
  serverCpu: number;
  loadCpu: number;
  perCpuSecond: number;
  loss: number;
  silent: number;
  loop: { p50: number; p99: number; max: number };
  socket: { maxQueueBytes: number; drops: number };
  profile: string;
  decryptFailures: number;
}

function sum(snapshots: ReceptionSnapshot[]): ReceptionSnapshot {
  return snapshots.reduce(
    (a, s) => ({
      received: a.received + s.received,
      expected: a.expected + s.expected,
      silent: a.silent + s.silent,
      decryptFailures: a.decryptFailures + s.decryptFailures,
      profile: a.profile === '-' ? s.profile : a.profile,
    }),
    { received: 0, expected: 0, silent: 0, decryptFailures: 0, profile: '-' },
  );
}

async function step(server: Server, groups: ViewerProcess[], n: number, o: Options, room: string): Promise<StepResult> {
  const loadCpu = (): number => cpuSeconds(process.pid) + groups.reduce((s, g) => s + cpuSeconds(g.pid), 0);
  const serverCpu = (): number => cpuSeconds(server.proc.child.pid!);
  const publisher = await LiteClient.connect({ url: `${server.base}/whip/${room}`, role: 'publish' });
  const source = createSource({ videoSsrc: publisher.videoSsrc, audioSsrc: publisher.audioSsrc, videoKbps: o.kbps, fps: 30, keyframeIntervalFrames: 60 });
  source.start((packet) => publisher.sendRtp(packet));
  // Let the room fill its keyframe cache before viewers join.
  await sleep(2_500);

  const joins: JoinTiming[] = [];
  await loopDelay(server);
  const joinCpu0 = [serverCpu(), loadCpu(), performance.now()] as const;
  const joinWatch = watchSocket(server);
  for (let joined = 0; joined < n; joined += o.batch) {
    const size = Math.min(o.batch, n - joined);
    // The batch spread over the viewer processes, all at once.
    const results = await Promise.all(
      groups.map((g, i) => {
        const share = Math.floor(size / groups.length) + (i < size % groups.length ? 1 : 0);
        return share > 0 ? g.join(`${server.base}/whep/${room}`, share, 20_000) : { joins: [], failures: [] };
      }),
    );
    for (const r of results) {
      joins.push(...r.joins);
      for (const f of r.failures) process.stderr.write(`viewer failed to connect: ${f}\n`);
    }
  }
  const joinSeconds = (performance.now() - joinCpu0[2]) / 1000;
  const joinServerCpu = (serverCpu() - joinCpu0[0]) / joinSeconds;
  const joinLoadCpu = (loadCpu() - joinCpu0[1]) / joinSeconds;
  const joinLoop = await loopDelay(server);
  const joinSocket = joinWatch.stop();
  await sleep(1_000);

  // The measured window: everything is connected and flowing.
  const before = sum(await Promise.all(groups.map((g) => g.snapshot())));
  const cpu0 = [serverCpu(), loadCpu()] as const;
  await loopDelay(server);
  const watch = watchSocket(server);
  await sleep(o.seconds * 1000);
  const cpu1 = [serverCpu(), loadCpu()] as const;
  const loop = await loopDelay(server);
  const socket = watch.stop();
  // Packets in flight at the end of the window still count as forwarded in it.
  await sleep(200);
  const after = sum(await Promise.all(groups.map((g) => g.snapshot())));

  source.stop();
  await Promise.all(groups.map((g) => g.closeViewers()));
  await publisher.close();

  const forwarded = after.received - before.received;
  const expected = after.expected - before.expected;
  const cpu = cpu1[0] - cpu0[0];
  return {
    viewers: n,
    fanout: server.fanout,
    connected: joins.length,
    joins,
    joinServerCpu,
    joinLoadCpu,
    joinLoop,
    joinSocket,
    forwarded,
    serverCpu: cpu / o.seconds,
    loadCpu: (cpu1[1] - cpu0[1]) / o.seconds,
    perCpuSecond: forwarded / Math.max(cpu, 0.01),
    loss: expected > 0 ? Math.max(0, 1 - forwarded / expected) : 0,
    silent: after.silent,
    loop,
    socket,
    profile: after.profile,
    decryptFailures: after.decryptFailures,
  };
}

const pct = (cpu: number): string => `${Math.round(cpu * 100)}%`;
const ms = (v: number): string => (Number.isNaN(v) ? '-' : String(Math.round(v)));
const p = (values: number[], q: number): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    q,
  );

const socketColumn = (s: { maxQueueBytes: number; drops: number }): string => `${Math.round(s.maxQueueBytes / 1024)} KB / ${s.drops}`.padStart(17);

function printFanoutRow(r: StepResult): void {
  const problems = [
    r.connected < r.viewers ? `${r.viewers - r.connected} failed to connect` : '',
    r.silent > 0 ? `${r.silent} received nothing` : '',
    r.decryptFailures > 0 ? `${r.decryptFailures} sample decrypt failures!` : '',
  ].filter((s) => s !== '');
  console.log(
    [
      String(r.viewers).padStart(7),
      r.fanout.padEnd(6),
      Math.round(r.perCpuSecond).toString().padStart(20),
      pct(r.serverCpu).padStart(10),
      pct(r.loadCpu).padStart(12),
      `${(r.loss * 100).toFixed(3)}%`.padStart(11),
      `${ms(r.loop.p50)} / ${ms(r.loop.p99)} / ${ms(r.loop.max)}`.padStart(16),
      socketColumn(r.socket),
      `${r.profile}${problems.length > 0 ? ` (${problems.join(', ')})` : ''}`,
    ].join(' | '),
  );
}

function printJoinRow(r: StepResult): void {
  const first = r.joins.map((j) => j.firstVideoMs).filter((v): v is number => v !== undefined);
  console.log(
    [
      String(r.viewers).padStart(7),
      r.fanout.padEnd(6),
      `${ms(p(first, 50))} / ${ms(p(first, 95))}`.padStart(20),
      ms(
        p(
          r.joins.map((j) => j.postMs),
          50,
        ),
      ).padStart(5),
      ms(
        p(
          r.joins.map((j) => j.iceMs),
          50,
        ),
      ).padStart(5),
      ms(
        p(
          r.joins.map((j) => j.dtlsMs),
          50,
        ),
      ).padStart(5),
      `${pct(r.joinServerCpu)} / ${pct(r.joinLoadCpu)}`.padStart(17),
      `${ms(r.joinLoop.p50)} / ${ms(r.joinLoop.p99)} / ${ms(r.joinLoop.max)}`.padStart(16),
      socketColumn(r.joinSocket),
    ].join(' | '),
  );
}

async function startServer(fanout: string): Promise<Server> {
  const httpPort = await freePort();
  // All viewers join from 127.0.0.1: no limit on connecting sessions, per address or in total.
  const udpPort = await freePort();
  const proc = await spawnServer({
    HTTP_PORT: String(httpPort),
    UDP_PORT: String(udpPort),
    BIND: '127.0.0.1',
    PUBLIC_IPS: '127.0.0.1',
    MAX_PENDING: '0',
    MAX_PENDING_PER_ADDRESS: '0',
    FANOUT: fanout,
  });
  return { fanout, proc, base: `http://127.0.0.1:${httpPort}`, udpPort };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const servers: Server[] = [];
  const groups: ViewerProcess[] = [];
  const cpu = os.cpus();
  console.log(
    `onecast fan-out benchmark — ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log('hot path (header rewrite + SRTP, 1100-byte payload, CPU per packet, medians of interleaved rounds):');
  for (const line of hotPath()) console.log(`  ${line}`);
  console.log('');
  console.log(
    `one publisher at ${o.kbps} kbit/s video (30 fps, keyframe every 2 s) + Opus; viewers join ${o.batch} at a time, then ${o.seconds} s measured per step;`,
  );
  console.log(
    `server (FANOUT=${o.fanout.join(', then ')} for each step), publisher (this process) and viewers (${o.viewerProcesses} processes) share the machine\n`,
  );
  const results: StepResult[] = [];
  try {
    for (const fanout of o.fanout) servers.push(await startServer(fanout));
    for (let i = 0; i < o.viewerProcesses; i++) groups.push(await forkViewerProcess());
    for (const [i, n] of o.viewers.entries()) {
      for (const server of servers) {
        const r = await step(server, groups, n, o, `bench${i}`);
        results.push(r);
        // As it comes (the tables below repeat it), so that a run cut short keeps what it measured.
        console.log(`${n} viewers, FANOUT=${server.fanout}, load average ${os.loadavg()[0]!.toFixed(1)}:`);
        printFanoutRow(r);
        printJoinRow(r);
      }
    }
  } finally {
    await Promise.all(groups.map((g) => g.exit()));
    for (const server of servers) {
      await server.proc.stop();
      if (process.env['BENCH_SERVER_LOG']) process.stderr.write(server.proc.output());
    }
  }

  console.log(
    'fan-out (measured window); CPU in % of one core; how late the server event loop ran (ms); its UDP receive queue at most, and datagrams dropped from it',
  );
  console.log('viewers | path   | viewer-packets/CPU-s | server CPU | load gen CPU | loss (gaps) | loop p50/p99/max | rx queue / drops | SRTP');
  for (const r of results) printFanoutRow(r);
  console.log('');
  console.log('joins: ms from POST to the first video packet, and to each phase (p50); CPU, event loop and receive queue while the viewers joined');
  console.log('viewers | path   | first video p50/p95 |  POST |   ICE |  DTLS | CPU server / gen | loop p50/p99/max | rx queue / drops');
  for (const r of results) printJoinRow(r);
  if (o.fanout.length === 2) {
    const [a, b] = o.fanout as [string, string];
    console.log('');
    console.log(`side by side: viewer-packets per server CPU-second, and join → first video p50 (ms)`);
    console.log(`viewers | ${a.padStart(8)} | ${b.padStart(8)} | ${a}/${b} | join p50 ${a} / ${b}`);
    for (const n of o.viewers) {
      const ra = results.find((r) => r.viewers === n && r.fanout === a)!;
      const rb = results.find((r) => r.viewers === n && r.fanout === b)!;
      const first = (r: StepResult): number[] => r.joins.map((j) => j.firstVideoMs).filter((v): v is number => v !== undefined);
      console.log(
        `${String(n).padStart(7)} | ${Math.round(ra.perCpuSecond).toString().padStart(8)} | ${Math.round(rb.perCpuSecond).toString().padStart(8)} | ${(ra.perCpuSecond / rb.perCpuSecond).toFixed(2).padStart(a.length + b.length + 1)} | ${ms(p(first(ra), 50))} / ${ms(p(first(rb), 50))}`,
      );
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
