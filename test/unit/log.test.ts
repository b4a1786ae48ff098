// The log line format other tools (and tests) read: one JSON object per line with
// a level name, an ISO time, the call's fields and its message.
import assert from 'node:assert/strict';
import { createLogger, LOG_LEVELS, loggerTo, silentLogger, type LogFields } from '../../src/log';

describe('log', () => {
  function capture(level: (typeof LOG_LEVELS)[number]): { lines: string[]; log: ReturnType<typeof createLogger> } {
    const lines: string[] = [];
    return { lines, log: createLogger(level, (l) => lines.push(l)) };
  }

  it('writes one JSON line per call: level name, ISO time, the fields, the message', () => {
    const { lines, log } = capture('info');
    log.info('session connected', { room: 'demo', session: 'ab12', kind: 'publish' });
    log.warn('plain');
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => !l.includes('\n')));
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(
      { ...first, time: undefined },
      { level: 'info', time: undefined, room: 'demo', session: 'ab12', kind: 'publish', msg: 'session connected' },
    );
    assert.match(String(first['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(Object.keys(JSON.parse(lines[1]!) as object), ['level', 'time', 'msg'], 'no pid or hostname on every line');
  });

  it('writes the chosen level and above, nothing at silent', () => {
    const written = (level: (typeof LOG_LEVELS)[number]) => {
      const { lines, log } = capture(level);
      log.debug('d');
      log.info('i');
      log.warn('w');
      log.error('e');
      return lines.map((l) => (JSON.parse(l) as { msg: string }).msg).join('');
    };
    assert.deepEqual(LOG_LEVELS.map(written), ['diwe', 'iwe', 'we', 'e', '']);
  });

  it("a child logger writes the same line as a call with all the fields: its own first, then the call's", () => {
    const { lines, log } = capture('info');
    log.info('session closed', { room: 'demo', session: 'ab12', kind: 'play', reason: 'deleted' });
    const session = log.child({ room: 'demo', session: 'ab12' }).child({ kind: 'play' });
    session.info('session closed', { reason: 'deleted' });
    session.debug('below the level');
    assert.equal(lines.length, 2);
    const strip = (line: string) => line.replace(/"time":"[^"]*"/, '');
    assert.equal(strip(lines[1]!), strip(lines[0]!));
    assert.deepEqual(Object.keys(JSON.parse(lines[1]!) as object), ['level', 'time', 'room', 'session', 'kind', 'reason', 'msg']);
  });

  it("loggerTo hands tests each call with a child's fields merged in; the silent logger's children say nothing", () => {
    const calls: [string, string, LogFields | undefined][] = [];
    const log = loggerTo((level, msg, fields) => void calls.push([level, msg, fields]));
    log.warn('plain');
    log.child({ room: 'demo' }).error('failed', { id: 'r1' });
    assert.deepEqual(calls, [
      ['warn', 'plain', undefined],
      ['error', 'failed', { room: 'demo', id: 'r1' }],
    ]);
    assert.equal(silentLogger.child({ room: 'demo' }), silentLogger);
  });
});
