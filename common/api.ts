// onecast's JSON API as the pages read it: the fields of GET /api/rooms, /api/nodes and
// GET /api/recordings (README "HTTP API") that the pages show, and the room name rule.
// A recording's entry is the server's own type (type-only), the room name rule the
// server's own module (src/names.ts, which imports nothing, so esbuild bundles only it).
import { ROOM_NAME_PATTERN, ROOM_NAME_RULE } from '../src/names';
import type { RecordingInfo } from '../src/recordings/recordingInfo';
import { getJson, HttpProblem } from './http';

export type { RecordingInfo };

export interface RoomInfo {
  room: string;
  live: boolean;
  viewers: number;
  recording: boolean;
  /** The path of the room's JPEG thumbnail while it is live with video. */
  thumbnail: string | null;
  video: { codec: string } | null;
  audio: { codec: string } | null;
  /** In a cluster: the node the room is published on. */
  origin?: string;
  /** In a cluster: its viewers on every node (`viewers`: this node's). */
  clusterViewers?: number;
}

/** A node of the cluster as GET /api/nodes lists it. */
export interface NodeInfo {
  id: string;
  url: string;
  viewers: number;
  relays: number;
  /** Share of one core (1 = a whole core). */
  cpu: number;
}

/** The cluster's nodes; undefined from a node on its own (which has no /api/nodes). */
export async function listNodes(token: string): Promise<NodeInfo[] | undefined> {
  try {
    return await getJson<NodeInfo[]>('/api/nodes', token);
  } catch (error) {
    if (error instanceof HttpProblem && error.status === 404) return undefined;
    throw error;
  }
}

export function listRooms(token: string): Promise<RoomInfo[]> {
  return getJson<RoomInfo[]>('/api/rooms', token);
}

/** The newest recordings (the server's first page: 100), newest first; only `room`'s when given. */
export function listRecordings(token: string, room?: string): Promise<RecordingInfo[]> {
  return getJson<RecordingInfo[]>(room === undefined ? '/api/recordings' : `/api/recordings?room=${encodeURIComponent(room)}`, token);
}

/**
 * A URL for `path` that works without an Authorization header (a download link,
 * EventSource, the browser's own HLS player): signed for a few minutes when the server
 * has PLAY_TOKEN, `path` itself when it has none. A folder (ending in /) covers its files.
 */
export async function signedUrl(path: string, token: string): Promise<string> {
  return (await getJson<{ url: string }>(`/api/signed-url?path=${encodeURIComponent(path)}`, token)).url;
}

/** Makes a room field take only names the server accepts: the browser says what is wrong before any request. */
export function acceptRoomNames(input: HTMLInputElement): void {
  input.pattern = ROOM_NAME_PATTERN;
  input.title = ROOM_NAME_RULE;
}
