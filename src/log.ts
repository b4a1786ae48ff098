// Structured logs: one JSON object a line on stderr (easy to read, grep and ship),
// written by pino. Call sites keep one shape, log.info(msg, fields); the fields
// carry the ids (room, session, recording) a log search filters on.
import pino from 'pino';

/** LOG_LEVEL's values, most verbose first; silent writes nothing. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /**
   * A logger whose lines carry `fields` before each call's own (the ids of what the
   * lines are about: a room, a session), so call sites need not repeat them. A call's
   * fields must not repeat a name of these.
   */
  child(fields: LogFields): Logger;
}

/**
 * A logger that writes lines at `minimum` and above: to stderr, or to `write`
 * (one JSON line, without its newline) for tests that read what was logged.
 * Lines look like {"level":"info","time":"2025-01-01T00:00:00.000Z",...fields,"msg":"..."}.
 */
export function createLogger(minimum: LogLevel = 'info', write?: (line: string) => void): Logger {
  const destination: pino.DestinationStream =
    write === undefined
      ? // Synchronous: the lines before a process.exit() (start-up errors, shutdown) must not be lost.
        pino.destination({ dest: 2, sync: true })
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
  return fromPino(logger);
}

/** pino's child loggers write their bindings after "time" and before the call's fields: the line keeps its shape. */
function fromPino(logger: pino.Logger): Logger {
  const at = (level: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: LogFields) => {
    if (fields === undefined) logger[level](msg);
    else logger[level](fields, msg);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (fields) => fromPino(logger.child(fields)) };
}

/**
 * A logger that hands every call to `write` as level, message and fields, a child's
 * fields first: for tests that look at what was logged, field by field.
 */
export function loggerTo(write: (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields) => void, bound?: LogFields): Logger {
  const at = (level: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: LogFields) =>
    write(level, msg, bound === undefined ? fields : { ...bound, ...fields });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (fields) => loggerTo(write, { ...bound, ...fields }) };
}

/** For tests and embedding: a logger that says nothing. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };

/** The message of something thrown, for an `error` field or a sentence. */
export function errorText(e: unknown): string {
  return (e as Error | undefined)?.message ?? String(e);
}
