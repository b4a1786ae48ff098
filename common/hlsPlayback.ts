// Recorded playback: hls.js (served by onecast at /vendor/hls.min.js, loaded by the
// page's <script> tag) where Media Source Extensions exist, else the browser's own
// HLS (Safari, iOS). hls.js sends the PLAY_TOKEN as a Bearer header with every
// request; the browser's own player cannot, so it gets a signed URL of the recording's
// folder (which covers the segments the playlist names), valid for a few minutes.
import type Hls from 'hls.js';
import { signedUrl } from './api';
import { authorization } from './http';

declare global {
  interface Window {
    Hls?: typeof Hls;
  }
}

export class HlsPlayback {
  private hls: Hls | null = null;

  constructor(private readonly video: HTMLVideoElement) {}

  /** Plays `playlist` in the video element; throws when this browser has no way to play HLS. */
  async play(playlist: string, token: string): Promise<void> {
    this.stop();
    const HlsJs = window.Hls;
    if (HlsJs?.isSupported()) {
      const headers = Object.entries(authorization(token));
      this.hls = new HlsJs({ xhrSetup: (xhr) => headers.forEach(([name, value]) => xhr.setRequestHeader(name, value)) });
      this.hls.loadSource(playlist);
      this.hls.attachMedia(this.video);
    } else if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
      const folder = playlist.slice(0, playlist.lastIndexOf('/') + 1);
      this.video.src = (await signedUrl(folder, token)) + playlist.slice(folder.length);
    } else {
      throw new Error('This browser cannot play HLS; use the download link.');
    }
    this.video.hidden = false;
    // Autoplay may be refused until the user interacts; the controls still work then.
    this.video.play().catch(() => undefined);
  }

  stop(): void {
    this.hls?.destroy();
    this.hls = null;
    this.video.removeAttribute('src');
  }
}
