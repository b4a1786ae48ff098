// The fan-out tests' room: an in-process server, publishers (the lite client with synthetic
// H.264 + Opus) and viewers (the lite client, role 'play': H.264 PT 102 + Opus PT 111), closed
// after each test; and the checks they share, made on decrypted packets as the clients got them.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { RtcpItem } from '../../src/rtp/rtcp';
import { MediaPublisher, MediaViewer, payloadOf, seqDiff, tsDiff, type ReceivedRtp, type SentRtp } from '../clients/liteMedia';
import type { MediaKind } from '../../src/rtp/mediaKind';
import { watchLoopDelay, type LoopDelay } from './loopDelay';
import { startServer, waitFor, type TestServer } from './server';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const KINDS: MediaKind[] = ['audio', 'video'];
export const VIEWER_PT: Record<MediaKind, number> = { audio: 111, video: 102 };
export const CLOCK_KHZ: Record<MediaKind, number> = { audio: 48, video: 90 };

/** Every SSRC an RTCP item names (sender, media source, report blocks, REMB list, FIR entries). */
export function ssrcsOf(item: RtcpItem): number[] {
  switch (item.type) {
    case 'sr':
    case 'rr':
      return [item.ssrc, ...item.reports.map((r) => r.ssrc)];
    case 'pli':
    case 'nack':
    case 'twcc':
      return [item.senderSsrc, item.mediaSsrc];
    case 'fir':
      return [item.senderSsrc, ...item.entries.map((e) => e.ssrc)];
    case 'remb':
      return [item.senderSsrc, ...item.ssrcs];
    default:
      return [];
  }
}

/** Sequence-number gaps and timestamp reversals in a run of packets of one SSRC, as sentences. */
export function continuityProblems(label: string, packets: readonly ReceivedRtp[]): string[] {
  const problems: string[] = [];
  for (let i = 1; i < packets.length; i++) {
    const a = packets[i - 1]!.view;
    const b = packets[i]!.view;
    if (seqDiff(b.sequenceNumber, a.sequenceNumber) !== 1) problems.push(`${label}: seq ${a.sequenceNumber} → ${b.sequenceNumber} at #${i}`);
    if (tsDiff(b.timestamp, a.timestamp) < 0) problems.push(`${label}: timestamp went back ${a.timestamp} → ${b.timestamp} at #${i}`);
  }
  return problems.slice(0, 5);
}

/** The publisher packet whose payload is this viewer packet's (payloads are random bytes). */
export function sourceOf(pub: MediaPublisher, received: ReceivedRtp): SentRtp | undefined {
  const payload = payloadOf(received.plain, received.view);
  for (let i = pub.sent.length - 1; i >= 0; i--) {
    const s = pub.sent[i]!;
    if (s.kind === received.kind && payloadOf(s.plain, s.view).equals(payload)) return s;
  }
  return undefined;
}

/** The publisher's RTP timestamp "now" for a kind: its last packet's, advanced by the time since. */
export function currentRtpTimestamp(pub: MediaPublisher, kind: MediaKind): number {
  const last = pub.of(kind).at(-1)!;
  return (last.view.timestamp + Math.round((performance.now() - last.at) * CLOCK_KHZ[kind])) >>> 0;
}

/** Waits until every viewer has received the last packet of each kind the (stopped) publisher sent. */
export function drained(pub: MediaPublisher, vs: readonly MediaViewer[]): Promise<true> {
  const last = KINDS.map((kind) => pub.of(kind).at(-1)).filter((p): p is SentRtp => p !== undefined);
  const arrived = (v: MediaViewer, sent: SentRtp): boolean =>
    v.of(sent.kind, sent.at).some((p) => payloadOf(p.plain, p.view).equals(payloadOf(sent.plain, sent.view)));
  return waitFor("the publisher's last packets at every viewer", () => (vs.every((v) => last.every((sent) => arrived(v, sent))) ? true : undefined), 2_000, 10);
}

export function problemsFree(problems: string[]): void {
  assert.deepEqual(problems, [], problems.join('\n'));
}

export interface FanoutRoom {
  readonly server: TestServer;
  /** How late the shared event loop ran since the test began, in ms: the allowance a latency bound gets on a busy machine. */
  loopLateMs(): number;
  /** Closed after each test: publish() adds to it, and so may a test that connects one itself. */
  readonly publishers: MediaPublisher[];
  publish(room: string, opts?: { videoKbps?: number; keyframeIntervalFrames?: number }): Promise<MediaPublisher>;
  join(room: string): Promise<MediaViewer>;
  joinMany(room: string, n: number): Promise<MediaViewer[]>;
}

/** Registers the enclosing describe's hooks: a server for its tests, every publisher and viewer closed after each. */
export function fanoutRoom(): FanoutRoom {
  let server: TestServer;
  const publishers: MediaPublisher[] = [];
  const viewers: MediaViewer[] = [];

  async function publish(room: string, opts: { videoKbps?: number; keyframeIntervalFrames?: number } = {}): Promise<MediaPublisher> {
    const pub = await MediaPublisher.connect(`${server.url}/whip/${room}`, {
      videoKbps: opts.videoKbps ?? 2000,
      fps: 30,
      keyframeIntervalFrames: opts.keyframeIntervalFrames ?? 60,
      audio: true,
    });
    publishers.push(pub);
    pub.start();
    await waitFor(
      `room ${room} live with a keyframe`,
      async () => {
        const r = await server.room(room);
        return r?.live && (r.video?.keyframes ?? 0) >= 1 ? true : undefined;
      },
      5_000,
    );
    return pub;
  }

  function join(room: string): Promise<MediaViewer> {
    return MediaViewer.connect(`${server.url}/whep/${room}`).then((v) => {
      viewers.push(v);
      return v;
    });
  }

  async function joinMany(room: string, n: number): Promise<MediaViewer[]> {
    const vs = await Promise.all(Array.from({ length: n }, () => join(room)));
    await waitFor(`${n} viewers receiving video`, () => (vs.every((v) => v.of('video').length > 0) ? true : undefined), 5_000);
    return vs;
  }

  before(async () => {
    server = await startServer();
  });

  let loopDelay: LoopDelay | undefined;
  beforeEach(() => {
    loopDelay = watchLoopDelay();
  });

  afterEach(async () => {
    loopDelay?.stop();
    await Promise.all(viewers.splice(0).map((v) => v.close().catch(() => {})));
    await Promise.all(publishers.splice(0).map((p) => p.close().catch(() => {})));
  });

  after(async () => {
    await server?.close();
  });

  return {
    get server(): TestServer {
      return server;
    },
    loopLateMs: () => loopDelay?.maxMs() ?? 0,
    publishers,
    publish,
    join,
    joinMany,
  };
}
