// The native fan-out on real UDP sockets over loopback: the datagrams that arrive are the
// JavaScript path's, byte for byte (live packets through the keyframe gate, a NACK resend,
// a joining viewer's keyframe group), sent in batches (fewer sendmmsg calls than datagrams
// from one socket); a destination the kernel refuses costs that datagram only; and a full
// socket buffer drops and counts, never blocks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import os from 'node:os';
import path from 'node:path';
import { socketFd, type FanoutOutput, type FanoutOutputOptions } from '../../src/engine/native/fanoutAddon';
import { readRtp } from '../../src/rtp/rtpPacket';
import { jsViewer, nativeFanout, PROFILES, randomKeys, rtpPacket, scenario, TRACKS } from '../support/nativeFanout';
import { prng } from '../support/random';

const ROOT = path.join(__dirname, '..', '..');

async function bound(options: dgram.SocketOptions = { type: 'udp4' }): Promise<dgram.Socket> {
  const socket = dgram.createSocket(options);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

/** The datagrams `socket` receives until there are `count` (or 5 s pass: then what came). */
function receive(socket: dgram.Socket, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(got);
    };
    const onMessage = (message: Buffer): void => {
      got.push(message);
      if (got.length === count) done();
    };
    const timer = setTimeout(done, 5000);
    socket.on('message', onMessage);
  });
}

interface Viewer {
  output: FanoutOutput;
  socket: dgram.Socket;
  js: ReturnType<typeof jsViewer>;
}

