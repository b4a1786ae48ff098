// The log line format other tools (and tests) read: one JSON object per line with
// a level name, an ISO time, the call's fields and its message.
import assert from 'node:assert/strict';
import { createLogger, LOG_LEVELS } from '../../src/log';

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
    assert.deepEqual({ ...first, time: undefined }, { level: 'info', time: undefined, room: 'demo', session: 'ab12', kind: 'publish', msg: 'session connected' });
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
});
