// The publishing side of a room: one session's decrypted RTP, sorted into its
// audio and video tracks, and the RTCP a good receiver sends back: receiver
// reports, NACKs for its own losses, keyframe requests, and bandwidth feedback:
// transport-wide CC where negotiated (Chromium estimates its bandwidth from it;
// without it, it stayed at ~500 kbit/s here), and REMB as a ceiling.
import type { CloseReason } from '../engine/session';
import { EXTENSION_URI, type NegotiatedMedia } from '../sdp/types';
import { readHeaderExtension, readRtp, type RtpView } from '../rtp/rtpPacket';
import { buildFir, buildNack, buildPli, buildRemb, buildRr, parseRtcp } from '../rtp/rtcp';
import { TwccRecorder } from '../rtp/twcc';
import { PublishedTrack, type SenderReport } from './publishedTrack';
import type { MediaKind } from '../rtp/mediaKind';
import type { PublisherSession } from './publisherSession';

/** The bitrate onecast tells publishers it can take (REMB): a ceiling, not a target. */
export const MAX_PUBLISH_BITRATE = 10_000_000;
/** At most one keyframe request to a publisher in this interval (viewers' PLIs are merged). */
const KEYFRAME_REQUEST_INTERVAL_MS = 500;
const FEEDBACK_TICK_MS = 50;
const REPORT_EVERY_TICKS = 20;
/** A lost packet is NACKed again after this long, at most NACK_TRIES times. */
const NACK_RETRY_MS = 100;
const NACK_TRIES = 3;

export interface PublisherCounters {
  /** RTP packets that matched no negotiated track. */
  unroutable: number;
  rtcpPackets: number;
  keyframeRequests: number;
  nacksSent: number;
  twccFeedbackSent: number;
}

export interface PublisherHooks {
  packet(track: PublishedTrack, packet: Buffer, view: RtpView, keyframe: boolean): void;
  senderReport(track: PublishedTrack, report: SenderReport): void;
}

