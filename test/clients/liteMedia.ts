// Media-level wrappers around the lite client (./lite) for end-to-end tests of the SFU:
// a publisher that streams synthetic H.264 + Opus and logs every plain packet it sent,
// and a viewer that decrypts every SRTP packet it gets and logs it with its arrival time,
// plus every SRTCP packet either side receives (parsed). Times are performance.now().
import { performance } from 'node:perf_hooks';
import { LiteClient, type LiteClientOptions } from './lite';
import { createSource, type SyntheticSource, type SyntheticSourceOptions } from './syntheticMedia';
import type { MediaKind } from '../../src/rtp/mediaKind';
import { parseRtcp, type RtcpItem } from '../../src/rtp/rtcp';
import { readRtp, type RtpView } from '../../src/rtp/rtpPacket';

/** One m-section of an SDP answer, as far as these tests care. */
export interface AnswerSection {
  kind: MediaKind;
  mid: string;
  port: number;
  direction: string;
  payloadType: number;
  rtpmap: string;
  rtcpFeedback: string[];
  ssrcs: number[];
  candidates: { ip: string; port: number }[];
}

export function parseAnswerSections(sdp: string): AnswerSection[] {
  const out: AnswerSection[] = [];
  let cur: AnswerSection | undefined;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    const m = /^m=(audio|video) (\d+) \S+ (\d+)/.exec(line);
    if (m) {
      cur = {
        kind: m[1] as MediaKind,
        mid: '',
        port: Number(m[2]),
        direction: '',
        payloadType: Number(m[3]),
        rtpmap: '',
        rtcpFeedback: [],
        ssrcs: [],
        candidates: [],
      };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    if (line.startsWith('a=mid:')) cur.mid = line.slice(6);
    else if (/^a=(sendonly|recvonly|sendrecv|inactive)$/.test(line)) cur.direction = line.slice(2);
    else if (line.startsWith('a=rtpmap:')) cur.rtpmap = line.slice(9).split(' ').slice(1).join(' ');
    else if (line.startsWith('a=rtcp-fb:')) cur.rtcpFeedback.push(line.slice(10).split(' ').slice(1).join(' '));
    else if (line.startsWith('a=ssrc:')) {
      const n = Number(/^a=ssrc:(\d+)/.exec(line)?.[1]);
      if (Number.isInteger(n) && !cur.ssrcs.includes(n)) cur.ssrcs.push(n);
    } else if (line.startsWith('a=candidate:')) {
      const c = /^a=candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) typ/.exec(line);
      if (c) cur.candidates.push({ ip: c[1]!, port: Number(c[2]) });
    }
  }
  return out;
}

export interface ReceivedRtp {
  at: number;
  kind: MediaKind | undefined;
  /** The decrypted packet. */
  plain: Buffer;
  view: RtpView;
}

export interface ReceivedRtcp {
  at: number;
  items: RtcpItem[];
}

/** The payload bytes of a plain RTP packet (no padding). */
export function payloadOf(plain: Buffer, view = readRtp(plain)!): Buffer {
  return plain.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength);
}

/**
 * The H.264 NAL units an RTP payload starts: a single NAL unit's type, a STAP-A's
 * aggregated types, or an FU-A's fragment type with its S bit.
 */
export function h264Nals(payload: Buffer): { type: number; fuStart?: boolean }[] {
  if (payload.length === 0) return [];
  const type = payload[0]! & 0x1f;
  if (type === 28 && payload.length >= 2) return [{ type: payload[1]! & 0x1f, fuStart: (payload[1]! & 0x80) !== 0 }];
  if (type === 24) {
    const out: { type: number }[] = [];
    for (let p = 1; p + 2 < payload.length;) {
      const size = payload.readUInt16BE(p);
      out.push({ type: payload[p + 2]! & 0x1f });
      p += 2 + size;
    }
    return out;
  }
  return [{ type }];
}

