// RecordingStore: listing recordings from meta.json and playlists; and its layout, the one
// place where names from a URL become paths.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRecordingId, isRoomName } from '../../src/names';
import { isRecordingFile, newRecordingId } from '../../src/recordings/layout';
import { cursorOf, parseCursor, RecordingStore } from '../../src/recordings/store';

const ENDED =
  '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:2.000000,\nseg_00000.ts\n#EXTINF:1.500000,\nseg_00001.ts\n#EXT-X-ENDLIST\n';
const RUNNING =
  '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:2.002,\nseg_00000.ts\n#EXTINF:1.998,\nseg_00001.ts\n#EXTINF:2,\nseg_00002.ts\n';

describe('RecordingStore', () => {
  let tmp: string;
  let dir: string;

  async function recording(room: string, id: string, meta: unknown, playlist = ENDED): Promise<string> {
    const d = path.join(dir, room, id);
    await fs.mkdir(d, { recursive: true });
    await fs.writeFile(path.join(d, 'index.m3u8'), playlist);
    await fs.writeFile(path.join(d, 'seg_00000.ts'), 'ts');
    if (meta !== undefined) await fs.writeFile(path.join(d, 'meta.json'), typeof meta === 'string' ? meta : JSON.stringify(meta));
    return d;
  }

  const finishedMeta = (room: string, id: string, startedAt: string) => ({
    room,
    id,
    startedAt,
    endedAt: new Date(Date.parse(startedAt) + 3500).toISOString(),
    durationSeconds: 3.5,
    video: 'h264',
    audio: 'aac',
  });

  beforeEach(async () => {
    tmp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-store-')));
    dir = path.join(tmp, 'recordings');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(tmp, 'secret.txt'), 'secret');
  });

  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  describe('names', () => {
    it('newRecordingId is the UTC start second plus 32 random bits, sortable by time', () => {
      const a = newRecordingId(new Date('2026-11-24T10:15:00.123Z'));
      assert.match(a, /^20261124T101500Z-[0-9a-f]{8}$/);
      assert.ok(isRecordingId(a));
      assert.notEqual(newRecordingId(new Date('2026-11-24T10:15:00Z')), newRecordingId(new Date('2026-11-24T10:15:00Z')));
      const later = newRecordingId(new Date('2026-11-24T10:15:01Z'));
      assert.ok(later > a);
      assert.match(newRecordingId(), /^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    });

    it('accepts only strict room names, ids and served file names', () => {
      for (const ok of ['a', 'my_room-1', 'A'.repeat(64)]) assert.ok(isRoomName(ok), ok);
      for (const bad of ['', 'a'.repeat(65), '..', '.', 'a.b', 'a/b', 'a\\b', 'a\0', 'a b', '%2e', 'é', 5, undefined, ['a']])
        assert.ok(!isRoomName(bad), String(bad));
      for (const ok of ['20261124T101500Z-3fa9c2', 'abc', 'x'.repeat(64)]) assert.ok(isRecordingId(ok), ok);
      for (const bad of ['', 'x'.repeat(65), '..', 'a_b', 'a.mp4', 'a/b', 'a\0']) assert.ok(!isRecordingId(bad), bad);
      for (const ok of ['index.m3u8', 'seg_00000.ts', 'seg_99999.ts']) assert.ok(isRecordingFile(ok), ok);
      for (const bad of ['meta.json', 'recording.mp4', 'seg_0000.ts', 'seg_000000.ts', 'index.m3u8\0', '../index.m3u8', 'INDEX.M3U8', 'seg_00000.ts.bak'])
        assert.ok(!isRecordingFile(bad), bad);
    });
  });

  describe('resolve', () => {
    it('gives absolute paths inside the directory for existing rooms, recordings and files', async () => {
      const d = await recording('studio', 'rec-1', finishedMeta('studio', 'rec-1', '2026-01-01T00:00:00Z'));
      const store = new RecordingStore(path.relative(process.cwd(), dir));
      assert.equal(store.layout.root, dir);
      assert.equal(await store.layout.resolve('studio'), path.join(dir, 'studio'));
      assert.equal(await store.layout.resolve('studio', 'rec-1'), d);
      assert.equal(await store.layout.resolve('studio', 'rec-1', 'index.m3u8'), path.join(d, 'index.m3u8'));
      assert.equal(await store.layout.resolve('studio', 'rec-1', 'seg_00000.ts'), path.join(d, 'seg_00000.ts'));
    });

    it('gives undefined for malformed names, absent paths and files that are not served', async () => {
      await recording('studio', 'rec-1', finishedMeta('studio', 'rec-1', '2026-01-01T00:00:00Z'));
      const store = new RecordingStore(dir);
      const cases: [string, string?, string?][] = [
        ['..'],
        ['..', '..'],
        ['studio', '..'],
        ['studio', 'rec-1', '../../../secret.txt'],
        ['studio', 'rec-1', 'meta.json'],
        ['studio', 'rec-1', 'seg_00001.ts'],
        ['studio', 'rec-2'],
        ['nobody'],
        ['studio/../..'],
        [path.join(tmp)],
        ['studio', path.join(tmp, 'secret.txt')],
        ['studio\0'],
        ['studio', 'rec-1\0', 'index.m3u8'],
        ['..\\..', 'x'],
        ['', ''],
        ['a'.repeat(65)],
        ['studio', undefined, 'index.m3u8'],
      ];
      for (const [room, id, file] of cases) assert.equal(await store.layout.resolve(room, id, file), undefined, JSON.stringify([room, id, file]));
    });

    it('refuses symlinks that lead outside, follows those that stay inside', async () => {
      const outside = path.join(tmp, 'outside', 'rec-x');
      await fs.mkdir(outside, { recursive: true });
      await fs.writeFile(path.join(outside, 'index.m3u8'), ENDED);
      await fs.writeFile(path.join(outside, 'meta.json'), JSON.stringify(finishedMeta('x', 'rec-x', '2026-01-01T00:00:00Z')));
      const d = await recording('studio', 'rec-1', finishedMeta('studio', 'rec-1', '2026-01-01T00:00:00Z'));
      await fs.symlink(path.join(tmp, 'outside'), path.join(dir, 'evil'));
      await fs.symlink(outside, path.join(dir, 'studio', 'rec-out'));
      await fs.symlink(path.join(tmp, 'secret.txt'), path.join(d, 'seg_00001.ts'));
      await fs.symlink(d, path.join(dir, 'studio', 'rec-alias'));
      const store = new RecordingStore(dir);
      assert.equal(await store.layout.resolve('evil'), undefined);
      assert.equal(await store.layout.resolve('evil', 'rec-x', 'index.m3u8'), undefined);
      assert.equal(await store.layout.resolve('studio', 'rec-out'), undefined);
      assert.equal(await store.layout.resolve('studio', 'rec-out', 'index.m3u8'), undefined);
      assert.equal(await store.layout.resolve('studio', 'rec-1', 'seg_00001.ts'), undefined);
      assert.equal(await store.layout.resolve('studio', 'rec-alias', 'index.m3u8'), path.join(dir, 'studio', 'rec-alias', 'index.m3u8'));
      assert.deepEqual((await store.list()).map((r) => r.id).sort(), ['rec-1', 'rec-alias']);
      assert.equal(await store.remove('studio', 'rec-out'), false);
      assert.equal(await store.remove('evil', 'rec-x'), false);
      await fs.access(path.join(outside, 'index.m3u8'));
    });

    it('works when RECORDINGS_DIR itself is a symlink', async () => {
      await recording('studio', 'rec-1', finishedMeta('studio', 'rec-1', '2026-01-01T00:00:00Z'));
      await fs.symlink(dir, path.join(tmp, 'link'));
      const store = new RecordingStore(path.join(tmp, 'link'));
      assert.equal(await store.layout.resolve('studio', 'rec-1', 'index.m3u8'), path.join(tmp, 'link', 'studio', 'rec-1', 'index.m3u8'));
      assert.equal((await store.list()).length, 1);
    });
  });

  describe('list', () => {
    it('lists newest first in the shape of GET /api/recordings, skipping what has no readable meta.json', async () => {
      await recording('b_room', 'rec-old', finishedMeta('b_room', 'rec-old', '2026-01-01T00:00:00Z'));
      await recording('a-room', 'rec-new', finishedMeta('a-room', 'rec-new', '2026-03-01T00:00:00.000Z'));
      await recording('a-room', 'rec-mid', finishedMeta('a-room', 'rec-mid', '2026-02-01T00:00:00Z'));
      await recording('a-room', 'rec-nometa', undefined);
      await recording('a-room', 'rec-badjson', '{');
      await recording('a-room', 'rec-array', '[1,2]');
      await recording('a-room', 'rec-nostart', { room: 'a-room', id: 'rec-nostart', endedAt: null });
      await recording('a-room', 'bad.name', finishedMeta('a-room', 'bad.name', '2026-04-01T00:00:00Z'));
      await fs.writeFile(path.join(dir, 'stray-file'), 'x');
      const store = new RecordingStore(dir);
      const list = await store.list();
      assert.deepEqual(
        list.map((r) => r.id),
        ['rec-new', 'rec-mid', 'rec-old'],
      );
      assert.deepEqual(list[0], {
        room: 'a-room',
        id: 'rec-new',
        startedAt: '2026-03-01T00:00:00.000Z',
        endedAt: '2026-03-01T00:00:03.500Z',
        durationSeconds: 3.5,
        // Every file of the recording: playlist, segment, meta.json.
        bytes: Buffer.byteLength(ENDED) + 2 + Buffer.byteLength(JSON.stringify(finishedMeta('a-room', 'rec-new', '2026-03-01T00:00:00.000Z'))),
        playlist: '/recordings/a-room/rec-new/index.m3u8',
        download: '/recordings/a-room/rec-new.mp4',
        status: 'finished',
      });
      assert.deepEqual(
        (await store.list('b_room')).map((r) => r.id),
        ['rec-old'],
      );
      assert.deepEqual(await store.list('nobody'), []);
      assert.deepEqual(await store.list('../recordings'), []);
      assert.deepEqual(await new RecordingStore(path.join(tmp, 'absent')).list(), []);
    });

    it('takes room and id from the directory, not from meta.json', async () => {
      await recording('real', 'rec-1', finishedMeta('../../etc', 'passwd', '2026-01-01T00:00:00Z'));
      const [r] = await new RecordingStore(dir).list();
      assert.equal(r!.room, 'real');
      assert.equal(r!.id, 'rec-1');
      assert.equal(r!.playlist, '/recordings/real/rec-1/index.m3u8');
    });

    it('gives a recording in progress endedAt null and the EXTINF sum so far', async () => {
      await recording(
        'studio',
        'rec-live',
        { room: 'studio', id: 'rec-live', startedAt: '2026-05-01T00:00:00Z', endedAt: null, durationSeconds: null, video: 'h264', audio: null },
        RUNNING,
      );
      const store = new RecordingStore(dir);
      const [r] = await store.list();
      assert.equal(r!.endedAt, null);
      assert.equal(r!.durationSeconds, 6);
      const got = await store.get('studio', 'rec-live');
      assert.equal(got!.inProgress, true);
      assert.equal(got!.meta.audio, null);
    });

    it('a finished meta.json without durationSeconds gets the EXTINF sum', async () => {
      await recording('studio', 'rec-1', { startedAt: '2026-05-01T00:00:00Z', endedAt: '2026-05-01T00:00:04Z', durationSeconds: null });
      const got = await new RecordingStore(dir).get('studio', 'rec-1');
      assert.equal(got!.info.durationSeconds, 3.5);
      assert.equal(got!.inProgress, false);
    });
  });

  describe('in progress', () => {
    it('is endedAt null without #EXT-X-ENDLIST; with ENDLIST (recorder finishing) it is done', async () => {
      const meta = { startedAt: '2026-05-01T00:00:00Z', endedAt: null, durationSeconds: null };
      await recording('studio', 'running', meta, RUNNING);
      await recording('studio', 'ending', meta, ENDED);
      const store = new RecordingStore(dir);
      assert.equal((await store.get('studio', 'running'))!.inProgress, true);
      assert.equal((await store.get('studio', 'ending'))!.inProgress, false);
      assert.equal((await store.get('studio', 'ending'))!.info.durationSeconds, 3.5);
    });

    it("carries meta.json's status, and the error of a failed recording; a 'recording' with no recorder behind it is interrupted", async () => {
      const at = (status: string | undefined, error: string | null = null) => ({
        startedAt: '2026-05-01T00:00:00Z',
        endedAt: null,
        durationSeconds: null,
        status,
        error,
      });
      await recording('studio', 'live', at('recording'), RUNNING);
      await recording('studio', 'cut-off', at('recording'), RUNNING);
      await recording('studio', 'done', { ...at('finished'), endedAt: '2026-05-01T00:00:04Z' });
      await recording('studio', 'crashed', { ...at('interrupted'), endedAt: '2026-05-01T00:00:04Z' });
      await recording('studio', 'disk-full', { ...at('failed', 'the disk is full'), endedAt: '2026-05-01T00:00:04Z' });
      await recording('studio', 'odd', { ...at('exploded', ''), endedAt: '2026-05-01T00:00:04Z' });
      const store = new RecordingStore(dir, { isActive: (_room, id) => id === 'live' });
      const byId = new Map((await store.list()).map((r) => [r.id, r]));
      assert.deepEqual([...byId.values()].map((r) => [r.id, r.status, r.error]).sort(), [
        ['crashed', 'interrupted', undefined],
        ['cut-off', 'interrupted', undefined],
        ['disk-full', 'failed', 'the disk is full'],
        ['done', 'finished', undefined],
        ['live', 'recording', undefined],
        ['odd', 'finished', undefined],
      ]);
      assert.ok(!('error' in byId.get('done')!), 'no error key without an error');
    });

    it('asks the recorder when given isActive', async () => {
      const meta = { startedAt: '2026-05-01T00:00:00Z', endedAt: null, durationSeconds: null };
      await recording('studio', 'crashed', meta, RUNNING);
      await recording('studio', 'live', meta, RUNNING);
      const store = new RecordingStore(dir, { isActive: (room, id) => room === 'studio' && id === 'live' });
      assert.equal((await store.get('studio', 'crashed'))!.inProgress, false);
      assert.equal((await store.get('studio', 'live'))!.inProgress, true);
    });
  });

  describe('index', () => {
    it('reads the disk once: a listing after that reads nothing, yet shows every change made through the store', async () => {
      await recording('studio', 'rec-1', finishedMeta('studio', 'rec-1', '2026-01-01T00:00:00Z'));
      const store = new RecordingStore(dir);
      assert.deepEqual(
        (await store.list()).map((r) => r.id),
        ['rec-1'],
      );
      // Written behind the store's back: not listed until someone tells it (the recorder does).
      await recording('studio', 'rec-2', finishedMeta('studio', 'rec-2', '2026-01-02T00:00:00Z'));
      assert.deepEqual(
        (await store.list()).map((r) => r.id),
        ['rec-1'],
      );
      await store.refresh('studio', 'rec-2');
      assert.deepEqual(
        (await store.list()).map((r) => r.id),
        ['rec-2', 'rec-1'],
      );
      // An MP4 beside it counts in its size.
      const before = (await store.get('studio', 'rec-1'))!.info.bytes;
      await fs.writeFile(path.join(dir, 'studio', 'rec-1', 'recording.mp4'), Buffer.alloc(10_000));
      await store.refresh('studio', 'rec-1');
      assert.equal((await store.get('studio', 'rec-1'))!.info.bytes, before + 10_000);
      assert.equal(await store.remove('studio', 'rec-1'), true);
      assert.deepEqual(
        (await store.list()).map((r) => r.id),
        ['rec-2'],
      );
      await fs.rm(path.join(dir, 'studio', 'rec-2'), { recursive: true });
      await store.refresh('studio', 'rec-2');
      assert.deepEqual(await store.list(), []);
    });

    it('lists a recording being written as soon as its meta.json exists, and reads it again as it grows and when it ends', async () => {
      const active = new Set<string>(['studio/live']);
      const store = new RecordingStore(dir, {
        isActive: (room, id) => active.has(`${room}/${id}`),
        activeRecordings: () => [...active].map((key) => ({ room: key.split('/')[0]!, id: key.split('/')[1]! })),
      });
      assert.deepEqual(await store.list(), []);
      const meta = { startedAt: '2026-05-01T00:00:00Z', endedAt: null, durationSeconds: null, status: 'recording' };
      const d = await recording('studio', 'live', meta, RUNNING);
      const [live] = await store.list();
      assert.equal(live!.durationSeconds, 6);
      assert.equal(live!.endedAt, null);
      // The recorder stops and writes its final meta.json: the next listing reads it at once.
      await fs.writeFile(path.join(d, 'index.m3u8'), ENDED);
      await fs.writeFile(path.join(d, 'meta.json'), JSON.stringify({ ...meta, endedAt: '2026-05-01T00:00:04Z', durationSeconds: 3.5, status: 'finished' }));
      active.delete('studio/live');
      const [ended] = await store.list();
      assert.equal(ended!.endedAt, '2026-05-01T00:00:04Z');
      assert.equal(ended!.durationSeconds, 3.5);
      assert.equal(ended!.bytes, Buffer.byteLength(ENDED) + 2 + (await fs.stat(path.join(d, 'meta.json'))).size);
    });

    it('keeps every field of meta.json, the ones it does not know too', async () => {
      await recording('studio', 'rec-1', {
        ...finishedMeta('studio', 'rec-1', '2026-01-01T00:00:00Z'),
        status: 'failed',
        error: 'the disk is full',
        note: 'kept',
      });
      const got = await new RecordingStore(dir).get('studio', 'rec-1');
      assert.equal(got!.meta.status, 'failed');
      assert.equal(got!.meta.error, 'the disk is full');
      assert.equal((got!.meta as unknown as Record<string, unknown>)['note'], 'kept');
    });

    it('pages newest first from a cursor, one room or all, stable when a recording goes between pages', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        const id = `rec-${String(i).padStart(2, '0')}`;
        ids.push(id);
        // Pairs share a start time: the order falls back to id, then room.
        await recording(i % 3 === 0 ? 'b' : 'a', id, finishedMeta('x', id, new Date(Date.UTC(2026, 0, 1, 0, 0, Math.floor(i / 2))).toISOString()));
      }
      const store = new RecordingStore(dir);
      const all = (await store.list()).map((r) => r.id);
      assert.deepEqual(all, [...ids].reverse());
      const paged: string[] = [];
      let before: ReturnType<typeof parseCursor>;
      for (;;) {
        const page = await store.list(undefined, { limit: 10, ...(before ? { before } : {}) });
        paged.push(...page.map((r) => r.id));
        if (page.length < 10) break;
        before = parseCursor(cursorOf(page[page.length - 1]!));
        assert.ok(before);
        if (paged.length === 10) await store.remove(page[9]!.room, page[9]!.id);
      }
      assert.deepEqual(paged, all);
      const roomB = (await store.list('b', { limit: 3 })).map((r) => r.id);
      assert.deepEqual(roomB, ['rec-24', 'rec-21', 'rec-18']);
      const next = (await store.list('b', { limit: 3, before: parseCursor(cursorOf((await store.list('b', { limit: 3 }))[2]!))! })).map((r) => r.id);
      assert.deepEqual(next, ['rec-12', 'rec-09', 'rec-06']);
      for (const bad of ['', 'x.a.b', '1.a', '1.a.b.c', '1.../..', '1.a.b/c', 5]) assert.equal(parseCursor(bad), undefined, String(bad));
    });
  });

  describe('remove', () => {
    it('deletes the recording directory without following symlinks inside it', async () => {
      const d = await recording('studio', 'rec-1', finishedMeta('studio', 'rec-1', '2026-01-01T00:00:00Z'));
      await fs.symlink(path.join(tmp, 'secret.txt'), path.join(d, 'link.ts'));
      const store = new RecordingStore(dir);
      assert.equal(await store.remove('studio', 'rec-1'), true);
      await assert.rejects(fs.access(d));
      assert.equal(await fs.readFile(path.join(tmp, 'secret.txt'), 'utf8'), 'secret');
      assert.equal(await store.remove('studio', 'rec-1'), false);
      assert.equal(await store.remove('..', '..'), false);
      assert.equal(await store.remove('studio', '..'), false);
      await fs.access(dir);
    });
  });
});