export class Publisher {
  readonly tracks: PublishedTrack[];
  readonly counters: PublisherCounters = { unroutable: 0, rtcpPackets: 0, keyframeRequests: 0, nacksSent: 0, twccFeedbackSent: 0 };
  /** Our own SSRC as an RTCP sender (receiver reports, feedback). */
  readonly rtcpSsrc = 1;
  private readonly bySsrc = new Map<number, PublishedTrack>();
  private readonly byMid = new Map<string, PublishedTrack>();
  private readonly byPayloadType = new Map<number, PublishedTrack>();
  private readonly midExtensionId: number | undefined;
  private readonly twccExtensionId: number | undefined;
  private readonly twcc: TwccRecorder | undefined;
  private lastKeyframeRequest = 0;
  private readonly nacked = new Map<number, { at: number; tries: number }>();
  private ticks = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly session: PublisherSession,
    readonly media: readonly NegotiatedMedia[],
    private readonly hooks: PublisherHooks,
  ) {
    this.tracks = media.map((m) => new PublishedTrack(m.mid, m.kind, m.codec));
    media.forEach((m, i) => {
      const track = this.tracks[i]!;
      for (const ssrc of m.ssrcs) this.bySsrc.set(ssrc, track);
      this.byMid.set(m.mid, track);
      this.byPayloadType.set(m.codec.payloadType, track);
    });
    const extensions = media.flatMap((m) => m.extensions);
    this.midExtensionId = extensions.find((e) => e.uri === EXTENSION_URI.mid)?.id;
    if (media.some((m) => m.rtcpFeedback.includes('transport-cc'))) {
      this.twccExtensionId = extensions.find((e) => e.uri === EXTENSION_URI.transportCc)?.id;
      if (this.twccExtensionId !== undefined) {
        this.twcc = new TwccRecorder(this.rtcpSsrc, () => this.tracks.find((t) => t.ssrc !== undefined)?.ssrc ?? 0);
      }
    }
    session.on('rtp', (packet) => this.onRtp(packet));
    session.on('rtcp', (packet) => this.onRtcp(packet));
    this.timer = setInterval(() => this.tick(Date.now()), FEEDBACK_TICK_MS);
    this.timer.unref();
  }

  /**
   * Ends the publish (its room calls this, also when the session ended by itself):
   * feedback stops, the tracks let go of their packets, the session closes with
   * `reason` if it is still open (and with it its listeners go).
   */
  close(reason: CloseReason): void {
    clearInterval(this.timer);
    for (const track of this.tracks) track.close();
    this.session.close(reason);
  }

  track(kind: MediaKind): PublishedTrack | undefined {
    return this.tracks.find((t) => t.kind === kind);
  }

  /**
   * Asks the publisher for a keyframe: PLI, or FIR where only FIR was negotiated.
   * Throttled, because every joining viewer and every viewer's PLI lands here.
   * OBS ignores both and sends keyframes on its own interval; the room's
   * keyframe cache is what serves its viewers at once.
   */
  requestKeyframe(now = Date.now()): boolean {
    const video = this.track('video');
    if (video === undefined || this.session.state !== 'connected') return false;
    if (now - this.lastKeyframeRequest < KEYFRAME_REQUEST_INTERVAL_MS) return false;
    const mediaSsrc = video.ssrc ?? this.media.find((m) => m.kind === 'video')?.ssrcs[0];
    if (mediaSsrc === undefined) return false;
    const feedback = video.codec.rtcpFeedback;
    const packet =
      !feedback.includes('nack pli') && feedback.includes('ccm fir')
        ? buildFir(this.rtcpSsrc, mediaSsrc, this.counters.keyframeRequests & 0xff)
        : buildPli(this.rtcpSsrc, mediaSsrc);
    this.lastKeyframeRequest = now;
    this.counters.keyframeRequests++;
    return this.session.sendRtcp(packet);
  }

  /** When the last RTP packet of any track arrived; undefined before the first. */
  lastPacketAt(): number | undefined {
    let last: number | undefined;
    for (const t of this.tracks) if (t.stats.lastPacketAt !== undefined && (last === undefined || t.stats.lastPacketAt > last)) last = t.stats.lastPacketAt;
    return last;
  }

  private onRtp(packet: Buffer): void {
    const view = readRtp(packet);
    // Every packet counts for congestion control, padding and probes included.
    if (view !== undefined && this.twcc !== undefined) {
      const seq = readHeaderExtension(packet, view, this.twccExtensionId!);
      if (seq !== undefined) this.twcc.record(seq, performance.now());
    }
    const track = view === undefined ? undefined : this.route(packet, view);
    if (track === undefined || view === undefined) {
      this.counters.unroutable++;
      return;
    }
    const keyframe = track.account(packet, view, Date.now());
    this.nacked.delete(nackKey(track, view.sequenceNumber));
    this.hooks.packet(track, packet, view, keyframe);
  }

  private onRtcp(packet: Buffer): void {
    this.counters.rtcpPackets++;
    const now = Date.now();
    for (const item of parseRtcp(packet)) {
      if (item.type !== 'sr') continue;
      const track = this.bySsrc.get(item.ssrc);
      if (track === undefined) continue;
      track.lastSenderReport = item;
      track.reception?.onSenderReport(item.ntpTime, now);
      this.hooks.senderReport(track, item);
    }
  }

  private route(packet: Buffer, view: RtpView): PublishedTrack | undefined {
    const known = this.bySsrc.get(view.ssrc);
    if (known !== undefined) {
      known.ssrc ??= view.ssrc;
      return known;
    }
    let track: PublishedTrack | undefined;
    if (this.midExtensionId !== undefined) {
      const mid = readHeaderExtension(packet, view, this.midExtensionId);
      if (mid !== undefined) track = this.byMid.get(Buffer.from(mid).toString('utf8'));
    }
    track ??= this.byPayloadType.get(view.payloadType);
    // Only the track's payload type may claim a new SSRC: RTX or FEC streams must not.
    if (track === undefined || view.payloadType !== track.codec.payloadType) return undefined;
    this.bySsrc.set(view.ssrc, track);
    track.ssrc = view.ssrc;
    return track;
  }

  private tick(now: number): void {
    if (this.session.state !== 'connected') return;
    if (this.twcc !== undefined) {
      for (const feedback of this.twcc.buildFeedback()) {
        this.counters.twccFeedbackSent++;
        this.session.sendRtcp(feedback);
      }
    }
    this.sendNacks(now);
    if (++this.ticks % REPORT_EVERY_TICKS !== 0) return;
    const reports = this.tracks.flatMap((t) => (t.reception === undefined ? [] : [t.reception.reportBlock(now)]));
    if (reports.length > 0) this.session.sendRtcp(buildRr({ ssrc: this.rtcpSsrc, reports }));
    if (this.tracks.some((t) => t.codec.rtcpFeedback.includes('goog-remb'))) {
      const ssrcs = this.tracks.flatMap((t) => (t.ssrc === undefined ? [] : [t.ssrc]));
      if (ssrcs.length > 0) this.session.sendRtcp(buildRemb(this.rtcpSsrc, MAX_PUBLISH_BITRATE, ssrcs));
    }
  }

  /** Generic NACKs (RFC 4585) for packets the publisher sent that never arrived. */
  private sendNacks(now: number): void {
    for (const track of this.tracks) {
      if (!track.codec.rtcpFeedback.includes('nack') || track.reception === undefined || track.ssrc === undefined) continue;
      const due: number[] = [];
      for (const seq of track.reception.missing()) {
        const state = this.nacked.get(nackKey(track, seq));
        if (state !== undefined && (state.tries >= NACK_TRIES || now - state.at < NACK_RETRY_MS)) continue;
        this.nacked.set(nackKey(track, seq), { at: now, tries: (state?.tries ?? 0) + 1 });
        due.push(seq);
      }
      if (due.length === 0) continue;
      this.counters.nacksSent++;
      this.session.sendRtcp(buildNack(this.rtcpSsrc, track.ssrc, due));
    }
    // Forget losses that are long gone, so the map stays small.
    if (this.nacked.size > 2048) {
      for (const [key, state] of this.nacked) if (now - state.at > 2_000) this.nacked.delete(key);
    }
  }
}

/** One key space for both tracks' sequence numbers in the NACK-retry map. */
function nackKey(track: PublishedTrack, seq: number): number {
  return track.kind === 'video' ? seq | 0x10000 : seq;
}