/** a − b for 16-bit sequence numbers, as a signed difference. */
export function seqDiff(a: number, b: number): number {
  return ((((a - b) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
}

/** a − b for 32-bit RTP timestamps, as a signed difference. */
export function tsDiff(a: number, b: number): number {
  return ((a - b) >>> 0) | 0;
}

export function percentile(values: readonly number[], f: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(s.length * f))]!;
}

// ---------------------------------------------------------------------------------------------

export class MediaViewer {
  readonly packets: ReceivedRtp[] = [];
  readonly rtcp: ReceivedRtcp[] = [];
  decryptFailures = 0;
  /** SRTP packets the client had counted before our hook was installed (must stay 0). */
  packetsBeforeHook = 0;
  readonly sections: AnswerSection[];
  private readonly kindBySsrc = new Map<number, MediaKind>();

  private constructor(
    readonly client: LiteClient,
    /** performance.now() when connect() was called. */
    readonly joinedAt: number,
    /** performance.now() when SRTP was ready. */
    readonly readyAt: number,
  ) {
    this.sections = parseAnswerSections(client.answer);
    for (const s of this.sections) for (const ssrc of s.ssrcs) this.kindBySsrc.set(ssrc, s.kind);
    this.packetsBeforeHook = client.counters.rtpPackets;
    client.onRtp = (encrypted) => {
      const at = performance.now();
      const plain = client.decryptRtp(encrypted);
      const view = plain === undefined ? undefined : readRtp(plain);
      if (plain === undefined || view === undefined) {
        this.decryptFailures++;
        return;
      }
      this.packets.push({ at, kind: this.kindBySsrc.get(view.ssrc), plain, view });
    };
    client.onRtcp = (plain) => this.rtcp.push({ at: performance.now(), items: parseRtcp(plain) });
  }

  static async connect(url: string, options: Partial<LiteClientOptions> = {}): Promise<MediaViewer> {
    const joinedAt = performance.now();
    // The hook goes on in the same microtask run as connect() resolving, before any later datagram.
    return LiteClient.connect({ timeoutMs: 20_000, ...options, url, role: 'play' }).then((c) => new MediaViewer(c, joinedAt, performance.now()));
  }

  /** The answer's section of this kind. */
  section(kind: MediaKind): AnswerSection {
    const s = this.sections.find((x) => x.kind === kind);
    if (!s) throw new Error(`the answer has no ${kind} section`);
    return s;
  }

  /** The SSRC the answer declared for this kind. */
  ssrc(kind: MediaKind): number {
    const s = this.section(kind).ssrcs;
    if (s.length !== 1) throw new Error(`the answer's ${kind} section declares ${s.length} SSRCs`);
    return s[0]!;
  }

  of(kind: MediaKind, since = -Infinity): ReceivedRtp[] {
    return this.packets.filter((p) => p.kind === kind && p.at >= since);
  }

  rtcpItems(since = -Infinity): (RtcpItem & { at: number })[] {
    return this.rtcp.filter((r) => r.at >= since).flatMap((r) => r.items.map((i) => ({ ...i, at: r.at })));
  }

  /** Our own RTCP sender SSRC (never announced; the client's unused video SSRC). */
  get rtcpSsrc(): number {
    return this.client.videoSsrc;
  }

  sendRtcp(packet: Buffer): void {
    this.client.sendRtcp(packet);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export interface SentRtp {
  at: number;
  kind: MediaKind;
  plain: Buffer;
  view: RtpView;
}

export class MediaPublisher {
  readonly sent: SentRtp[] = [];
  readonly rtcp: ReceivedRtcp[] = [];
  readonly source: SyntheticSource;
  /** Return false to drop a packet (not sent, but still logged in `dropped`). */
  filter: ((packet: Buffer, view: RtpView, kind: MediaKind) => boolean) | undefined;
  readonly dropped: SentRtp[] = [];

  private constructor(
    readonly client: LiteClient,
    sourceOptions: Omit<SyntheticSourceOptions, 'videoSsrc' | 'audioSsrc'>,
  ) {
    this.source = createSource({ ...sourceOptions, videoSsrc: client.videoSsrc, audioSsrc: client.audioSsrc });
    client.onRtcp = (plain) => this.rtcp.push({ at: performance.now(), items: parseRtcp(plain) });
  }

  static async connect(
    url: string,
    sourceOptions: Omit<SyntheticSourceOptions, 'videoSsrc' | 'audioSsrc'> = {},
    options: Partial<LiteClientOptions> = {},
  ): Promise<MediaPublisher> {
    return LiteClient.connect({ timeoutMs: 20_000, ...options, url, role: 'publish' }).then((c) => new MediaPublisher(c, sourceOptions));
  }

  start(): void {
    this.source.start((packet, kind) => {
      const view = readRtp(packet)!;
      const entry = { at: performance.now(), kind, plain: packet, view };
      if (this.filter && !this.filter(packet, view, kind)) {
        this.dropped.push(entry);
        return;
      }
      this.sent.push(entry);
      this.client.sendRtp(packet);
    });
  }

  stop(): void {
    this.source.stop();
  }

  /** Sends a plain packet again (a retransmission on the same SSRC and sequence number). */
  resend(packet: Buffer): void {
    const view = readRtp(packet)!;
    this.sent.push({ at: performance.now(), kind: view.ssrc === this.client.audioSsrc ? 'audio' : 'video', plain: packet, view });
    this.client.sendRtp(packet);
  }

  of(kind: MediaKind, since = -Infinity): SentRtp[] {
    return this.sent.filter((p) => p.kind === kind && p.at >= since);
  }

  rtcpItems(since = -Infinity): (RtcpItem & { at: number })[] {
    return this.rtcp.filter((r) => r.at >= since).flatMap((r) => r.items.map((i) => ({ ...i, at: r.at })));
  }

  /** performance.now() of the last keyframe start (STAP-A with SPS) sent, if any. */
  lastKeyframeAt(): number | undefined {
    for (let i = this.sent.length - 1; i >= 0; i--) {
      const s = this.sent[i]!;
      if (s.kind === 'video' && h264Nals(payloadOf(s.plain, s.view))[0]?.type === 7) return s.at;
    }
    return undefined;
  }

  get sections(): AnswerSection[] {
    return parseAnswerSections(this.client.answer);
  }

  close(): Promise<void> {
    this.source.stop();
    return this.client.close();
  }
}
