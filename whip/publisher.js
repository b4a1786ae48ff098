// Browser WHIP publisher: camera/microphone or screen → RTCPeerConnection → POST /whip/{room}.
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
if (params.get('room')) $('room').value = params.get('room');

let pc = null;
let resourceUrl = null;
let token = '';

function setState(text) {
  $('state').textContent = text;
  document.body.dataset.state = text;
}

function preferCodec(transceiver, name) {
  if (!name || !RTCRtpSender.getCapabilities) return;
  const codecs = RTCRtpSender.getCapabilities('video').codecs;
  const wanted = codecs.filter((c) => c.mimeType.toLowerCase() === `video/${name.toLowerCase()}`);
  const rest = codecs.filter((c) => !wanted.includes(c));
  if (wanted.length) transceiver.setCodecPreferences([...wanted, ...rest]);
}

async function start(event) {
  event.preventDefault();
  $('error').textContent = '';
  const room = $('room').value;
  token = $('token').value;
  const screen = document.querySelector('input[name=source]:checked').value === 'screen';
  try {
    setState('getting media');
    const stream = screen
      ? await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true })
      : await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    $('preview').srcObject = stream;
    pc = new RTCPeerConnection();
    pc.onconnectionstatechange = () => setState(pc.connectionState);
    for (const track of stream.getTracks()) {
      const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind === 'video') preferCodec(t, $('codec').value);
    }
    await pc.setLocalDescription(await pc.createOffer());
    setState('connecting');
    const headers = { 'Content-Type': 'application/sdp' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(`/whip/${encodeURIComponent(room)}`, { method: 'POST', headers, body: pc.localDescription.sdp });
    if (res.status !== 201) {
      const problem = await res.json().catch(() => ({}));
      throw new Error(problem.detail || `The server answered ${res.status}.`);
    }
    resourceUrl = new URL(res.headers.get('Location'), location.href).toString();
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    $('start').disabled = true;
    $('stop').disabled = false;
  } catch (error) {
    $('error').textContent = error.message;
    await stop();
    setState('failed');
  }
}

async function stop() {
  if (pc) {
    pc.getSenders().forEach((s) => s.track && s.track.stop());
    pc.close();
    pc = null;
  }
  if (resourceUrl) {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    await fetch(resourceUrl, { method: 'DELETE', headers }).catch(() => {});
    resourceUrl = null;
  }
  $('start').disabled = false;
  $('stop').disabled = true;
  setState('stopped');
}

$('form').addEventListener('submit', start);
$('stop').addEventListener('click', stop);
window.addEventListener('pagehide', () => { if (resourceUrl) navigator.sendBeacon && stop(); });
