// A room: at most one publisher and any number of viewers. Each publisher packet
// is decrypted once (by the publisher's session) and handed to every viewer's
// forwarder; viewers outlive a publisher and pick up the next one seamlessly.
import { EventEmitter } from 'node:events';
import type { CloseReason, Session } from '../engine/session';
import { forEachSafely, safeEmit } from '../engine/safeEmit';
import type { NegotiatedMedia, PlayMedia } from '../sdp/types';
import type { RtpView } from '../rtp/rtpPacket';
import { translateSr } from '../rtp/rtcp';
import type { MediaSink } from './mediaSink';
import type { FanoutPath, TrackGroup } from './forwarder';
import { Publisher } from './publisher';
import type { PublishedTrack } from './publishedTrack';
import type { MediaKind } from '../rtp/mediaKind';
import type { PublisherSession } from './publisherSession';
import { Viewer } from './viewer';

export interface RoomEvents {
  publisherJoined: [publisher: Publisher];
  /** The publisher's DTLS is up: the room is live. */
  publisherConnected: [publisher: Publisher];
  /** `reason`: why its session ended (the client's DELETE, replaced, consent expired, shutdown, …). */
  publisherLeft: [publisher: Publisher, reason: CloseReason];
  viewerJoined: [viewer: Viewer];
  viewerLeft: [viewer: Viewer];
  closed: [];
}

export class Room extends EventEmitter<RoomEvents> {
  // The room's state changes only through its own methods (attach, add, close, and the
  // sessions' 'closed'), so the maps and the events that follow them stay in step.
  private current: Publisher | undefined;
  /** Where the current publisher's media goes besides the viewers (a recording: see addSink). */
  private readonly sinks = new Set<MediaSink>();
  private readonly watching = new Set<Viewer>();
  /** The viewers' forwarders by the track they can take: `kind codec` (a viewer negotiated one codec). */
  private readonly groups = new Map<string, TrackGroup>();
  private isClosed = false;

  constructor(
    readonly name: string,
    private readonly fanout: FanoutPath,
  ) {
    super();
  }

  get publisher(): Publisher | undefined {
    return this.current;
  }

  get viewers(): ReadonlySet<Viewer> {
    return this.watching;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get live(): boolean {
    return this.publisher !== undefined && this.publisher.session.state === 'connected';
  }

  /** Whether nothing holds the room open any more. */
  get empty(): boolean {
    return this.publisher === undefined && this.viewers.size === 0;
  }

  /** Makes `session` this room's publisher (the caller has checked the room had none): a WHIP client's, or a relay's. */
  attachPublisher(session: PublisherSession, media: readonly NegotiatedMedia[]): Publisher {
    const publisher = new Publisher(session, media, {
      packet: (track, packet, view, keyframe) => this.fanOut(track, packet, view, keyframe),
      senderReport: (track, report) => {
        for (const sink of this.sinks) sink.onSenderReport(track.kind, report);
        for (const viewer of this.viewers) {
          const info = viewer.forwarder(track.kind)?.senderInfo(report.ssrc);
          if (info !== undefined) viewer.session.sendRtcp(translateSr(report, info));
        }
      },
    });
    this.current = publisher;
    session.once('connected', () => {
      // Viewers that stayed through a change of publisher need a picture now.
      if (this.viewers.size > 0) publisher.requestKeyframe();
      if (this.publisher === publisher) this.emit('publisherConnected', publisher);
    });
    session.once('closed', (reason) => this.publisherClosed(publisher, reason));
    this.emit('publisherJoined', publisher);
    return publisher;
  }

  addViewer(session: Session, media: readonly PlayMedia[]): Viewer {
    const viewer = new Viewer(
      session,
      media,
      {
        keyframeRequested: () => this.publisher?.requestKeyframe(),
        nack: (forwarder, viewerSeqs) => {
          const track = this.publisher?.track(forwarder.kind);
          if (track === undefined) return;
          const now = Date.now();
          for (const seq of forwarder.sourceSequenceNumbers(viewerSeqs)) {
            const cached = track.cache.get(seq);
            if (cached !== undefined) forwarder.resend(cached, now);
          }
        },
        ready: (v) => this.start(v),
      },
      this.fanout,
    );
    for (const forwarder of viewer.forwarders) this.group(forwarder.kind, forwarder.codecName).add(forwarder);
    this.watching.add(viewer);
    session.once('closed', (reason) => this.viewerClosed(viewer, reason));
    this.emit('viewerJoined', viewer);
    return viewer;
  }

  /**
   * From now on the current publisher's packets and sender reports also go to `sink`,
   * like a viewer that needs no negotiation, until removeSink. Added on
   * 'publisherConnected' and removed on 'publisherLeft', it sees one publish.
   */
  addSink(sink: MediaSink): void {
    this.sinks.add(sink);
  }

  removeSink(sink: MediaSink): void {
    this.sinks.delete(sink);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    try {
      // Each closes its session, whose end comes back here (publisherClosed, viewerClosed);
      // one that throws keeps neither the others nor 'closed' from happening.
      const members: (Publisher | Viewer)[] = [...(this.publisher !== undefined ? [this.publisher] : []), ...this.viewers];
      forEachSafely(members, (member) => member.close('server-shutdown'));
    } finally {
      try {
        safeEmit(this, 'closed');
      } finally {
        this.removeAllListeners();
      }
    }
  }

  /** The publisher's session ended (closed by anyone, for `reason`): the publisher closes, the room lets go of it. */
  private publisherClosed(publisher: Publisher, reason: CloseReason): void {
    publisher.close(reason);
    if (this.publisher !== publisher) return;
    this.current = undefined;
    safeEmit(this, 'publisherLeft', publisher, reason);
  }

  private viewerClosed(viewer: Viewer, reason: CloseReason): void {
    viewer.close(reason);
    for (const forwarder of viewer.forwarders) this.groups.get(groupKey(forwarder.kind, forwarder.codecName))?.remove(forwarder);
    this.watching.delete(viewer);
    safeEmit(this, 'viewerLeft', viewer);
  }

  /** A viewer's DTLS is up: start its video on the cached keyframe group, or ask for one. */
  private start(viewer: Viewer): void {
    const video = viewer.forwarder('video');
    if (video === undefined) return;
    const group = this.publisher?.track('video')?.cache.keyframeGroup() ?? [];
    if (video.codecName === this.publisher?.track('video')?.codec.name && video.sendKeyframeGroup(group, Date.now())) return;
    this.publisher?.requestKeyframe();
  }

  private fanOut(track: PublishedTrack, packet: Buffer, view: RtpView, keyframe: boolean): void {
    for (const sink of this.sinks) sink.onPacket(track.kind, packet, view, keyframe);
    // A viewer negotiated one codec; a later publisher with another one cannot reach it.
    const group = this.groups.get(groupKey(track.kind, track.codec.name));
    if (group === undefined) return;
    const now = Date.now();
    if (group.forward(packet, view, keyframe, now)) this.publisher?.requestKeyframe(now);
  }

  private group(kind: MediaKind, codecName: string): TrackGroup {
    const key = groupKey(kind, codecName);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = this.fanout.createGroup();
      this.groups.set(key, group);
    }
    return group;
  }
}

function groupKey(kind: MediaKind, codecName: string): string {
  return `${kind} ${codecName}`;
}
