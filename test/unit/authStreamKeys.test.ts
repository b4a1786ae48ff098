// Per-room stream keys (src/auth/streamKeys*.ts) and room patterns: what the file says,
// the line a mistake is on, which key publishes where, and reloading a changed file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, renameSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/configError';
import { isRoomPattern, roomMatcher } from '../../src/auth/roomPattern';
import { StreamKeys } from '../../src/auth/streamKeys';
import { parseStreamKeys, StreamKeysError } from '../../src/auth/streamKeysFile';
import type { AuthRequest } from '../../src/auth/types';
import { loggerTo } from '../../src/log';

const publish = (room: string | undefined, token: string | undefined): AuthRequest => ({ action: 'publish', room, token, ip: '127.0.0.1', userAgent: 'OBS' });

describe('room patterns', () => {
  it('* stands for any run of room-name characters, and nothing else is special', () => {
    const team = roomMatcher('team-*');
    assert.ok(team('team-a') && team('team-') && team('team-A_b-9'));
    assert.ok(!team('teamx') && !team('my-team-a') && !team('team-a/b'));
    assert.ok(roomMatcher('*')('anything_at-all'));
    assert.ok(roomMatcher('a*b*c')('aXbYc') && !roomMatcher('a*b*c')('aXbY'));
    assert.ok(roomMatcher('studio')('studio') && !roomMatcher('studio')('studio2') && !roomMatcher('studio')('Studio'));
    // Pieces may not overlap, nor the head and the tail.
    assert.ok(roomMatcher('a*ab')('aab') && !roomMatcher('ab*ba')('aba') && !roomMatcher('a*b*b')('ab') && roomMatcher('a*b*b')('abb'));
    assert.ok(roomMatcher('**x**')('x') && roomMatcher('*-*-*')('--') && !roomMatcher('*-*-*')('-'.repeat(60) + '!'));
  });

  it('takes room names and *, nothing else', () => {
    for (const ok of ['studio', 'team-*', '*', 'a_b-C9*']) assert.ok(isRoomPattern(ok), ok);
    for (const bad of ['', 'a.b', 'a/b', 'room?', '[a]', 'a b', 'x'.repeat(129), 7]) assert.ok(!isRoomPattern(bad), String(bad));
  });
});

describe('the STREAM_KEYS file', () => {
  it('reads room:key lines, with comments, blank lines and several keys per room', () => {
    const entries = parseStreamKeys('# studio keys\n\nstudio-a : k3y-a\nteam-*:team.key=\r\nstudio-a:spare+key/2\n');
    assert.deepEqual(entries, [
      { rooms: 'studio-a', keys: ['k3y-a', 'spare+key/2'] },
      { rooms: 'team-*', keys: ['team.key='] },
    ]);
  });

  it('reads JSON: a key or a list of keys per room or pattern', () => {
    assert.deepEqual(parseStreamKeys('{\n  "studio-a": "k3y",\n  "team-*": ["one", "two"]\n}\n'), [
      { rooms: 'studio-a', keys: ['k3y'] },
      { rooms: 'team-*', keys: ['one', 'two'] },
    ]);
  });

  it('names the line of a mistake', () => {
    const mistakes: Array<[string, RegExp]> = [
      ['studio:ok\n\nno colon here\n', /^line 3: expected room:key/],
      ['studio:ok\nbad room!:key\n', /^line 2: "bad room!" is not a room name/],
      ['studio:two words\n', /^line 1: the key for "studio" must be/],
      ['studio:\n', /^line 1: the key for "studio" must be/],
      ['{\n  "a": "k",\n  "b": 7\n}', /^line 3: "b" must have a key or a list of keys/],
      ['{\n  "a": "k",\n  "b": []\n}', /^line 3: "b" must have a key/],
      ['{\n  "a": "k",\n  "b" "k2"\n}', /^line 3: not valid JSON$/],
      ['{\n  "a b": "k"\n}', /^line 2: "a b" is not a room name/],
    ];
    for (const [text, message] of mistakes) {
      assert.throws(
        () => parseStreamKeys(text),
        (e: unknown) => e instanceof StreamKeysError && message.test(e.message),
        JSON.stringify(text),
      );
    }
  });
});

