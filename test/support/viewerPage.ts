// The whep/ player page in Chromium, instrumented from outside: when its WHEP POST
// left, when its <video> decoded its first frame, and how many frames it has decoded.
import type { Browser, Page } from 'playwright-core';

export interface PlayerStats {
  postAt: number | null;
  firstFrameAt: number | null;
  frames: number;
  width: number;
  height: number;
  state: string;
}

/** Opens /whep/?room=… with timing hooks installed before the page's own script runs. */
export async function openPlayer(browser: Browser, baseUrl: string, room: string): Promise<Page> {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    const w = window as unknown as { __post: number | null; __first: number | null };
    w.__post = null;
    w.__first = null;
    const realFetch = window.fetch.bind(window);
    window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      if (init?.method === 'POST' && String(input).includes('/whep/') && w.__post === null) w.__post = performance.now();
      return realFetch(input, init);
    };
    // 'loadeddata' fires when the first frame has been decoded. (requestVideoFrameCallback
    // would be more precise but never fires in headless Chromium, which composites nothing.)
    document.addEventListener('DOMContentLoaded', () => {
      const video = document.getElementById('video') as HTMLVideoElement;
      video.addEventListener('loadeddata', () => {
        if (w.__first === null) w.__first = performance.now();
      });
    });
  });
  await page.goto(`${baseUrl}/whep/?room=${encodeURIComponent(room)}`);
  return page;
}

export async function playerStats(page: Page): Promise<PlayerStats> {
  return page.evaluate(() => {
    const w = window as unknown as { __post: number | null; __first: number | null };
    const v = document.getElementById('video') as HTMLVideoElement;
    return { postAt: w.__post, firstFrameAt: w.__first, frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth, height: v.videoHeight, state: document.body.dataset['state'] ?? '' };
  });
}
