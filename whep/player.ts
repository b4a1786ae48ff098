// The player page (?room=NAME): the room live over WHEP with its state, viewer count,
// controls and a stats overlay, and the room's recordings below.
import { acceptRoomNames, listRecordings, type RecordingInfo } from '../common/api';
import { byId, setPageState } from '../common/dom';
import { formatBitrate, formatViewers } from '../common/format';
import { HlsPlayback } from '../common/hlsPlayback';
import { pollChanges, repeat } from '../common/poll';
import { renderRecordings } from '../common/recordingList';
import { pageToken, rememberToken } from '../common/token';
import { MediaMeter } from '../common/stats';
import { LivePlayer } from './livePlayer';

/** New recordings appear, and running ones get their download link, within this. */
const RECORDINGS_POLL_MS = 5000;

const roomInput = byId<HTMLInputElement>('room');
acceptRoomNames(roomInput);
const tokenInput = byId<HTMLInputElement>('token');
const errorLine = byId('error');
const video = byId<HTMLVideoElement>('video');
const viewersText = byId('viewers');
const statsBox = byId('stats');
const muteButton = byId<HTMLButtonElement>('mute');
const fullscreenButton = byId<HTMLButtonElement>('fullscreen');
const statsButton = byId<HTMLButtonElement>('stats-toggle');

let player: LivePlayer | null = null;
let stopStats: () => void = () => undefined;
let stopRecordings: () => void = () => undefined;
const recordingPlayback = new HlsPlayback(byId<HTMLVideoElement>('recording'));

function showViewers(count: number | null, source: string | null): void {
  viewersText.textContent = count === null ? '' : `${formatViewers(count)} watching`;
  // Tests read these: the number, and whether it was pushed by the server or polled.
  if (count === null) {
    delete viewersText.dataset['count'];
    delete viewersText.dataset['source'];
  } else {
    viewersText.dataset['count'] = String(count);
    viewersText.dataset['source'] = source ?? '';
  }
}

/** The overlay's figures, each second, for the current connection. */
function showStatsOf(pc: RTCPeerConnection | null): void {
  stopStats();
  const cells = { resolution: byId('stat-resolution'), fps: byId('stat-fps'), bitrate: byId('stat-bitrate'), lost: byId('stat-lost') };
  if (pc === null) {
    stopStats = () => undefined;
    for (const cell of Object.values(cells)) cell.textContent = '–';
    return;
  }
  const meter = new MediaMeter(pc, 'inbound');
  stopStats = repeat(1000, async () => {
    const f = await meter.sample();
    cells.resolution.textContent = f.width ? `${f.width}×${f.height}` : '–';
    cells.fps.textContent = f.fps !== null ? String(Math.round(f.fps)) : '–';
    cells.bitrate.textContent = f.bitrate !== null ? formatBitrate(f.bitrate) : '–';
    cells.lost.textContent = String(f.packetsLost);
  });
}

/** The room's recordings, kept current (a finished one gets its download link). */
function followRecordings(room: string, token: string): () => void {
  return pollChanges(
    RECORDINGS_POLL_MS,
    () => listRecordings(token, room),
    (recordings) => {
      byId('no-recordings').hidden = recordings.length > 0;
      renderRecordings(byId<HTMLUListElement>('recordings'), recordings, {
        showRoom: false,
        onPlay: (r) => playRecording(r, token),
        token: () => token,
        onError: showError,
      });
    },
  );
}

function playRecording(recording: RecordingInfo, token: string): void {
  recordingPlayback.play(recording.playlist, token).catch(showError);
}

function showError(error: Error): void {
  errorLine.textContent = error.message;
}

function watch(room: string, token: string): void {
  player?.leave();
  stopRecordings();
  errorLine.textContent = '';
  roomInput.value = room;
  byId('room-name').textContent = room;
  document.title = `onecast · ${room}`;
  byId('live').hidden = false;
  byId('recordings-section').hidden = false;
  player = new LivePlayer(room, token, video, {
    state: setPageState,
    viewers: showViewers,
    error: (detail) => (errorLine.textContent = detail),
    connection: showStatsOf,
  });
  void player.start();
  stopRecordings = followRecordings(room, token);
}

byId<HTMLFormElement>('form').addEventListener('submit', (e) => {
  e.preventDefault();
  history.replaceState(null, '', `?room=${encodeURIComponent(roomInput.value)}`);
  rememberToken('play', tokenInput.value);
  watch(roomInput.value, tokenInput.value);
});

// Autoplay is allowed muted only; sound starts on the viewer's click.
muteButton.addEventListener('click', () => {
  video.muted = !video.muted;
  muteButton.textContent = video.muted ? 'Unmute' : 'Mute';
});
fullscreenButton.addEventListener('click', () => {
  if (document.fullscreenElement) void document.exitFullscreen();
  else
    void byId('stage')
      .requestFullscreen()
      .catch((error: Error) => (errorLine.textContent = `Fullscreen refused: ${error.message}`));
});
document.addEventListener('fullscreenchange', () => {
  fullscreenButton.textContent = document.fullscreenElement ? 'Exit fullscreen' : 'Fullscreen';
});
statsButton.addEventListener('click', () => {
  statsBox.hidden = !statsBox.hidden;
  statsButton.textContent = statsBox.hidden ? 'Show stats' : 'Hide stats';
});
window.addEventListener('pagehide', () => player?.leave());

tokenInput.value = pageToken('play');
const roomParam = new URLSearchParams(location.search).get('room');
if (roomParam) watch(roomParam, tokenInput.value);
