// The publisher page: camera and microphone (or the screen) → RTCPeerConnection →
// WHIP POST /whip/{room}; shows the connection state, the outgoing bitrate, and the
// settings OBS needs to publish to the same room.
import { acceptRoomNames } from '../common/api';
import { byId, copyField, element, setPageState } from '../common/dom';
import { formatBitrate } from '../common/format';
import { repeat } from '../common/poll';
import { endSession, iceServers, negotiate } from '../common/signaling';
import { MediaMeter } from '../common/stats';
import { pageToken, rememberToken } from '../common/token';

const form = byId<HTMLFormElement>('form');
const roomInput = byId<HTMLInputElement>('room');
acceptRoomNames(roomInput);
const tokenInput = byId<HTMLInputElement>('token');
const cameraSelect = byId<HTMLSelectElement>('camera');
const microphoneSelect = byId<HTMLSelectElement>('microphone');
const codecSelect = byId<HTMLSelectElement>('codec');
const recordBox = byId<HTMLInputElement>('record');
const startButton = byId<HTMLButtonElement>('start');
const stopButton = byId<HTMLButtonElement>('stop');
const errorLine = byId('error');
const preview = byId<HTMLVideoElement>('preview');
const bitrateText = byId('bitrate');
const resolutionText = byId('resolution');

/** The publish in progress, from the click on Start until Stop (or a failure). */
interface Publishing {
  pc: RTCPeerConnection;
  stream: MediaStream;
  /** The WHIP session resource once the server has answered. */
  resource: string | null;
  /** The token the session was created with: its DELETE needs the same one. */
  token: string;
  stopStats(): void;
}
let publishing: Publishing | null = null;

function screenChosen(): boolean {
  return (document.querySelector('input[name=source]:checked') as HTMLInputElement).value === 'screen';
}

function capture(): Promise<MediaStream> {
  if (!navigator.mediaDevices) {
    throw new Error('This browser allows the camera and screen only on pages opened over https:// or on localhost.');
  }
  if (screenChosen()) return navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
  const camera = cameraSelect.value;
  const microphone = microphoneSelect.value;
  return navigator.mediaDevices.getUserMedia({
    video: camera ? { deviceId: { exact: camera } } : true,
    audio: microphone === 'none' ? false : microphone ? { deviceId: { exact: microphone } } : true,
  });
}

/** Fills the camera and microphone pickers; devices have labels only once the user has allowed one. */
async function listDevices(): Promise<void> {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  const fill = (select: HTMLSelectElement, kind: MediaDeviceKind, noun: string, fixed: number): void => {
    const chosen = select.value;
    const found = devices.filter((d) => d.kind === kind && d.deviceId !== '' && d.deviceId !== 'default');
    // The first `fixed` options (default, and "no sound") stay.
    while (select.options.length > fixed) select.remove(fixed);
    found.forEach((d, i) => select.add(element('option', { value: d.deviceId, textContent: d.label || `${noun} ${i + 1}` })));
    select.value = [...select.options].some((o) => o.value === chosen) ? chosen : '';
  };
  fill(cameraSelect, 'videoinput', 'camera', 1);
  fill(microphoneSelect, 'audioinput', 'microphone', 2);
}

/** Puts `codec` (H264 or VP8) first in the video transceiver's list, so the offer prefers it. */
function preferCodec(transceiver: RTCRtpTransceiver, codec: string): void {
  if (!codec || !RTCRtpSender.getCapabilities) return;
  const codecs = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
  const wanted = codecs.filter((c) => c.mimeType.toLowerCase() === `video/${codec.toLowerCase()}`);
  if (wanted.length > 0) transceiver.setCodecPreferences([...wanted, ...codecs.filter((c) => !wanted.includes(c))]);
}

