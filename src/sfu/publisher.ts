// The publishing side of a room: one session's decrypted RTP, sorted into its
// audio and video tracks. OBS sends no mid header extension, so a packet's track
// is found by SSRC (from the offer's a=ssrc), then by mid extension, then by
// payload type, and the answer is remembered per SSRC.
import type { Session } from '../engine/session';
import type { NegotiatedMedia } from '../sdp/types';
import { readHeaderExtension, readRtp, type RtpView } from '../rtp/rtpPacket';
import { Track } from './track';

const MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';

export interface PublisherCounters {
  /** RTP packets that matched no negotiated track. */
  unroutable: number;
  rtcpPackets: number;
}

export class Publisher {
  readonly tracks: Track[];
  readonly counters: PublisherCounters = { unroutable: 0, rtcpPackets: 0 };
  private readonly bySsrc = new Map<number, Track>();
  private readonly byMid = new Map<string, Track>();
  private readonly byPayloadType = new Map<number, Track>();
  private readonly midExtensionId: number | undefined;

  constructor(
    readonly session: Session,
    media: readonly NegotiatedMedia[],
    private readonly onPacket: (track: Track, packet: Buffer, view: RtpView, keyframe: boolean) => void,
  ) {
    this.tracks = media.map((m) => new Track(m.mid, m.kind, m.codec));
    media.forEach((m, i) => {
      const track = this.tracks[i]!;
      for (const ssrc of m.ssrcs) this.bySsrc.set(ssrc, track);
      this.byMid.set(m.mid, track);
      this.byPayloadType.set(m.codec.payloadType, track);
    });
    this.midExtensionId = media.flatMap((m) => m.extensions).find((e) => e.uri === MID_URI)?.id;
    session.on('rtp', (packet) => this.onRtp(packet));
    session.on('rtcp', () => this.counters.rtcpPackets++);
  }

  track(kind: 'audio' | 'video'): Track | undefined {
    return this.tracks.find((t) => t.kind === kind);
  }

  private onRtp(packet: Buffer): void {
    const view = readRtp(packet);
    if (view === undefined) {
      this.counters.unroutable++;
      return;
    }
    const track = this.route(packet, view);
    if (track === undefined) {
      this.counters.unroutable++;
      return;
    }
    const keyframe = track.account(packet, view, Date.now());
    this.onPacket(track, packet, view, keyframe);
  }

  private route(packet: Buffer, view: RtpView): Track | undefined {
    const known = this.bySsrc.get(view.ssrc);
    if (known !== undefined) {
      known.ssrc ??= view.ssrc;
      return known;
    }
    let track: Track | undefined;
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
}
