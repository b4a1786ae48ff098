// Browser WHEP player: POST a recvonly offer to /whep/{room}, play what comes back.
// While nothing is published the server answers 409 with Retry-After: wait and retry.
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let pc = null;
let resourceUrl = null;
let retryTimer = null;

function setState(text) {
  $('state').textContent = text;
  document.body.dataset.state = text;
}

async function watch(room, token) {
  clearTimeout(retryTimer);
  await stop();
  $('error').textContent = '';
  $('room-name').textContent = room;
  pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const stream = new MediaStream();
  pc.ontrack = (e) => {
    stream.addTrack(e.track);
    $('video').srcObject = stream;
  };
  pc.onconnectionstatechange = () => {
    setState(pc.connectionState === 'connected' ? 'live' : pc.connectionState);
    if (pc.connectionState === 'failed') retry(room, token, 2);
  };
  await pc.setLocalDescription(await pc.createOffer());
  setState('connecting');
  const headers = { 'Content-Type': 'application/sdp' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`/whep/${encodeURIComponent(room)}`, { method: 'POST', headers, body: pc.localDescription.sdp });
  } catch {
    return retry(room, token, 2);
  }
  if (res.status === 409) {
    setState('waiting for the publisher');
    return retry(room, token, Number(res.headers.get('Retry-After')) || 2);
  }
  if (res.status !== 201) {
    const problem = await res.json().catch(() => ({}));
    $('error').textContent = problem.detail || `The server answered ${res.status}.`;
    setState('failed');
    return;
  }
  resourceUrl = new URL(res.headers.get('Location'), location.href).toString();
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
}

function retry(room, token, seconds) {
  retryTimer = setTimeout(() => watch(room, token), seconds * 1000);
}

async function stop() {
  if (pc) {
    pc.close();
    pc = null;
  }
  if (resourceUrl) {
    const token = $('token').value;
    await fetch(resourceUrl, { method: 'DELETE', headers: token ? { Authorization: `Bearer ${token}` } : {} }).catch(() => {});
    resourceUrl = null;
  }
}

$('form').addEventListener('submit', (e) => {
  e.preventDefault();
  history.replaceState(null, '', `?room=${encodeURIComponent($('room').value)}`);
  watch($('room').value, $('token').value);
});
window.addEventListener('pagehide', () => stop());

if (params.get('room')) {
  $('room').value = params.get('room');
  watch(params.get('room'), '');
}
