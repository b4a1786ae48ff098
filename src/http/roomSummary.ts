// The JSON shape GET /api/rooms gives each room: what a dashboard or a script needs to
// see whether a room is live, recorded, and healthy, read from the SFU's plain counters.
import type { ClusterRoom } from '../cluster/clusterView';
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
  /** In a cluster: the node holding the room's origin lease (its publisher's). */
  origin?: string;
  /** In a cluster: the room's viewers summed over every node (`viewers` stays this node's). */
  clusterViewers?: number;
}

/**
 * This node's rooms with what the cluster's directory adds (each one's origin and viewers over
 * all nodes), then the rooms published on other nodes and watched nowhere here: live, with
 * their origin and count; what only their origin knows (media, recording) is its /api/rooms'.
 */
export function withClusterRooms(local: RoomSummary[], cluster: ClusterRoom[]): RoomSummary[] {
  const inCluster = new Map(cluster.map((r) => [r.room, r]));
  const here = new Set(local.map((r) => r.room));
  const merged = local.map((summary) => {
    const room = inCluster.get(summary.room);
    return room === undefined ? summary : { ...summary, origin: room.origin, clusterViewers: room.viewers };
  });
  for (const room of cluster) {
    if (here.has(room.room)) continue;
    merged.push({
      room: room.room,
      live: true,
      viewers: 0,
      recording: false,
      thumbnail: null,
      video: null,
      audio: null,
      publisher: null,
      origin: room.origin,
      clusterViewers: room.viewers,
    });
  }
  return merged;
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