/** Shows the outgoing bitrate, size and frame rate every second; returns the stop function. */
function showStats(pc: RTCPeerConnection): () => void {
  const meter = new MediaMeter(pc, 'outbound');
  return repeat(1000, async () => {
    const figures = await meter.sample();
    if (figures.bitrate === null) return;
    bitrateText.textContent = formatBitrate(figures.bitrate);
    bitrateText.dataset['bps'] = String(Math.round(figures.bitrate));
    resolutionText.textContent = figures.width ? `${figures.width}×${figures.height}${figures.fps ? ` · ${Math.round(figures.fps)} fps` : ''}` : '';
  });
}

async function start(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  errorLine.textContent = '';
  startButton.disabled = true;
  try {
    setPageState('getting media');
    const stream = await capture();
    preview.srcObject = stream;
    const endpoint = `/whip/${encodeURIComponent(roomInput.value)}${recordBox.checked ? '?record=1' : ''}`;
    const pc = new RTCPeerConnection({ iceServers: await iceServers(endpoint, tokenInput.value) });
    const session: Publishing = { pc, stream, resource: null, token: tokenInput.value, stopStats: () => undefined };
    rememberToken('publish', session.token);
    publishing = session;
    void listDevices();
    pc.addEventListener('connectionstatechange', () => {
      setPageState(pc.connectionState);
      if (pc.connectionState === 'failed')
        errorLine.textContent = 'The media connection failed: the server’s UDP port is not reachable from here (see README, Troubleshooting).';
    });
    for (const track of stream.getTracks()) {
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind === 'video') preferCodec(transceiver, codecSelect.value);
      // Ending a screen share from the browser's own bar ends the track: end the publish with it.
      track.addEventListener('ended', () => void stop());
    }
    setPageState('connecting');
    session.resource = (await negotiate(pc, endpoint, session.token)).resource;
    session.stopStats = showStats(pc);
    stopButton.disabled = false;
  } catch (error) {
    await stop();
    errorLine.textContent = (error as Error).message;
    setPageState('failed');
  }
}

async function stop(): Promise<void> {
  const session = publishing;
  publishing = null;
  if (session !== null) {
    session.stopStats();
    session.stream.getTracks().forEach((t) => t.stop());
    session.pc.close();
    if (session.resource !== null) await endSession(session.resource, session.token);
    setPageState('stopped');
  }
  preview.srcObject = null;
  bitrateText.textContent = '–';
  delete bitrateText.dataset['bps'];
  resolutionText.textContent = '';
  startButton.disabled = false;
  stopButton.disabled = true;
}

/** The OBS settings and the watch link follow the room and token fields. */
function showRoomSettings(): void {
  const room = encodeURIComponent(roomInput.value);
  byId<HTMLInputElement>('obs-url').value = `${location.origin}/whip/${room}`;
  byId<HTMLInputElement>('obs-token').value = tokenInput.value;
  const watch = byId<HTMLAnchorElement>('watch-link');
  watch.href = `/whep/?room=${room}`;
  watch.textContent = `${location.origin}/whep/?room=${room}`;
}

const roomParam = new URLSearchParams(location.search).get('room');
if (roomParam) roomInput.value = roomParam;
tokenInput.value = pageToken('publish');
showRoomSettings();
roomInput.addEventListener('input', showRoomSettings);
tokenInput.addEventListener('input', showRoomSettings);
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=source]')) {
  radio.addEventListener('change', () => (byId('devices').hidden = screenChosen()));
}
byId<HTMLButtonElement>('copy-url').addEventListener('click', (e) => void copyField(byId('obs-url'), e.currentTarget as HTMLButtonElement));
byId<HTMLButtonElement>('copy-token').addEventListener('click', (e) => void copyField(byId('obs-token'), e.currentTarget as HTMLButtonElement));
form.addEventListener('submit', (e) => void start(e));
stopButton.addEventListener('click', () => void stop());
navigator.mediaDevices?.addEventListener('devicechange', () => void listDevices());
void listDevices();
// Closing the tab ends the publish at once rather than after the 30 s consent timeout.
window.addEventListener('pagehide', () => {
  if (publishing?.resource) void endSession(publishing.resource, publishing.token, true);
});
