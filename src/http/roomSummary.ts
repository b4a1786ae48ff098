// The JSON shape GET /api/rooms gives each room: what a dashboard or a script needs to
// see whether a room is live, recorded, and healthy, read from the SFU's plain counters.
import type { MediaKind } from '../rtp/mediaKind';
import type { Room } from '../sfu/room';
import { thumbnailPath } from './thumbnails';

export interface RoomSummary {
  room: string;
  live: boolean;
  viewers: number;
  recording: boolean;
  /** The path of the room's JPEG thumbnail while it is live with video, else null. */
  thumbnail: string | null;
  video: TrackSummary | null;
  audio: TrackSummary | null;
  publisher: {
    state: string;
    srtpProfile: string | null;
    srtpAuthFailures: number;
    unroutablePackets: number;
    keyframeRequests: number;
    nacksSent: number;
    twccFeedbackSent: number;
  } | null;
  /** The node this one relays the room from (its publisher is that relay); absent for a room published here. */
  relayedFrom?: string;
}

export interface TrackSummary {
  codec: string;
  payloadType: number;
  packets: number;
  bytes: number;
  frames: number;
  keyframes: number;
}

/** `recording`: whether the room's current publish is being recorded (the recordings service knows). */
export function roomSummary(room: Room, recording: boolean): RoomSummary {
  const p = room.publisher;
  const track = (kind: MediaKind): TrackSummary | null => {
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
    room: room.name,
    live: room.live,
    viewers: room.viewers.size,
    recording,
    thumbnail: room.live && p?.track('video') !== undefined ? thumbnailPath(room.name) : null,
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
            keyframeRequests: p.counters.keyframeRequests,
            nacksSent: p.counters.nacksSent,
            twccFeedbackSent: p.counters.twccFeedbackSent,
          },
    ...(p?.session.relayedFrom !== undefined ? { relayedFrom: p.session.relayedFrom } : {}),
  };
}
