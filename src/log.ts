// Structured logs: one JSON object a line on stderr (easy to read, grep and ship),
// written by pino. Call sites keep one shape, log.info(msg, fields); the fields
// carry the ids (room, session, recording) a log search filters on.
import pino from 'pino';

/** LOG_LEVEL's values, most verbose first; silent writes nothing. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * A logger that writes lines at `minimum` and above: to stderr, or to `write`
 * (one JSON line, without its newline) for tests that read what was logged.
 * Lines look like {"level":"info","time":"2025-01-01T00:00:00.000Z",...fields,"msg":"..."}.
 */
export function createLogger(minimum: LogLevel = 'info', write?: (line: string) => void): Logger {
  const destination: pino.DestinationStream = write === undefined
    // Synchronous: the lines before a process.exit() (start-up errors, shutdown) must not be lost.
    ? pino.destination({ dest: 2, sync: true })
    : { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) };
  const logger = pino(
    {
      level: minimum,
      // One process is one server: pid and hostname would be noise on every line.
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      // "level":"warn" rather than pino's numbers: readable without a lookup table.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const at = (level: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    if (fields === undefined) logger[level](msg);
    else logger[level](fields, msg);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** For tests and embedding: a logger that says nothing. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
