// `npm start`: read the settings, start the server, stop cleanly on SIGINT/SIGTERM.
import { ConfigError, helpText, loadConfig } from './config';
import { createLogger } from './log';
import { OnecastServer } from './server';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText() + '\n');
    return;
  }
  const log = createLogger();
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`onecast: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  let server: OnecastServer;
  try {
    server = await OnecastServer.start(config, { log });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const detail = e.code === 'EADDRINUSE' ? 'the port is already in use (HTTP_PORT or UDP_PORT)' : e.code === 'EACCES' ? 'no permission to bind the port' : e.message;
    process.stderr.write(`onecast: cannot start: ${detail}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
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

void main();
