// The fixture of the browser tests: an in-process server and a headless Chromium, started before
// the enclosing describe's tests and closed after them (with the recordings folder, when asked
// for one). Call it in the describe's body; read `.server` and `.browser` inside tests and hooks.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser';
import { startServer, type TestServer } from './server';

export interface ServerAndChromium {
  readonly server: TestServer;
  readonly browser: Browser;
  /** The server's RECORDINGS_DIR: a fresh temporary folder, removed after the tests ('' unless asked for). */
  readonly recordingsDir: string;
}

export interface ServerAndChromiumOptions {
  /** Settings of the server (as environment variables). */
  env?: Record<string, string>;
  /** Give the server a fresh temporary RECORDINGS_DIR. */
  recordings?: boolean;
  /** Closes what the tests left connected to the server, before the server and Chromium close. */
  beforeClose?: () => Promise<void> | void;
}

export function serverAndChromium(options: ServerAndChromiumOptions = {}): ServerAndChromium {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  let recordingsDir = '';
  before(async () => {
    if (options.recordings) recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'onecast-recordings-'));
    server = await startServer({ ...options.env, ...(recordingsDir !== '' ? { RECORDINGS_DIR: recordingsDir } : {}) });
    browser = await launchChromium();
  });
  after(async () => {
    await options.beforeClose?.();
    await browser?.close();
    await server?.close();
    if (recordingsDir !== '') rmSync(recordingsDir, { recursive: true, force: true });
  });
  return {
    get server(): TestServer {
      if (server === undefined) throw new Error('serverAndChromium: the server is started in before()');
      return server;
    },
    get browser(): Browser {
      if (browser === undefined) throw new Error('serverAndChromium: Chromium is launched in before()');
      return browser;
    },
    get recordingsDir(): string {
      return recordingsDir;
    },
  };
}
