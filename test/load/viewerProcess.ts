// WHEP viewers for the fan-out bench, in a process of their own (forked from this file)
// so that receiving ~100 000 datagrams a second does not make one load-generator event
// loop the bottleneck the bench then blames on the server. Each viewer is a LiteClient
// (real ICE, DTLS, SRTP) that counts what arrives without decrypting it, decrypts one
// packet in 50 (proof the keys are right), and tracks every SSRC's sequence numbers:
// loss is the gaps, per viewer, not a count compared with what the publisher sent.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { AUDIO_PT, LiteClient } from '../clients/lite';
import { seqDiff } from '../clients/liteMedia';
import { installNativeKeyExchange } from '../../src/engine/dtls/nativeKeyExchange';

/** One viewer's join, in ms from the start of its connect. */
export interface JoinTiming {
  postMs: number;
  iceMs: number;
  dtlsMs: number;
  /** Undefined when no video packet came within the join's wait. */
  firstVideoMs?: number;
}

/** Sums over a process's viewers; differences of two snapshots give a window's figures. */
export interface ReceptionSnapshot {
  received: number;
  /** Packets the sequence numbers say were sent to the viewers (highest − first + 1, per SSRC). */
  expected: number;
  /** Viewers that received nothing since the previous snapshot. */
  silent: number;
  decryptFailures: number;
  profile: string;
}

type Request = { type: 'join'; url: string; count: number; timeoutMs: number } | { type: 'snapshot' } | { type: 'close' };
type Reply =
  { type: 'joined'; joins: JoinTiming[]; failures: string[] } | { type: 'snapshot'; snapshot: ReceptionSnapshot } | { type: 'closed' } | { type: 'ready' };

export interface ViewerProcess {
  pid: number;
  /** Connects `count` viewers at once; resolves when each connected (and saw its first video packet) or failed. */
  join(url: string, count: number, timeoutMs: number): Promise<{ joins: JoinTiming[]; failures: string[] }>;
  snapshot(): Promise<ReceptionSnapshot>;
  /** DELETEs and closes every viewer of the process. */
  closeViewers(): Promise<void>;
  exit(): Promise<void>;
}

export async function forkViewerProcess(): Promise<ViewerProcess> {
  // With this process's node flags: tsx's loader, and --cpu-prof when the bench is profiled (`node --cpu-prof --import tsx bench/main.ts`).
  const child: ChildProcess = fork(__filename, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies: Array<(reply: Reply) => void> = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (reply: Reply) => (reply.type === 'ready' ? resolve() : replies.shift()?.(reply)));
    child.once('exit', (code) => reject(new Error(`viewer process exited with ${code}`)));
  });
  const ask = <T extends Reply['type']>(request: Request): Promise<Extract<Reply, { type: T }>> =>
    new Promise((resolve) => {
      replies.push(resolve as (reply: Reply) => void);
      child.send(request);
    });
  await ready;
  return {
    pid: child.pid!,
    join: (url, count, timeoutMs) => ask<'joined'>({ type: 'join', url, count, timeoutMs }),
    snapshot: async () => (await ask<'snapshot'>({ type: 'snapshot' })).snapshot,
    closeViewers: async () => void (await ask<'closed'>({ type: 'close' })),
    exit: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}

/** Sequence numbers of one SSRC as a viewer receives them. */
interface SsrcTrack {
  first: number;
  /** Extended (wrap-counted) highest sequence number. */
  highest: number;
  received: number;
}

class Viewer {
  readonly ssrcs = new Map<number, SsrcTrack>();
  decryptFailures = 0;
  firstVideoAt: number | undefined;
  private onFirstVideo: (() => void) | undefined;
  private sampled = 0;
  /** received at the previous snapshot, to tell a silent viewer */
  lastReceived = 0;

  constructor(readonly client: LiteClient) {
    client.onRtp = (packet) => this.onPacket(packet);
  }

  firstVideo(timeoutMs: number): Promise<void> {
    if (this.firstVideoAt !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.onFirstVideo = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  get received(): number {
    let n = 0;
    for (const t of this.ssrcs.values()) n += t.received;
    return n;
  }

  get expected(): number {
    let n = 0;
    for (const t of this.ssrcs.values()) n += t.highest - t.first + 1;
    return n;
  }

  private onPacket(packet: Buffer): void {
    if (packet.length < 12) return;
    const seq = packet.readUInt16BE(2);
    const ssrc = packet.readUInt32BE(8);
    const track = this.ssrcs.get(ssrc);
    if (track === undefined) this.ssrcs.set(ssrc, { first: seq, highest: seq, received: 1 });
    else {
      track.received++;
      const ahead = seqDiff(seq, track.highest & 0xffff);
      if (ahead > 0) track.highest += ahead;
    }
    if (this.firstVideoAt === undefined && (packet[1]! & 0x7f) !== AUDIO_PT) {
      this.firstVideoAt = performance.now();
      this.onFirstVideo?.();
    }
    // One in 50: proves the keys are right without costing the load generator its CPU.
    if (this.sampled++ % 50 === 0 && this.client.decryptRtp(packet) === undefined) this.decryptFailures++;
  }
}

async function main(): Promise<void> {
  // The viewers' DTLS clients (werift) on OpenSSL too, as a browser's would be: ~2.5 ms less CPU per join here.
  installNativeKeyExchange();
  const viewers: Viewer[] = [];
  const send = (reply: Reply): void => void process.send!(reply);

  async function joinOne(url: string, timeoutMs: number): Promise<JoinTiming> {
    const started = performance.now();
    const client = await LiteClient.connect({ url, role: 'play', timeoutMs });
    const viewer = new Viewer(client);
    viewers.push(viewer);
    const connectedMs = performance.now() - started;
    await viewer.firstVideo(Math.max(0, timeoutMs - connectedMs));
    // timings count from after the client's set-up (its shared certificate): close enough to `started` once that exists.
    const { postMs, iceMs, dtlsMs } = client.timings;
    return { postMs, iceMs, dtlsMs, ...(viewer.firstVideoAt !== undefined ? { firstVideoMs: viewer.firstVideoAt - started } : {}) };
  }

  process.on('message', (request: Request) => {
    if (request.type === 'join') {
      const failures: string[] = [];
      void Promise.all(
        Array.from({ length: request.count }, () =>
          joinOne(request.url, request.timeoutMs).catch((error: unknown) => {
            failures.push((error as Error).message);
            return undefined;
          }),
        ),
      ).then((joins) => send({ type: 'joined', joins: joins.filter((j): j is JoinTiming => j !== undefined), failures }));
    } else if (request.type === 'snapshot') {
      let silent = 0;
      for (const v of viewers) {
        if (v.received === v.lastReceived) silent++;
        v.lastReceived = v.received;
      }
      send({
        type: 'snapshot',
        snapshot: {
          received: viewers.reduce((s, v) => s + v.received, 0),
          expected: viewers.reduce((s, v) => s + v.expected, 0),
          silent,
          decryptFailures: viewers.reduce((s, v) => s + v.decryptFailures, 0),
          profile: viewers[0]?.client.srtpProfile ?? '-',
        },
      });
    } else {
      void Promise.all(viewers.splice(0).map((v) => v.client.close())).then(() => send({ type: 'closed' }));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`viewer process failed: ${String(error)}\n`);
    process.exit(1);
  });
}
