// A WHEP viewer: its session, and one forwarder per publisher track it receives.
// Its RTCP asks for keyframes (PLI/FIR, passed on to the publisher, throttled) and
// for retransmissions (NACK, answered from the track's packet cache).
import { randomBytes } from 'node:crypto';
import type { CloseReason, Session } from '../engine/session';
import { parseRtcp } from '../rtp/rtcp';
import type { PlayMedia } from '../sdp/types';
import type { FanoutPath, Forwarder } from './forwarder';
import type { MediaKind } from '../rtp/mediaKind';

export interface ViewerHooks {
  /** The viewer asked for a keyframe (PLI or FIR). */
  keyframeRequested(): void;
  /** The viewer lost these packets of the track it receives through `forwarder`. */
  nack(forwarder: Forwarder, viewerSeqs: number[]): void;
  /** DTLS is up: the viewer can be started (keyframe group, or a keyframe request). */
  ready(viewer: Viewer): void;
}

export interface ViewerCounters {
  pliReceived: number;
  firReceived: number;
  nackReceived: number;
  rtcpReceived: number;
}

export class Viewer {
  readonly forwarders: Forwarder[];
  readonly cname = randomBytes(8).toString('hex');
  readonly msid = randomBytes(8).toString('hex');
  readonly counters: ViewerCounters = { pliReceived: 0, firReceived: 0, nackReceived: 0, rtcpReceived: 0 };
  private readonly bySsrc = new Map<number, Forwarder>();

  constructor(
    readonly session: Session,
    media: readonly PlayMedia[],
    hooks: ViewerHooks,
    fanout: FanoutPath,
  ) {
    this.forwarders = media.filter((m) => m.sourceKind !== undefined).map((m) => fanout.createForwarder(session, m, randomBytes(4).readUInt32BE(0)));
    for (const f of this.forwarders) this.bySsrc.set(f.ssrc, f);
    session.once('connected', () => hooks.ready(this));
    session.on('rtcp', (packet) => {
      this.counters.rtcpReceived++;
      for (const item of parseRtcp(packet)) {
        switch (item.type) {
          case 'pli':
            this.counters.pliReceived++;
            hooks.keyframeRequested();
            break;
          case 'fir':
            this.counters.firReceived++;
            hooks.keyframeRequested();
            break;
          case 'nack': {
            this.counters.nackReceived++;
            const forwarder = this.bySsrc.get(item.mediaSsrc);
            if (forwarder !== undefined) hooks.nack(forwarder, item.lost);
            break;
          }
          default:
            // Receiver reports, REMB and TWCC describe this viewer's own link; the
            // publisher must not slow down for one viewer, so they stop here.
            break;
        }
      }
    });
  }

  /** Ends the viewing (its room calls this, also when the session ended by itself): forwarders, then the session. */
  close(reason: CloseReason): void {
    for (const f of this.forwarders) f.close();
    this.session.close(reason);
  }

  forwarder(kind: MediaKind): Forwarder | undefined {
    return this.forwarders.find((f) => f.kind === kind);
  }

  /** What goes into the answer's a=ssrc / a=msid lines, by mid. */
  sendSsrcs(media: readonly PlayMedia[]): Map<string, { ssrc: number; cname: string; msid: string; trackId: string }> {
    const out = new Map<string, { ssrc: number; cname: string; msid: string; trackId: string }>();
    for (const m of media) {
      if (m.sourceKind === undefined) continue;
      const f = this.forwarder(m.kind)!;
      out.set(m.mid, { ssrc: f.ssrc, cname: this.cname, msid: this.msid, trackId: `${this.msid}-${m.kind}` });
    }
    return out;
  }
}
