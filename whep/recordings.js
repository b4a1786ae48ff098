// The room's recordings: a list with play (hls.js, or native HLS where the browser
// has it, as Safari does) and download (one MP4) for each.
const $ = (id) => document.getElementById(id);
let hls = null;

function formatDuration(seconds) {
  if (seconds == null) return 'recording…';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function play(recording) {
  const video = $('recording');
  video.hidden = false;
  if (hls) {
    hls.destroy();
    hls = null;
  }
  if (window.Hls && window.Hls.isSupported()) {
    hls = new window.Hls();
    hls.loadSource(recording.playlist);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = recording.playlist;
  } else {
    $('error').textContent = 'This browser cannot play HLS; use the download link.';
    return;
  }
  video.play().catch(() => {});
}

export async function showRecordings(room) {
  const res = await fetch(`/api/recordings?room=${encodeURIComponent(room)}`);
  if (!res.ok) return;
  const list = await res.json();
  $('no-recordings').hidden = list.length > 0;
  const ul = $('recordings');
  ul.replaceChildren();
  for (const recording of list) {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Play';
    button.addEventListener('click', () => play(recording));
    const label = document.createElement('span');
    label.textContent = `${new Date(recording.startedAt).toLocaleString()} · ${formatDuration(recording.durationSeconds)} `;
    li.append(button, label);
    if (recording.endedAt) {
      const link = document.createElement('a');
      link.href = recording.download;
      link.textContent = 'Download MP4';
      link.setAttribute('download', '');
      li.append(link);
    }
    ul.append(li);
  }
}

const room = new URLSearchParams(location.search).get('room');
if (room) showRecordings(room);
