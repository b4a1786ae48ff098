/**
 * Debian's chromium (/usr/bin/chromium) driven by playwright-core. No browser is ever
 * downloaded. Every context the returned Browser creates (newContext / newPage) routes its
 * requests through a guard that lets only loopback addresses through (127.0.0.0/8, ::1,
 * localhost, *.localhost); everything else is aborted and reported on stderr.
 */
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Route } from 'playwright-core';
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/** True for URLs that stay on this machine (or never touch the network). */
export function isLocalUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return true;
  const host = u.hostname.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '[::1]' || host === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

async function guardContext(context: BrowserContext): Promise<void> {
  await context.route('**/*', (route: Route) => {
    const url = route.request().url();
    if (isLocalUrl(url)) {
      route.continue().catch(() => undefined);
    } else {
      process.stderr.write(`[test browser] blocked a request to a non-local address: ${url}\n`);
      route.abort('blockedbyclient').catch(() => undefined);
    }
  });
}

/** Launches headless Debian chromium; its contexts can reach only 127.0.0.1 / localhost. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} not found: the browser tests use the system chromium (apt-get install -y chromium); ` + 'no browser is downloaded.');
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });

  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args: Parameters<Browser['newContext']>) => {
    const context = await newContext(...args);
    await guardContext(context);
    return context;
  };
  // newPage() on the Browser makes its own context: guard it before the caller navigates
  browser.newPage = async (...args: Parameters<Browser['newPage']>) => {
    const context = await newContext(...args);
    await guardContext(context);
    const page = await context.newPage();
    // as Browser.newPage does: closing the page closes its context
    page.on('close', () => {
      context.close().catch(() => undefined);
    });
    return page;
  };
  return browser;
}

/**
 * An init script that keeps every RTCPeerConnection the page makes in `window.__pcs`,
 * so a test can read getStats() or getConfiguration(). A string, not a function: tsx
 * would add its __name helper to a function, which the page does not have.
 */
export const PEER_CONNECTIONS_HOOK = `window.__pcs = [];
  window.RTCPeerConnection = new Proxy(window.RTCPeerConnection, {
    construct(target, args) { const pc = new target(...args); window.__pcs.push(pc); return pc; },
  });`;
