#!/usr/bin/env node
// `npm start` and the `onecast` command: read the settings, start the server through the
// library (src/library/), stop cleanly on SIGINT/SIGTERM.
import { ConfigError, helpText, loadConfig } from './config';
import { startOnecast, type Onecast } from './library/createServer';
import { createLogger } from './log';

/** SIGINT/SIGTERM: how long the server may take to close sessions and finalize recordings. */
const SHUTDOWN_LIMIT_MS = 9_000;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText() + '\n');
    return;
  }
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (error) {
    exitOnConfigError(error);
    throw error;
  }
  const log = createLogger(config.logLevel);
  let server: Onecast;
  try {
    server = await startOnecast(config, { log, listen: true });
  } catch (error) {
    // Settings that only prove wrong when used (TLS files) stop start-up as any wrong setting does.
    exitOnConfigError(error);
    const e = error as NodeJS.ErrnoException;
    const detail =
      e.code === 'EADDRINUSE' ? 'the port is already in use (HTTP_PORT or UDP_PORT)' : e.code === 'EACCES' ? 'no permission to bind the port' : e.message;
    process.stderr.write(`onecast: cannot start: ${detail}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    // Recordings finalize within ~5 s (ffmpeg is killed past that); should anything
    // still hang, exit anyway, inside the 10 s a service manager typically waits.
    setTimeout(() => {
      log.error('shutdown did not finish in time; exiting anyway', { ms: SHUTDOWN_LIMIT_MS });
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** A wrong setting: one line naming it, exit status 2. */
function exitOnConfigError(error: unknown): void {
  if (error instanceof ConfigError) {
    process.stderr.write(`onecast: ${error.message}\n`);
    process.exit(2);
  }
}

void main();
