// Retention (RECORDINGS_MAX_AGE, RECORDINGS_MAX_BYTES) over real files in a temporary
// directory, with a clock of the test's own: oldest finished recordings go first, one
// being written never does.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loggerTo } from '../../src/log';
import { RecordingRetention } from '../../src/recordings/retention';
import { RecordingStore } from '../../src/recordings/store';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-06-30T12:00:00Z');
const ENDED = '#EXTM3U\n#EXTINF:2.0,\nseg_00000.ts\n#EXT-X-ENDLIST\n';
const RUNNING = '#EXTM3U\n#EXTINF:2.0,\nseg_00000.ts\n';

describe('recordings retention', () => {
  let dir: string;
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log = loggerTo((level, msg, fields) => void lines.push({ level, msg, ...(fields ? { fields } : {}) }));

  /** A recording that started `startedAgo` before NOW and, unless `live`, ended an hour later; its segment holds `bytes`. */
  async function recording(room: string, id: string, startedAgo: number, bytes: number, live = false): Promise<number> {
    const d = path.join(dir, room, id);
    await fs.mkdir(d, { recursive: true });
    await fs.writeFile(path.join(d, 'index.m3u8'), live ? RUNNING : ENDED);
    await fs.writeFile(path.join(d, 'seg_00000.ts'), Buffer.alloc(bytes));
    const startedAt = new Date(NOW - startedAgo).toISOString();
    const endedAt = live ? null : new Date(NOW - startedAgo + HOUR).toISOString();
    await fs.writeFile(
      path.join(d, 'meta.json'),
      JSON.stringify({ room, id, startedAt, endedAt, durationSeconds: live ? null : 2, video: 'H264', audio: 'opus' }),
    );
    let total = 0;
    for (const name of await fs.readdir(d)) total += (await fs.stat(path.join(d, name))).size;
    return total;
  }

  const present = async (room: string, id: string) =>
    fs.access(path.join(dir, room, id)).then(
      () => true,
      () => false,
    );

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-retention-'));
    lines.length = 0;
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('RECORDINGS_MAX_BYTES: deletes the oldest finished recordings until the rest fit, never the one being written', async () => {
    const live = await recording('a', 'live', 10 * DAY, 50_000, true); // the oldest of all, and still being written
    const oldest = await recording('a', 'oldest', 5 * DAY, 20_000);
    const older = await recording('b', 'older', 4 * DAY, 20_000);
    const newer = await recording('a', 'newer', 3 * DAY, 20_000);
    const newest = await recording('b', 'newest', 2 * DAY, 20_000);
    const store = new RecordingStore(dir, { isActive: (room, id) => room === 'a' && id === 'live' });
    // Room for the live one and two more.
    const retention = new RecordingRetention(store, { maxAgeMs: 0, maxBytes: live + newer + newest + 100, log, now: () => NOW });
    const removed = await retention.sweep();
    assert.deepEqual(
      removed.map((r) => [r.id, r.reason, r.bytes]),
      [
        ['oldest', 'bytes', oldest],
        ['older', 'bytes', older],
      ],
    );
    assert.deepEqual(
      (await store.list()).map((r) => r.id),
      ['newest', 'newer', 'live'],
    );
    assert.equal(await present('a', 'oldest'), false);
    assert.equal(await present('b', 'older'), false);
    assert.equal(await present('a', 'live'), true);
    assert.deepEqual(
      lines.filter((l) => l.msg === 'recording deleted by retention').map((l) => l.fields!['id']),
      ['oldest', 'older'],
    );

    // Now the live one alone is over a smaller limit: every finished one goes, it stays, and the log says so.
    const strict = new RecordingRetention(store, { maxAgeMs: 0, maxBytes: live - 1, log, now: () => NOW });
    assert.deepEqual(
      (await strict.sweep()).map((r) => r.id),
      ['newer', 'newest'],
    );
    assert.deepEqual(
      (await store.list()).map((r) => r.id),
      ['live'],
    );
    assert.equal(await present('a', 'live'), true);
    assert.ok(lines.some((l) => l.level === 'warn' && /RECORDINGS_MAX_BYTES/.test(l.msg)));
  });

  it('RECORDINGS_MAX_AGE: deletes finished recordings that ended longer ago, as the clock moves on', async () => {
    await recording('a', 'live', 40 * DAY, 1_000, true);
    await recording('a', 'd10', 10 * DAY, 1_000);
    await recording('b', 'd3', 3 * DAY, 1_000);
    await recording('a', 'h5', 5 * HOUR, 1_000);
    const store = new RecordingStore(dir, { isActive: (_room, id) => id === 'live' });
    let now = NOW;
    const retention = new RecordingRetention(store, { maxAgeMs: 2 * DAY, maxBytes: 0, log, now: () => now });
    assert.deepEqual(
      (await retention.sweep()).map((r) => [r.id, r.reason]),
      [
        ['d10', 'age'],
        ['d3', 'age'],
      ],
    );
    assert.deepEqual(await retention.sweep(), []);
    now += 2 * DAY;
    assert.deepEqual(
      (await retention.sweep()).map((r) => r.id),
      ['h5'],
    );
    assert.deepEqual(
      (await store.list()).map((r) => r.id),
      ['live'],
    );
  });

  it('does nothing with no limit set', async () => {
    await recording('a', 'ancient', 400 * DAY, 1_000);
    const retention = new RecordingRetention(new RecordingStore(dir), { maxAgeMs: 0, maxBytes: 0, log, now: () => NOW });
    assert.equal(retention.enabled, false);
    assert.deepEqual(await retention.sweep(), []);
    assert.equal(await present('a', 'ancient'), true);
  });

  it('two sweeps at once delete each recording once', async () => {
    for (let i = 0; i < 6; i++) await recording('a', `r${i}`, (10 - i) * DAY, 1_000);
    const store = new RecordingStore(dir);
    const retention = new RecordingRetention(store, { maxAgeMs: 0, maxBytes: 1, log, now: () => NOW });
    const [first, second] = await Promise.all([retention.sweep(), retention.sweep()]);
    assert.deepEqual(
      first.map((r) => r.id),
      ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'],
    );
    assert.deepEqual(second, []);
  });
});
