// `npm run bench`: the fan-out benchmark. One synthetic publisher at a chosen
// bitrate and N WHEP viewers that do real ICE/DTLS/SRTP, against onecast in its
// own process. Reports the server's viewer-packets forwarded per CPU-second
// (user+sys of the server process, from /proc), the SRTP profile, loss, and
// join-to-first-packet p50/p95 for each N.
//
//   npm run bench -- [--viewers 10,50,100,200] [--kbps 2000] [--seconds 10]
import os from 'node:os';
import { LiteClient } from '../test/clients/lite';
import { hotPath } from './hotPath';
import { cpuSeconds, percentile } from '../test/load/measure';
import { createSource } from '../test/clients/syntheticMedia';
import { freePort, spawnServer, type ServerProcess } from '../test/support/process';

interface Options {
  viewers: number[];
  kbps: number;
  seconds: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { viewers: [10, 50, 100, 200], kbps: 2000, seconds: 10 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=') as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--viewers') o.viewers = value.split(',').map(Number);
    else if (flag === '--kbps') o.kbps = Number(value);
    else if (flag === '--seconds') o.seconds = Number(value);
    else throw new Error(`unknown option ${flag}`);
  }
  return o;
}

interface StepResult {
  viewers: number;
  connected: number;
  forwarded: number;
  cpu: number;
  perCpuSecond: number;
  loss: number;
  joinP50: number;
  joinP95: number;
  profile: string;
  decryptFailures: number;
}

async function step(base: string, proc: ServerProcess, n: number, o: Options, room: string): Promise<StepResult> {
  const publisher = await LiteClient.connect({ url: `${base}/whip/${room}`, role: 'publish' });
  const source = createSource({ videoSsrc: publisher.videoSsrc, audioSsrc: publisher.audioSsrc, videoKbps: o.kbps, fps: 30, keyframeIntervalFrames: 60 });
  let sent = 0;
  source.start((packet) => {
    sent++;
    publisher.sendRtp(packet);
  });
  // Let the room fill its keyframe cache before viewers join.
  await new Promise((r) => setTimeout(r, 2_500));

  const joins: number[] = [];
  let decryptFailures = 0;
  const viewers = (
    await Promise.all(
      Array.from({ length: n }, async () => {
        const started = Date.now();
        try {
          const v = await LiteClient.connect({ url: `${base}/whep/${room}`, role: 'play', timeoutMs: 20_000 });
          let sampled = 0;
          v.onRtp = (packet) => {
            if (sampled === 0) joins.push(Date.now() - started);
            // Decrypt one packet in 50: proves the keys are right without costing the bench its CPU.
            if (sampled++ % 50 === 0 && v.decryptRtp(packet) === undefined) decryptFailures++;
          };
          return v;
        } catch (error) {
          process.stderr.write(`viewer failed to connect: ${(error as Error).message}\n`);
          return undefined;
        }
      }),
    )
  ).filter((v): v is LiteClient => v !== undefined);
  await new Promise((r) => setTimeout(r, 1_000));

  // The measured window: everything is connected and flowing.
  const received0 = viewers.reduce((s, v) => s + v.counters.rtpPackets, 0);
  const sent0 = sent;
  const cpu0 = cpuSeconds(proc.child.pid!);
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  const cpu1 = cpuSeconds(proc.child.pid!);
  const sent1 = sent;
  // Packets in flight at the end of the window still count as forwarded in it.
  await new Promise((r) => setTimeout(r, 200));
  const received1 = viewers.reduce((s, v) => s + v.counters.rtpPackets, 0);

  source.stop();
  await Promise.all(viewers.map((v) => v.close()));
  await publisher.close();

  const forwarded = received1 - received0;
  const expected = (sent1 - sent0) * viewers.length;
  const cpu = cpu1 - cpu0;
  const sortedJoins = joins.sort((a, b) => a - b);
  return {
    viewers: n,
    connected: viewers.length,
    forwarded,
    cpu,
    perCpuSecond: forwarded / Math.max(cpu, 0.01),
    loss: expected > 0 ? Math.max(0, 1 - forwarded / expected) : 0,
    joinP50: percentile(sortedJoins, 50),
    joinP95: percentile(sortedJoins, 95),
    profile: viewers[0]?.srtpProfile ?? '-',
    decryptFailures,
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const httpPort = await freePort();
  const udpPort = await freePort();
  // All viewers join at once from 127.0.0.1: no limit on connecting sessions, per address or in total.
  const proc = await spawnServer({
    HTTP_PORT: String(httpPort),
    UDP_PORT: String(udpPort),
    BIND: '127.0.0.1',
    PUBLIC_IPS: '127.0.0.1',
    MAX_PENDING: '0',
    MAX_PENDING_PER_ADDRESS: '0',
  });
  const base = `http://127.0.0.1:${httpPort}`;
  const cpu = os.cpus();
  console.log(`onecast fan-out benchmark — ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}`);
  console.log('hot path (header rewrite + SRTP, 1100-byte payload, CPU per packet, medians of interleaved rounds):');
  for (const line of hotPath()) console.log(`  ${line}`);
  console.log('');
  console.log(
    `one publisher at ${o.kbps} kbit/s video (30 fps, keyframe every 2 s) + Opus; ${o.seconds} s measured per step; server and clients share the machine\n`,
  );
  console.log('viewers | connected | viewer-packets/CPU-s | forwarded | server CPU s | loss   | join→first packet p50 / p95 | SRTP');
  try {
    for (const [i, n] of o.viewers.entries()) {
      const r = await step(base, proc, n, o, `bench${i}`);
      console.log(
        `${String(r.viewers).padStart(7)} | ${String(r.connected).padStart(9)} | ${Math.round(r.perCpuSecond).toString().padStart(20)} | ${String(r.forwarded).padStart(9)} | ${r.cpu.toFixed(2).padStart(12)} | ${(r.loss * 100).toFixed(2).padStart(5)}% | ${`${Math.round(r.joinP50)} / ${Math.round(r.joinP95)} ms`.padStart(27)} | ${r.profile}${r.decryptFailures > 0 ? ` (${r.decryptFailures} sample decrypt failures!)` : ''}`,
      );
    }
  } finally {
    await proc.stop();
    if (process.env['BENCH_SERVER_LOG']) process.stderr.write(proc.output());
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
