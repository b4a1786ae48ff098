// A list of recordings, each with Play (HLS in the page's recording player) and,
// once it has ended, a Download MP4 link; a recording that did not finish well says so
// (interrupted: onecast stopped while recording; failed, with why). The player page and
// the home page show it.
import { signedUrl, type RecordingInfo } from './api';
import { element } from './dom';
import { formatDateTime, formatDuration } from './format';

export interface RecordingListOptions {
  /** The home page lists every room's recordings, so it names the room. */
  showRoom: boolean;
  onPlay(recording: RecordingInfo): void;
  /** PLAY_TOKEN, read when a download starts (a link cannot send it: the download goes to a signed URL). */
  token(): string;
  /** A download that could not start: the server's reason. */
  onError(error: Error): void;
}

export function renderRecordings(list: HTMLUListElement, recordings: RecordingInfo[], options: RecordingListOptions): void {
  list.replaceChildren(
    ...recordings.map((recording) => {
      const play = element('button', { type: 'button', textContent: 'Play', className: 'small' });
      play.addEventListener('click', () => options.onPlay(recording));
      const length = recording.status === 'recording' ? 'recording now' : formatDuration(recording.durationSeconds ?? 0);
      const what = element('span', { className: 'what' });
      if (options.showRoom)
        what.append(element('a', { href: `/whep/?room=${encodeURIComponent(recording.room)}`, textContent: recording.room, className: 'room' }), ' · ');
      what.append(`${formatDateTime(recording.startedAt)} · ${length}`);
      const item = element('li', {}, play, what);
      if (recording.status === 'interrupted' || recording.status === 'failed') {
        const why =
          recording.status === 'interrupted'
            ? 'onecast stopped while recording; what was written until then plays'
            : (recording.error ?? 'the recording failed');
        item.append(element('span', { className: `badge ${recording.status}`, textContent: recording.status, title: why }));
        if (recording.error !== undefined) item.append(element('span', { className: 'muted', textContent: recording.error }));
      }
      // The MP4 is made from the finished playlist: none while the recording goes on.
      if (recording.endedAt !== null) item.append(downloadLink(recording, options));
      return item;
    }),
  );
}

/** Download MP4: with a token, the click fetches a signed URL and downloads from it. */
function downloadLink(recording: RecordingInfo, options: RecordingListOptions): HTMLAnchorElement {
  const link = element('a', { href: recording.download, textContent: 'Download MP4', download: '', className: 'download' });
  link.addEventListener('click', (e) => {
    const token = options.token();
    if (token === '') return;
    e.preventDefault();
    signedUrl(recording.download, token).then(
      (url) => element('a', { href: url, download: '' }).click(),
      (error: Error) => options.onError(error),
    );
  });
  return link;
}
