// The whep/ player page in Chromium, instrumented from outside: when its WHEP POST
// left, when its <video> decoded its first frame, how many frames it has decoded, and
// what the page shows (state, viewer count).
import type { Browser, Page } from 'playwright-core';

export interface PlayerStats {
  postAt: number | null;
  firstFrameAt: number | null;
  frames: number;
  width: number;
  height: number;
  state: string;
  /** The viewer count the page shows, and where it got it ('events': server-sent; 'rooms': polled). */
  viewers: number | null;
  viewersSource: string | null;
}

// A string, not a function: tsx would add its __name helper to a function, which the page lacks.
// 'loadeddata' fires when the first frame has been decoded. (requestVideoFrameCallback would be
// more precise but never fires in headless Chromium, which composites nothing.)
const TIMING_HOOKS = `
  window.__post = null;
  window.__first = null;
  const realFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    if (init && init.method === 'POST' && /\\/whep\\/[^/]+$/.test(String(input)) && window.__post === null) window.__post = performance.now();
    return realFetch(input, init);
  };
  document.addEventListener('DOMContentLoaded', () => {
    document.getElementById('video').addEventListener('loadeddata', () => {
      if (window.__first === null) window.__first = performance.now();
    });
  });`;

/** Opens /whep/?room=… (with `&token=` when given) with timing hooks installed before the page's own script runs. */
export async function openPlayer(browser: Browser, baseUrl: string, room: string, token?: string): Promise<Page> {
  const page = await browser.newPage();
  await page.addInitScript({ content: TIMING_HOOKS });
  await page.goto(`${baseUrl}/whep/?room=${encodeURIComponent(room)}${token === undefined ? '' : `&token=${encodeURIComponent(token)}`}`);
  return page;
}

export async function playerStats(page: Page): Promise<PlayerStats> {
  return page.evaluate(() => {
    const w = window as unknown as { __post: number | null; __first: number | null };
    const v = document.getElementById('video') as HTMLVideoElement;
    const viewers = document.getElementById('viewers')!.dataset;
    return {
      postAt: w.__post,
      firstFrameAt: w.__first,
      frames: v.getVideoPlaybackQuality().totalVideoFrames,
      width: v.videoWidth,
      height: v.videoHeight,
      state: document.body.dataset['state'] ?? '',
      viewers: viewers['count'] === undefined ? null : Number(viewers['count']),
      viewersSource: viewers['source'] ?? null,
    };
  });
}