describe('stream keys', () => {
  let dir: string;
  let file: string;
  const warnings: string[] = [];
  const log = loggerTo((level, msg) => {
    if (level === 'warn') warnings.push(msg);
  });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'onecast-keys-'));
    file = path.join(dir, 'keys.txt');
    warnings.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("publishes with a room's key to that room only; a key of another room is a 403, an unknown key nothing", () => {
    writeFileSync(file, 'studio-a:key-a\nteam-*:key-team\nstudio-b:key-b\n');
    const keys = new StreamKeys(file, log);
    assert.deepEqual(keys.judge(publish('studio-a', 'key-a')), { kind: 'grant' });
    assert.deepEqual(keys.judge(publish('team-red', 'key-team')), { kind: 'grant' });
    const elsewhere = keys.judge(publish('studio-b', 'key-a'));
    assert.equal(elsewhere.kind === 'refuse' && elsewhere.status, 403);
    assert.match(elsewhere.kind === 'refuse' ? elsewhere.detail : '', /does not publish to room "studio-b"/);
    assert.deepEqual(keys.judge(publish('studio-a', 'key-unknown')), { kind: 'unknown' });
    assert.deepEqual(keys.judge(publish('studio-a', undefined)), { kind: 'unknown' });
    assert.deepEqual(keys.covers, ['publish'], 'keys grant publishing only');
  });

  it('refuses at start a file it cannot read or parse', () => {
    assert.throws(
      () => new StreamKeys(path.join(dir, 'missing.txt'), log),
      (e: unknown) => e instanceof ConfigError && /STREAM_KEYS: cannot use .*: no such file/.test(e.message),
    );
    writeFileSync(file, 'studio-a key-a\n');
    assert.throws(
      () => new StreamKeys(file, log),
      (e: unknown) => e instanceof ConfigError && /line 1: expected room:key/.test(e.message),
    );
  });

  it('reloads a changed file, also one replaced by a rename; a broken one keeps the previous keys with one warn line, a deleted one revokes them', () => {
    writeFileSync(file, 'studio-a:old-key\n');
    const keys = new StreamKeys(file, log);
    assert.equal(keys.reloadIfChanged(), false, 'nothing changed');

    // As editors save: a new file renamed over the old one.
    writeFileSync(path.join(dir, 'keys.tmp'), 'studio-a:new-key\n');
    renameSync(path.join(dir, 'keys.tmp'), file);
    assert.equal(keys.reloadIfChanged(), true);
    assert.deepEqual(keys.judge(publish('studio-a', 'new-key')), { kind: 'grant' });
    assert.deepEqual(keys.judge(publish('studio-a', 'old-key')), { kind: 'unknown' });

    writeFileSync(file, 'studio-a:new-key\nstudio-b key-b\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    assert.equal(keys.reloadIfChanged(), false);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /not reloaded, the previous keys stay: line 2: expected room:key/);
    assert.deepEqual(keys.judge(publish('studio-a', 'new-key')), { kind: 'grant' }, 'the previous keys stay');
    assert.equal(keys.reloadIfChanged(), false);
    assert.equal(warnings.length, 1, 'one warn line per broken version, not one per look');

    rmSync(file);
    assert.equal(keys.reloadIfChanged(), true);
    assert.match(warnings[1]!, /is gone: no stream key publishes until it is back/);
    assert.deepEqual(keys.judge(publish('studio-a', 'new-key')), { kind: 'unknown' }, 'a file deleted revokes every key');
    writeFileSync(file, 'studio-a:back-key\n');
    assert.equal(keys.reloadIfChanged(), true);
    assert.deepEqual(keys.judge(publish('studio-a', 'back-key')), { kind: 'grant' }, 'and its return brings its keys');
  });
});
