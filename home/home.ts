// The home page: the rooms live now with their viewer counts, and the latest
// recordings, kept current by polling the API.
import { listRecordings, listRooms, type RecordingInfo, type RoomInfo } from '../common/api';
import { byId, element } from '../common/dom';
import { HlsPlayback } from '../common/hlsPlayback';
import { pollChanges } from '../common/poll';
import { renderRecordings } from '../common/recordingList';

const ROOMS_POLL_MS = 2000;
const RECORDINGS_POLL_MS = 5000;
/** The home page shows the newest few; each room's page lists all of its own. */
const RECENT_RECORDINGS = 10;

const errorLine = byId('error');
const playback = new HlsPlayback(byId<HTMLVideoElement>('recording'));

function roomRow(room: RoomInfo): HTMLTableRowElement {
  const watchUrl = `/whep/?room=${encodeURIComponent(room.room)}`;
  const media = [room.video?.codec, room.audio?.codec].filter(Boolean).join(' + ');
  const row = element(
    'tr',
    {},
    element('td', {}, element('a', { href: watchUrl, textContent: room.room })),
    element('td', { className: 'viewers', textContent: String(room.viewers) }),
    element('td', { className: 'muted', textContent: media }),
    element('td', {}, element('span', { className: 'badge live', textContent: 'live' }), room.recording ? ' ' : '', room.recording ? element('span', { className: 'badge', textContent: 'recording' }) : ''),
    element('td', { className: 'watch' }, element('a', { href: watchUrl, textContent: 'Watch' })),
  );
  row.dataset['room'] = room.room;
  return row;
}

/** Shown while the server does not answer; the polls go on and clear it when it does. */
function reachable(ok: boolean): void {
  errorLine.textContent = ok ? '' : 'The server does not answer; retrying…';
}

// Rooms whose publisher has not connected (or has left) have nothing to watch.
pollChanges(
  ROOMS_POLL_MS,
  async () => (await listRooms()).filter((r) => r.live),
  (rooms) => {
    byId('no-rooms').hidden = rooms.length > 0;
    const table = byId<HTMLTableElement>('rooms');
    table.hidden = rooms.length === 0;
    table.tBodies[0]!.replaceChildren(...rooms.map(roomRow));
  },
  reachable,
);

pollChanges(
  RECORDINGS_POLL_MS,
  async () => (await listRecordings()).slice(0, RECENT_RECORDINGS),
  (recordings) => {
    byId('no-recordings').hidden = recordings.length > 0;
    renderRecordings(byId<HTMLUListElement>('recordings'), recordings, { showRoom: true, onPlay: play });
  },
  reachable,
);

function play(recording: RecordingInfo): void {
  try {
    playback.play(recording.playlist);
  } catch (error) {
    errorLine.textContent = (error as Error).message;
  }
}
