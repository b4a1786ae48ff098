// Recorded playback: hls.js (served by onecast at /vendor/hls.min.js, loaded by the
// page's <script> tag) where Media Source Extensions exist, else the browser's own
// HLS (Safari, iOS).
import type Hls from 'hls.js';

declare global {
  interface Window {
    Hls?: typeof Hls;
  }
}

export class HlsPlayback {
  private hls: Hls | null = null;

  constructor(private readonly video: HTMLVideoElement) {}

  /** Plays `playlist` in the video element; throws when this browser has no way to play HLS. */
  play(playlist: string): void {
    this.stop();
    const HlsJs = window.Hls;
    if (HlsJs?.isSupported()) {
      this.hls = new HlsJs();
      this.hls.loadSource(playlist);
      this.hls.attachMedia(this.video);
    } else if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
      this.video.src = playlist;
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
