// A room: at most one publisher, and (next) the viewers it fans out to.
import { EventEmitter } from 'node:events';
import type { Session } from '../engine/session';
import type { NegotiatedMedia } from '../sdp/types';
import type { RtpView } from '../rtp/rtpPacket';
import { Publisher } from './publisher';
import type { Track } from './track';

export interface RoomEvents {
  /** A decrypted RTP packet from the publisher, already sorted into its track. */
  rtp: [track: Track, packet: Buffer, view: RtpView, keyframe: boolean];
  publisherJoined: [publisher: Publisher];
  publisherLeft: [publisher: Publisher];
  closed: [];
}

export interface RoomSummary {
  room: string;
  live: boolean;
  viewers: number;
  recording: boolean;
  video: TrackSummary | null;
  audio: TrackSummary | null;
  publisher: { state: string; srtpProfile: string | null; srtpAuthFailures: number; unroutablePackets: number } | null;
}

export interface TrackSummary {
  codec: string;
  payloadType: number;
  packets: number;
  bytes: number;
  frames: number;
  keyframes: number;
}

export class Room extends EventEmitter<RoomEvents> {
  publisher: Publisher | undefined;
  readonly createdAt = Date.now();
  closed = false;

  constructor(readonly name: string) {
    super();
  }

  get live(): boolean {
    return this.publisher !== undefined && this.publisher.session.state === 'connected';
  }

  /** Whether nothing holds the room open any more. */
  get empty(): boolean {
    return this.publisher === undefined;
  }

  /** Makes `session` this room's publisher. The caller has checked the room had none. */
  attachPublisher(session: Session, media: readonly NegotiatedMedia[]): Publisher {
    const publisher = new Publisher(session, media, (track, packet, view, keyframe) => this.emit('rtp', track, packet, view, keyframe));
    this.publisher = publisher;
    session.once('closed', () => {
      if (this.publisher !== publisher) return;
      this.publisher = undefined;
      this.emit('publisherLeft', publisher);
    });
    this.emit('publisherJoined', publisher);
    return publisher;
  }

  summary(): RoomSummary {
    const p = this.publisher;
    const track = (kind: 'audio' | 'video'): TrackSummary | null => {
      const t = p?.track(kind);
      if (t === undefined) return null;
      return {
        codec: t.codec.name,
        payloadType: t.codec.payloadType,
        packets: t.stats.packets,
        bytes: t.stats.bytes,
        frames: t.stats.frames,
        keyframes: t.stats.keyframes,
      };
    };
    return {
      room: this.name,
      live: this.live,
      viewers: 0,
      recording: false,
      video: track('video'),
      audio: track('audio'),
      publisher:
        p === undefined
          ? null
          : {
              state: p.session.state,
              srtpProfile: p.session.srtpProfile ?? null,
              srtpAuthFailures: p.session.counters.srtpAuthFailures,
              unroutablePackets: p.counters.unroutable,
            },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.publisher?.session.close('server-shutdown');
    this.emit('closed');
    this.removeAllListeners();
  }
}