describe('native fan-out on the wire (loopback UDP)', () => {
  const sockets: dgram.Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  async function viewer(fd: number, track: FanoutOutputOptions, profile: (typeof PROFILES)[number]): Promise<Viewer> {
    const addon = nativeFanout();
    const socket = await bound();
    sockets.push(socket);
    const keys = randomKeys(profile.profile, profile.saltLength);
    const output = addon.createOutput(track);
    addon.setKeys(output, keys.profile, keys.key, keys.salt);
    addon.setRoute(output, fd, '127.0.0.1', socket.address().port);
    return { output, socket, js: jsViewer(track, keys) };
  }

  it('viewers receive exactly the JavaScript path’s datagrams, sent in batches through the media socket’s fd', async () => {
    const addon = nativeFanout();
    const sender = await bound();
    sockets.push(sender);
    const fd = socketFd(sender);
    assert.ok(fd !== undefined, 'the socket’s fd');
    const live = [await viewer(fd, TRACKS[0]!, PROFILES[0]), await viewer(fd, TRACKS[1]!, PROFILES[1])];
    const joiner = await viewer(fd, TRACKS[2]!, PROFILES[0]);
    const viewers = [...live, joiner];
    const group = addon.createGroup();
    for (const v of live) addon.groupAdd(group, v.output);
    const steps = scenario(prng(21));
    const nacked = steps[10]!; // from before the wrap, of the source the numbering follows at the end
    const keyframeGroup = steps.slice(64).map((s) => s.packet); // the first publisher's, back, from its keyframe
    // The third is larger than a batch slot: it goes out on its own, between the others.
    const more = [1000, 1000, 9000, 1000, 1000].map((size, i) => rtpPacket({ seq: 34 + i, ts: 7 + i, ssrc: 0xaaaa0001, payload: Buffer.alloc(size, i) }));
    const last = steps.at(-1)!.now;

    // The JavaScript path first: what each viewer must receive.
    for (const step of steps) for (const v of live) v.js.forward(step.packet, step.keyframe, step.now);
    for (const v of live) v.js.forwarder.resend({ packet: nacked.packet, view: readRtp(nacked.packet)! }, last + 100);
    joiner.js.forwarder.sendKeyframeGroup(
      keyframeGroup.map((packet) => ({ packet, view: readRtp(packet)! })),
      last + 200,
    );
    for (const packet of more) for (const v of viewers) v.js.forward(packet, false, last + 300);
    const arriving = viewers.map((v) => receive(v.socket, v.js.sent.length));

    const before = addon.stats();
    for (const step of steps) addon.forward(group, step.packet, step.keyframe, step.now);
    for (const v of live) assert.equal(addon.send(v.output, nacked.packet, last + 100), true);
    assert.equal(addon.sendGroup(joiner.output, keyframeGroup, last + 200), keyframeGroup.length);
    addon.groupAdd(group, joiner.output);
    for (const packet of more) addon.forward(group, packet, false, last + 300);
    const after = addon.stats();

    const received = await Promise.all(arriving);
    for (const [i, v] of viewers.entries()) {
      assert.ok(v.js.sent.length > 10, `viewer ${i}: ${v.js.sent.length} datagrams expected`);
      assert.equal(received[i]!.length, v.js.sent.length, `viewer ${i}: datagrams received`);
      received[i]!.forEach((got, k) => assert.ok(got.equals(v.js.sent[k]!), `viewer ${i}: datagram ${k} differs from the JavaScript path's`));
      const state = addon.outputState(v.output);
      assert.equal(state.packets, v.js.forwarder.counters.packets);
      assert.equal(state.bytes, v.js.forwarder.counters.bytes);
      assert.equal(state.sendDrops, 0);
    }
    const datagrams = after.datagrams - before.datagrams;
    assert.equal(
      datagrams,
      viewers.reduce((n, v) => n + v.js.sent.length, 0),
    );
    assert.ok(after.sendCalls - before.sendCalls < datagrams, `${after.sendCalls - before.sendCalls} sendmmsg calls for ${datagrams} datagrams: no batching`);
    assert.equal(after.droppedFull - before.droppedFull, 0);
  });

  it('a destination the kernel refuses costs only its own datagrams: the rest of the batch is sent', async () => {
    const addon = nativeFanout();
    const sender = await bound();
    sockets.push(sender);
    const fd = socketFd(sender)!;
    const first = await viewer(fd, TRACKS[1]!, PROFILES[1]);
    const refused = await viewer(fd, TRACKS[1]!, PROFILES[1]);
    const third = await viewer(fd, TRACKS[1]!, PROFILES[0]);
    // Broadcast without SO_BROADCAST: the kernel refuses each such datagram (EACCES).
    addon.setRoute(refused.output, fd, '255.255.255.255', 9);
    const group = addon.createGroup();
    for (const v of [first, refused, third]) addon.groupAdd(group, v.output);
    const arriving = [first, third].map((v) => receive(v.socket, 10));
    const before = addon.stats();
    for (let i = 0; i < 10; i++) addon.forward(group, rtpPacket({ seq: i, ts: i * 960, ssrc: 9, payload: Buffer.alloc(100, i) }), false, i * 20);
    const received = await Promise.all(arriving);
    assert.deepEqual(
      received.map((r) => r.length),
      [10, 10],
    );
    assert.equal(addon.stats().sendErrors - before.sendErrors, 10);
    assert.equal(addon.outputState(refused.output).sendDrops, 10);
    assert.equal(addon.outputState(first.output).sendDrops, 0);
  });

  it('a dual-stack IPv6 socket reaches an IPv4 viewer at ::ffff:a.b.c.d; a route of the other family is refused', async () => {
    const addon = nativeFanout();
    const sender = dgram.createSocket({ type: 'udp6' });
    await new Promise<void>((resolve) => sender.bind(0, '::', resolve));
    sockets.push(sender);
    const v4 = await bound();
    sockets.push(v4);
    const fd = socketFd(sender)!;
    const output = addon.createOutput(TRACKS[1]!);
    const keys = randomKeys(PROFILES[1].profile, PROFILES[1].saltLength);
    addon.setKeys(output, keys.profile, keys.key, keys.salt);
    assert.throws(() => addon.setRoute(output, fd, '127.0.0.1', v4.address().port), /::ffff:a\.b\.c\.d/);
    assert.throws(() => addon.setRoute(output, socketFd(v4)!, '::1', 9), /IPv4 socket cannot reach an IPv6 address/);
    addon.setRoute(output, fd, '::ffff:127.0.0.1', v4.address().port);
    const arriving = receive(v4, 1);
    const packet = rtpPacket({ seq: 1, ts: 1, ssrc: 1, payload: Buffer.alloc(10) });
    assert.equal(addon.send(output, packet, 0), true);
    const js = jsViewer(TRACKS[1]!, keys);
    js.forwarder.sendKeyframeGroup([{ packet, view: readRtp(packet)! }], 0);
    assert.deepEqual(await arriving, js.sent);
  });

  it('a full socket buffer drops the rest of the batch and counts it, never blocking', function () {
    // Loopback never fills a UDP sender's buffer (the datagram is handed to the receiver at
    // once, and dropped there when its buffer is full: 10 000 datagrams through a 4 608-byte
    // SO_SNDBUF to an unread receiver gave no EAGAIN). So a child process gets a sendmmsg that
    // reports EAGAIN, as the kernel does for a full buffer, for datagrams to one port.
    const cc = process.env.CC || 'cc';
    const dir = mkdtempSync(path.join(os.tmpdir(), 'onecast-full-'));
    try {
      const shim = path.join(dir, 'fullBuffer.so');
      writeFileSync(path.join(dir, 'fullBuffer.c'), FULL_BUFFER_SHIM);
      const build = spawnSync(cc, ['-shared', '-fPIC', '-O1', path.join(dir, 'fullBuffer.c'), '-o', shim, '-ldl'], { encoding: 'utf8' });
      assert.equal(build.status, 0, `building the sendmmsg shim: ${build.stderr}`);
      const preload = [process.env.LD_PRELOAD, shim].filter((p) => p !== undefined && p !== '').join(' ');
      const child = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', FULL_BUFFER_CHILD], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, LD_PRELOAD: preload },
      });
      assert.equal(child.status, 0, `the child: ${child.stderr}`);
      const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { dropped: number; errors: number; drops: number[]; received: number };
      // Per packet: the first viewer's datagram is sent, then the full one's and all after it are dropped.
      assert.equal(result.dropped, 4 * 20);
      assert.equal(result.errors, 0);
      assert.deepEqual(result.drops, [0, 20, 20, 20, 20]);
      assert.equal(result.received, 20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** sendmmsg as the kernel answers for a full buffer, for datagrams to FULL_PORT: what comes before is sent, then EAGAIN. */
const FULL_BUFFER_SHIM = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
int sendmmsg(int fd, struct mmsghdr *m, unsigned int n, int flags) {
  int (*real)(int, struct mmsghdr *, unsigned int, int) = (int (*)(int, struct mmsghdr *, unsigned int, int))dlsym(RTLD_NEXT, "sendmmsg");
  const char *p = getenv("FULL_PORT");
  int port = p != NULL ? atoi(p) : -1;
  unsigned int i = 0;
  for (; i < n; i++) {
    struct sockaddr_in *a = m[i].msg_hdr.msg_name;
    if (a != NULL && a->sin_family == AF_INET && ntohs(a->sin_port) == port) break;
  }
  if (i == 0 && n > 0) {
    errno = EAGAIN;
    return -1;
  }
  return real(fd, m, i, flags);
}
`;

/** Five viewers on one socket, the 2nd and 4th behind a full buffer; prints the counters as JSON. */
const FULL_BUFFER_CHILD = `
const dgram = require('node:dgram');
const { randomBytes } = require('node:crypto');
const { nativeFanout, rtpPacket } = require('./test/support/nativeFanout.ts');
const { socketFd } = require('./src/engine/native/fanoutAddon.ts');
const bind = () => new Promise((resolve) => { const s = dgram.createSocket('udp4'); s.bind(0, '127.0.0.1', () => resolve(s)); });
(async () => {
  const addon = nativeFanout();
  const [sender, open, full] = await Promise.all([bind(), bind(), bind()]);
  process.env.FULL_PORT = String(full.address().port);
  let received = 0;
  open.on('message', () => received++);
  const group = addon.createGroup();
  const outputs = [open, full, open, full, open].map((to, i) => {
    const o = addon.createOutput({ ssrc: i, payloadType: 111, clockRate: 48000, mid: '0', video: false });
    addon.setKeys(o, 7, randomBytes(16), randomBytes(12));
    addon.setRoute(o, socketFd(sender), '127.0.0.1', to.address().port);
    addon.groupAdd(group, o);
    return o;
  });
  for (let i = 0; i < 20; i++) addon.forward(group, rtpPacket({ seq: i, ts: i, ssrc: 1, payload: randomBytes(1200) }), false, i);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stats = addon.stats();
  console.log(JSON.stringify({ dropped: stats.droppedFull, errors: stats.sendErrors, drops: outputs.map((o) => addon.outputState(o).sendDrops), received }));
  for (const s of [sender, open, full]) s.close();
})();
`;
