// The native fan-out against the JavaScript path, in one process, variants interleaved so
// that machine load affects them alike (medians over rounds):
// - protect: header rewrite + SRTP of one 1 200-byte payload, CPU time per packet, both profiles;
// - fan-out: one live packet to N viewers over loopback UDP (the viewers' socket in a child
//   process that drains it), this process's CPU time per viewer-packet, sends included.
// `npm run bench -- native [viewers]` (default 200).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { loadFanoutAddon, socketFd, type FanoutAddon, type FanoutOutput } from '../src/engine/native/fanoutAddon';
import { PROFILE_AEAD_AES_128_GCM, PROFILE_AES_CM_128_HMAC_SHA1_80, SrtpSender } from '../src/engine/srtp/srtpSender';
import { MAX_HEADER, RtpRewriter } from '../src/rtp/rewriter';
import { readRtp } from '../src/rtp/rtpPacket';
import { percentile } from '../test/load/measure';

const ROUNDS = 7;
const PROFILES = [
  ['AEAD_AES_128_GCM', PROFILE_AEAD_AES_128_GCM, 12],
  ['AES_CM_128_HMAC_SHA1_80', PROFILE_AES_CM_128_HMAC_SHA1_80, 14],
] as const;

function rtp(seq: number): Buffer {
  const packet = Buffer.concat([Buffer.alloc(12), randomBytes(1200)]);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE(seq * 3000, 4);
  packet.writeUInt32BE(5, 8);
  return packet;
}

function median(values: number[]): number {
  return percentile(
    values.sort((a, b) => a - b),
    50,
  );
}

/** CPU µs per call of each variant, interleaved rounds, medians. */
function cpuPerCall(variants: Record<string, (i: number) => void>, calls: number): Record<string, number> {
  const results: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(variants)) {
      for (let i = 0; i < 500; i++) fn(i);
      const start = process.cpuUsage();
      for (let i = 0; i < calls; i++) fn(i);
      const used = process.cpuUsage(start);
      (results[name] ??= []).push((used.user + used.system) / calls);
    }
  }
  return Object.fromEntries(Object.entries(results).map(([name, values]) => [name, median(values)]));
}

function protectBench(addon: FanoutAddon): string[] {
  const packets = Array.from({ length: 1024 }, (_, i) => rtp(i));
  const lines: string[] = [];
  for (const [name, profile, saltLength] of PROFILES) {
    const key = randomBytes(16);
    const salt = randomBytes(saltLength);
    const sender = new SrtpSender(profile, key, salt);
    const rewriter = new RtpRewriter({ ssrc: 9, payloadType: 102, clockRate: 90000, mid: '1', midExtensionId: 1 });
    const header = Buffer.alloc(MAX_HEADER);
    const output = addon.createOutput({ ssrc: 9, payloadType: 102, clockRate: 90000, mid: '1', midExtensionId: 1, video: true });
    addon.setKeys(output, profile, key, salt);
    const us = cpuPerCall(
      {
        js: (i) => {
          const packet = packets[i & 1023]!;
          const view = readRtp(packet)!;
          sender.protectParts(header, rewriter.writeHeader(view, i, header), packet.subarray(view.payloadOffset));
        },
        native: (i) => addon.protect(output, packets[i & 1023]!, i),
      },
      20_000,
    );
    lines.push(`protect ${name.padEnd(24)} js ${(us.js! * 1000).toFixed(0)} ns, native ${(us.native! * 1000).toFixed(0)} ns per 1 200-byte packet`);
  }
  return lines;
}

