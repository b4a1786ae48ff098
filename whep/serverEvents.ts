// What the player learns about its room while it watches: publisher active or not, and
// the viewer count. From the WHEP server-sent-events extension when the server offers
// it (a Link on the 201), else by polling GET /api/rooms.
import { listRooms } from '../common/api';
import { authorization, problemOf } from '../common/http';
import { repeat } from '../common/poll';
import type { Link } from '../common/signaling';

export const SSE_REL = 'urn:ietf:params:whep:ext:core:server-sent-events';
const WANTED = ['active', 'inactive', 'viewercount'];
/** The fallback's polling period. */
const ROOMS_POLL_MS = 3000;

export interface RoomListener {
  /** The room's publisher started (true) or stopped (false) sending. */
  publisher(active: boolean): void;
  viewers(count: number, source: RoomFollower['source']): void;
}

export interface RoomFollower {
  /** 'events' when the server pushes them, 'rooms' when the page polls. */
  readonly source: 'events' | 'rooms';
  close(): void;
}

/** Follows `room` by the best means the WHEP 201's `links` allow. */
export async function followRoom(room: string, links: Link[], token: string, listener: RoomListener): Promise<RoomFollower> {
  const link = links.find((l) => (l.params['rel'] ?? '').split(/\s+/).includes(SSE_REL));
  if (link !== undefined) {
    try {
      return await subscribe(link, token, listener);
    } catch (error) {
      console.warn('server-sent events unavailable; polling /api/rooms instead:', error);
    }
  }
  return pollRooms(room, token, listener);
}

async function subscribe(link: Link, token: string, listener: RoomListener): Promise<RoomFollower> {
  const offered = (link.params['events'] ?? '').split(',').map((e) => e.trim());
  const res = await fetch(link.target, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...authorization(token) },
    body: JSON.stringify(WANTED.filter((e) => offered.includes(e))),
  });
  if (res.status !== 201) throw await problemOf(res);
  const location = res.headers.get('Location');
  if (location === null) throw new Error('The events endpoint answered 201 without a Location.');
  await res.arrayBuffer(); // read to the end, or the browser reports the request as aborted
  // EventSource sends no Authorization header: with PLAY_TOKEN set, the Location is a signed URL.
  const stream = new EventSource(new URL(location, link.target));
  stream.addEventListener('active', () => listener.publisher(true));
  stream.addEventListener('inactive', () => listener.publisher(false));
  stream.addEventListener('viewercount', (e) => {
    const count = (JSON.parse((e as MessageEvent<string>).data) as { viewercount?: unknown }).viewercount;
    if (typeof count === 'number') listener.viewers(count, 'events');
  });
  return { source: 'events', close: () => stream.close() };
}

function pollRooms(room: string, token: string, listener: RoomListener): RoomFollower {
  const stop = repeat(ROOMS_POLL_MS, async () => {
    const info = (await listRooms(token)).find((r) => r.room === room);
    listener.publisher(info?.live ?? false);
    listener.viewers(info?.viewers ?? 0, 'rooms');
  });
  return { source: 'rooms', close: stop };
}
