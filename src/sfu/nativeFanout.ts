// The fan-out in C (src/engine/native): each viewer track is an output in the addon
// holding its rewrite, SRTP and keyframe state; a room's track group is one addon
// group, and a publisher packet reaches all of it in one call that rewrites, encrypts
// and sends in sendmmsg batches. This side keeps the addon's outputs in step with the
// sessions: keys when DTLS is up, the route (socket fd and address) when the path
// changes or a socket closes, nothing once the viewer has gone.
import type { Address } from '../engine/address';
import { FORWARD_KEYFRAME_NEEDED, type FanoutAddon, type FanoutGroup, type FanoutOutput } from '../engine/native/fanoutAddon';
import type { Session } from '../engine/session';
import type { OutboundRoute } from '../engine/localSockets';
import { TAG_LENGTH } from '../engine/srtp/srtpContext';
import type { RtpView } from '../rtp/rtpPacket';
import type { PlayMedia } from '../sdp/types';
import type { MediaKind } from '../rtp/mediaKind';
import type { CachedPacket } from './packetCache';
import { type FanoutPath, type Forwarder, type ForwarderCounters, ResendBudget, rewriterOptions, type SenderInfo, type TrackGroup } from './forwarder';

/** Where the engine sends from: the socket and address a datagram to `to` would use. */
export interface RouteSource {
  routeFor(to: Address): OutboundRoute | undefined;
  /** Calls `listener` with a socket's fd just before the socket closes. */
  onRetire(listener: (fd: number) => void): void;
}

class NativeForwarder implements Forwarder {
  readonly kind: MediaKind;
  readonly codecName: string;
  readonly output: FanoutOutput;
  private readonly budget = new ResendBudget();
  private resent = 0;
  private resendsRefused = 0;
  private routedFd: number | undefined;
  /** The SRTP profile the keys are for (it sizes the tag each datagram carries). */
  private profile: number | undefined;
  private closed = false;

  constructor(
    private readonly addon: FanoutAddon,
    private readonly routes: RouteSource,
    private readonly session: Session,
    media: PlayMedia,
    readonly ssrc: number,
  ) {
    this.kind = media.kind;
    this.codecName = media.codec.name;
    this.output = addon.createOutput({ ...rewriterOptions(media, ssrc), video: media.kind === 'video' });
    session.once('connected', () => {
      const keys = session.outboundKeys;
      if (keys === undefined || this.closed) return;
      this.profile = keys.profile;
      addon.setKeys(this.output, keys.profile, keys.masterKey, keys.masterSalt);
      this.reroute();
    });
    session.on('path', () => this.reroute());
    session.addOutboundMeter(() => {
      const { directDatagrams, directBytes } = this.counters;
      return { packets: directDatagrams, bytes: directBytes };
    });
  }

  get counters(): ForwarderCounters {
    const state = this.addon.outputState(this.output);
    // The addon counts RTP bytes, as the JavaScript forwarder does; on the wire each datagram also carries the SRTP tag.
    const tag = this.profile !== undefined ? (TAG_LENGTH[this.profile] ?? 0) : 0;
    return {
      packets: state.packets,
      bytes: state.bytes,
      resent: this.resent,
      resendsRefused: this.resendsRefused,
      skippedBeforeKeyframe: state.skippedBeforeKeyframe,
      directDatagrams: state.packets,
      directBytes: state.bytes + state.packets * tag,
      dropped: state.sendDrops,
    };
  }

  get firstPacketAt(): number | undefined {
    return this.addon.outputState(this.output).firstPacketAt;
  }

  /** Points the output at the session's current path (or nowhere: not connected, no path, gone). */
  reroute(): void {
    const to = this.session.selectedAddress;
    const route = !this.closed && this.session.outboundKeys !== undefined && to !== undefined ? this.routes.routeFor(to) : undefined;
    if (route === undefined) {
      this.addon.clearRoute(this.output);
      this.routedFd = undefined;
    } else {
      this.addon.setRoute(this.output, route.fd, route.host, route.port);
      this.routedFd = route.fd;
    }
  }

  /** A socket is closing: an output sending on it moves to the route the engine now gives. */
  onRetire(fd: number): void {
    // The closing socket is already out of the engine's tables: its choice now is another one (or none).
    if (this.routedFd === fd) this.reroute();
  }

  sendKeyframeGroup(group: readonly CachedPacket[], now: number): boolean {
    if (group.length === 0) return false;
    this.addon.sendGroup(
      this.output,
      group.map((c) => c.packet),
      now,
    );
    return true;
  }

  sourceSequenceNumbers(viewerSeqs: readonly number[]): number[] {
    const out = new Set<number>();
    for (const seq of viewerSeqs) {
      const source = this.addon.toSourceSeq(this.output, seq);
      if (source !== undefined) out.add(source);
    }
    return [...out];
  }

  resend(cached: CachedPacket, now: number): void {
    // Only packets of the source the viewer's numbering currently follows.
    if (cached.view.ssrc !== this.addon.outputState(this.output).sourceSsrc) return;
    if (!this.budget.take(now)) {
      this.resendsRefused++;
      return;
    }
    this.resent++;
    this.addon.send(this.output, cached.packet, now);
  }

  senderInfo(sourceSsrc: number): SenderInfo | undefined {
    const state = this.addon.outputState(this.output);
    if (state.timestampOffset === undefined || state.firstPacketAt === undefined) return undefined;
    if (state.sourceSsrc !== sourceSsrc || state.waitingForKeyframe) return undefined;
    return { ssrc: this.ssrc, timestampOffset: state.timestampOffset, packetCount: state.packetsSent, octetCount: state.octetsSent };
  }

  close(): void {
    this.closed = true;
    this.addon.clearRoute(this.output);
    this.routedFd = undefined;
  }
}

class NativeTrackGroup implements TrackGroup {
  private readonly group: FanoutGroup;

  constructor(private readonly addon: FanoutAddon) {
    this.group = addon.createGroup();
  }

  add(forwarder: Forwarder): void {
    if (!(forwarder instanceof NativeForwarder)) throw new TypeError('a native track group takes native forwarders only');
    this.addon.groupAdd(this.group, forwarder.output);
  }

  remove(forwarder: Forwarder): void {
    if (forwarder instanceof NativeForwarder) this.addon.groupRemove(this.group, forwarder.output);
  }

  forward(packet: Buffer, _view: RtpView, keyframeStart: boolean, now: number): boolean {
    return (this.addon.forward(this.group, packet, keyframeStart, now) & FORWARD_KEYFRAME_NEEDED) !== 0;
  }
}

/** The native path for one server: its forwarders follow the server's sockets. */
export function createNativeFanout(addon: FanoutAddon, routes: RouteSource): FanoutPath {
  const live = new Set<NativeForwarder>();
  routes.onRetire((fd) => {
    for (const forwarder of live) forwarder.onRetire(fd);
  });
  return {
    name: 'native',
    createForwarder: (session, media, ssrc) => {
      const forwarder = new NativeForwarder(addon, routes, session, media, ssrc);
      live.add(forwarder);
      session.once('closed', () => live.delete(forwarder));
      return forwarder;
    },
    createGroup: () => new NativeTrackGroup(addon),
  };
}
