// The home page: the rooms live now with their thumbnails and viewer counts, the latest
// recordings, and in a cluster each room's origin node and the nodes' load, kept current by
// polling the API.
import { listNodes, listRecordings, listRooms, type NodeInfo, type RecordingInfo, type RoomInfo } from '../common/api';
import { byId, element } from '../common/dom';
import { HlsPlayback } from '../common/hlsPlayback';
import { pollChanges } from '../common/poll';
import { HttpProblem } from '../common/http';
import { renderRecordings } from '../common/recordingList';
import { pageToken, rememberToken } from '../common/token';
import { RoomThumbnails } from './roomThumbnails';

const ROOMS_POLL_MS = 2000;
const RECORDINGS_POLL_MS = 5000;
const NODES_POLL_MS = 5000;
/** The home page shows the newest few; each room's page lists all of its own. */
const RECENT_RECORDINGS = 10;

const errorLine = byId('error');
const tokenInput = byId<HTMLInputElement>('token');
const playback = new HlsPlayback(byId<HTMLVideoElement>('recording'));
/** PLAY_TOKEN, when the server has one: from ?token=, this tab's memory, or the Token field. */
let token = pageToken('play');
tokenInput.value = token;
const thumbnails = new RoomThumbnails(() => token);

/** Whether a room listed has an origin node: a node on its own has no /api/nodes, so it is not asked before. */
let clustered = false;

function roomRow(room: RoomInfo): HTMLTableRowElement {
  const watchUrl = `/whep/?room=${encodeURIComponent(room.room)}`;
  const media = [room.video?.codec, room.audio?.codec].filter(Boolean).join(' + ');
  const row = element(
    'tr',
    {},
    element('td', { className: 'thumbnail' }, element('a', { href: watchUrl }, thumbnails.image(room.room, room.thumbnail))),
    element(
      'td',
      {},
      element('a', { href: watchUrl, textContent: room.room }),
      room.origin !== undefined ? element('div', { className: 'muted origin', textContent: `on ${room.origin}` }) : '',
    ),
    // In a cluster, everyone watching, on any node.
    element('td', { className: 'viewers', textContent: String(room.clusterViewers ?? room.viewers) }),
    element('td', { className: 'muted', textContent: media }),
    element(
      'td',
      {},
      element('span', { className: 'badge live', textContent: 'live' }),
      room.recording ? ' ' : '',
      room.recording ? element('span', { className: 'badge', textContent: 'recording' }) : '',
    ),
    element('td', { className: 'watch' }, element('a', { href: watchUrl, textContent: 'Watch' })),
  );
  row.dataset['room'] = room.room;
  return row;
}

/**
 * A list's load, saying why it fails (a 401: the token is wanted; anything else: the
 * server does not answer) until a load works again (the polls go on).
 */
function loading<T>(load: () => Promise<T>): () => Promise<T> {
  return async () => {
    try {
      const value = await load();
      errorLine.textContent = '';
      return value;
    } catch (error) {
      const wantsToken = error instanceof HttpProblem && error.status === 401;
      errorLine.textContent = wantsToken ? 'This server wants its viewer token (PLAY_TOKEN): enter it below.' : 'The server does not answer; retrying…';
      throw error;
    }
  };
}

function showError(error: Error): void {
  errorLine.textContent = error.message;
}

// Rooms whose publisher has not connected (or has left) have nothing to watch.
pollChanges(
  ROOMS_POLL_MS,
  loading(async () => {
    const rooms = await listRooms(token);
    clustered ||= rooms.some((r) => r.origin !== undefined);
    return rooms.filter((r) => r.live);
  }),
  (rooms) => {
    thumbnails.keep(new Set(rooms.map((r) => r.room)));
    byId('no-rooms').hidden = rooms.length > 0;
    const table = byId<HTMLTableElement>('rooms');
    table.hidden = rooms.length === 0;
    table.tBodies[0]!.replaceChildren(...rooms.map(roomRow));
  },
);

pollChanges(
  RECORDINGS_POLL_MS,
  loading(async () => (await listRecordings(token)).slice(0, RECENT_RECORDINGS)),
  (recordings) => {
    byId('no-recordings').hidden = recordings.length > 0;
    renderRecordings(byId<HTMLUListElement>('recordings'), recordings, { showRoom: true, onPlay: play, token: () => token, onError: showError });
  },
);

function nodeRow(node: NodeInfo): HTMLTableRowElement {
  return element(
    'tr',
    {},
    element('td', { textContent: node.id }),
    element('td', {}, element('a', { href: node.url, textContent: node.url })),
    element('td', { className: 'viewers', textContent: String(node.viewers) }),
    element('td', { className: 'viewers', textContent: String(node.relays) }),
    element('td', { className: 'viewers', textContent: `${Math.round(node.cpu * 100)} %` }),
  );
}

pollChanges(
  NODES_POLL_MS,
  async () => (clustered ? listNodes(token) : undefined),
  (nodes) => {
    byId('nodes-panel').hidden = nodes === undefined;
    byId<HTMLTableElement>('nodes').tBodies[0]!.replaceChildren(...(nodes ?? []).map(nodeRow));
  },
);

function play(recording: RecordingInfo): void {
  playback.play(recording.playlist, token).catch(showError);
}

// The polls read `token` on their next run.
byId<HTMLFormElement>('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token = tokenInput.value;
  rememberToken('play', token);
  errorLine.textContent = '';
});