/** A child process that drains one UDP socket and, when its stdin closes, prints how many datagrams came. */
function drainingViewer(): Promise<{ child: ChildProcess; port: number; count: () => Promise<number> }> {
  const script = `const s = require('node:dgram').createSocket({ type: 'udp4', recvBufferSize: 8 << 20 }); let n = 0;
s.on('message', () => n++); s.bind(0, '127.0.0.1', () => console.log(s.address().port));
process.stdin.on('end', () => { console.log(n); process.exit(0); }); process.stdin.resume();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiting: (() => void) | undefined;
  child.stdout!.on('data', (chunk: Buffer) => {
    lines.push(...chunk.toString().trim().split('\n'));
    waiting?.();
  });
  const next = (): Promise<string> =>
    new Promise((resolve) => {
      const take = (): void => {
        if (lines.length > 0) resolve(lines.shift()!);
        else waiting = take;
      };
      take();
    });
  return next().then((port) => ({
    child,
    port: Number(port),
    count: () => {
      child.stdin!.end();
      return next().then(Number);
    },
  }));
}

async function fanoutBench(addon: FanoutAddon, viewers: number, [name, profile, saltLength]: (typeof PROFILES)[number]): Promise<string[]> {
  const sink = await drainingViewer();
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const fd = socketFd(socket)!;
  const key = randomBytes(16);
  const salt = randomBytes(saltLength);
  const before = addon.stats();
  const group = addon.createGroup();
  // Held here: a group does not keep its outputs alive.
  const outputs: FanoutOutput[] = [];
  const js: { rewriter: RtpRewriter; sender: SrtpSender }[] = [];
  for (let i = 0; i < viewers; i++) {
    const output = addon.createOutput({ ssrc: 1000 + i, payloadType: 102, clockRate: 90000, mid: '1', midExtensionId: 1, video: false });
    addon.setKeys(output, profile, key, salt);
    addon.setRoute(output, fd, '127.0.0.1', sink.port);
    addon.groupAdd(group, output);
    outputs.push(output);
    js.push({
      rewriter: new RtpRewriter({ ssrc: 1000 + i, payloadType: 102, clockRate: 90000, mid: '1', midExtensionId: 1 }),
      sender: new SrtpSender(profile, key, salt),
    });
  }
  const header = Buffer.alloc(MAX_HEADER);
  const packets = Array.from({ length: 256 }, (_, i) => rtp(i));
  const perPacket = 200;
  const results: Record<string, number[]> = { js: [], native: [] };
  let sent = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of ['js', 'native'] as const) {
      const start = process.cpuUsage();
      for (let p = 0; p < perPacket; p++) {
        const packet = packets[(round * perPacket + p) & 255]!;
        if (variant === 'native') {
          addon.forward(group, packet, true, p);
        } else {
          const view = readRtp(packet)!;
          const payload = packet.subarray(view.payloadOffset);
          for (const v of js) socket.send(v.sender.protectParts(header, v.rewriter.writeHeader(view, p, header), payload), sink.port, '127.0.0.1');
        }
        sent += viewers;
        // Let libuv write the JavaScript path's queued sends, as the event loop would between packets.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const used = process.cpuUsage(start);
      results[variant]!.push((used.user + used.system) / (perPacket * viewers));
    }
  }
  const received = await sink.count();
  socket.close();
  const jsUs = median(results['js']!);
  const nativeUs = median(results['native']!);
  const stats = addon.stats();
  const drops = outputs.reduce((n, o) => n + addon.outputState(o).sendDrops, 0);
  return [
    `fan-out to ${viewers} viewers (${name}, 1 200-byte payloads, loopback, viewers drained by another process):`,
    `  js     ${jsUs.toFixed(2)} µs CPU per viewer-packet = ${Math.round(1e6 / jsUs)} viewer-packets per CPU-second`,
    `  native ${nativeUs.toFixed(2)} µs CPU per viewer-packet = ${Math.round(1e6 / nativeUs)} viewer-packets per CPU-second (${(jsUs / nativeUs).toFixed(1)}×)`,
    `  native: ${stats.datagrams - before.datagrams} datagrams in ${stats.sendCalls - before.sendCalls} sendmmsg calls, ${stats.droppedFull - before.droppedFull} dropped on a full buffer (${drops} by the outputs' count); received ${received} of ${sent} sent by both paths`,
  ];
}

export async function nativeFanoutBench(argv: string[]): Promise<void> {
  const loaded = loadFanoutAddon();
  if ('reason' in loaded) throw new Error(loaded.reason);
  const viewers = Number(argv[0] ?? 200);
  for (const line of protectBench(loaded.addon)) console.log(line);
  for (const profile of PROFILES) for (const line of await fanoutBench(loaded.addon, viewers, profile)) console.log(line);
}
