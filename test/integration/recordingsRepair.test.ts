// repairInterrupted: at start-up, the recordings a crash left open (meta.json still
// 'recording', playlist without ENDLIST) are closed and marked interrupted; nothing else
// is touched.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log';
import { repairInterrupted } from '../../src/recordings/repair';
import { RecordingStore } from '../../src/recordings/store';

const HEAD = '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-INDEPENDENT-SEGMENTS\n';
/** As ffmpeg leaves it when killed: three finished segments listed, no ENDLIST. */
const CUT_OFF = `${HEAD}#EXTINF:2.000233,\nseg_00000.ts\n#EXTINF:2.000000,\nseg_00001.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:1.5,\nseg_00002.ts\n`;

describe('repairInterrupted', () => {
  let tmp: string;
  let dir: string;
  let lines: string[];
  const log = () => createLogger('info', (line) => lines.push(line));

  const meta = (over: Record<string, unknown> = {}) => ({
    room: 'studio',
    id: 'x',
    startedAt: '2026-05-01T10:00:00.000Z',
    endedAt: null,
    durationSeconds: null,
    video: 'H264',
    audio: 'opus',
    status: 'recording',
    error: null,
    ...over,
  });

  /** A recording folder: meta.json (object or raw text), the playlist if any, segment files (name → bytes). */
  async function folder(room: string, id: string, m: unknown, playlist: string | undefined, segments: Record<string, number>): Promise<string> {
    const d = path.join(dir, room, id);
    await fs.mkdir(d, { recursive: true });
    if (m !== undefined) await fs.writeFile(path.join(d, 'meta.json'), typeof m === 'string' ? m : JSON.stringify(m));
    if (playlist !== undefined) await fs.writeFile(path.join(d, 'index.m3u8'), playlist);
    for (const [name, size] of Object.entries(segments)) await fs.writeFile(path.join(d, name), Buffer.alloc(size, 0x47));
    return d;
  }

  async function files(d: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const name of (await fs.readdir(d)).sort()) out[name] = await fs.readFile(path.join(d, name), 'utf8');
    return out;
  }

  const readMeta = async (d: string) => JSON.parse(await fs.readFile(path.join(d, 'meta.json'), 'utf8')) as Record<string, unknown>;

  beforeEach(async () => {
    tmp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-repair-')));
    dir = path.join(tmp, 'recordings');
    await fs.mkdir(dir);
    lines = [];
  });

  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it("closes a cut-off recording: ENDLIST, interrupted, the EXTINF sum, the last segment's time; the unlisted partial segment goes", async () => {
    const d = await folder('studio', 'rec-1', meta(), CUT_OFF, { 'seg_00000.ts': 188, 'seg_00001.ts': 188, 'seg_00002.ts': 188, 'seg_00003.ts': 94 });
    const lastWrite = new Date('2026-05-01T10:00:05.500Z');
    await fs.utimes(path.join(d, 'seg_00002.ts'), lastWrite, lastWrite);
    const store = new RecordingStore(dir);

    const repaired = await repairInterrupted(store, log());

    assert.deepEqual(repaired, [{ room: 'studio', id: 'rec-1', durationSeconds: 5.5, endedAt: '2026-05-01T10:00:05.500Z', segments: 3 }]);
    assert.equal(await fs.readFile(path.join(d, 'index.m3u8'), 'utf8'), `${CUT_OFF}#EXT-X-ENDLIST\n`);
    assert.deepEqual((await fs.readdir(d)).sort(), ['index.m3u8', 'meta.json', 'seg_00000.ts', 'seg_00001.ts', 'seg_00002.ts']);
    assert.deepEqual(await readMeta(d), meta({ endedAt: '2026-05-01T10:00:05.500Z', durationSeconds: 5.5, status: 'interrupted' }));
    assert.equal(lines.length, 1, 'one line per repaired recording');
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line['level'], 'warn');
    assert.match(String(line['msg']), /interrupted/);
    assert.deepEqual([line['room'], line['id'], line['durationSeconds'], line['segments']], ['studio', 'rec-1', 5.5, 3]);

    const [listed] = await store.list();
    assert.deepEqual([listed!.status, listed!.endedAt, listed!.durationSeconds], ['interrupted', '2026-05-01T10:00:05.500Z', 5.5]);
    assert.deepEqual(await repairInterrupted(store, log()), [], 'a second start has nothing left to repair');
  });

  it('leaves finished, failed and already interrupted recordings, and folders that are no recordings, exactly as they are', async () => {
    const ended = `${CUT_OFF}#EXT-X-ENDLIST\n`;
    const seg = { 'seg_00000.ts': 188, 'seg_00001.ts': 188, 'seg_00002.ts': 188 };
    const untouched = [
      await folder('studio', 'finished', meta({ status: 'finished', endedAt: '2026-05-01T10:00:06Z', durationSeconds: 5.5 }), ended, seg),
      await folder('studio', 'failed', meta({ status: 'failed', error: 'the disk is full', endedAt: '2026-05-01T10:00:06Z', durationSeconds: 5.5 }), CUT_OFF, {
        ...seg,
        'seg_00003.ts': 5,
      }),
      await folder('studio', 'old-finished', { startedAt: '2026-05-01T10:00:00Z', endedAt: '2026-05-01T10:00:06Z', durationSeconds: 5.5 }, ended, seg),
      await folder('studio', 'no-meta', undefined, CUT_OFF, seg),
      await folder('studio', 'bad-meta', '{"status":"recording"', CUT_OFF, seg),
      await folder('studio', 'no-start', { status: 'recording', endedAt: null }, CUT_OFF, seg),
      await folder('studio', 'bad.name', meta(), CUT_OFF, seg),
    ];
    const before = await Promise.all(untouched.map(files));
    assert.deepEqual(await repairInterrupted(new RecordingStore(dir), log()), []);
    assert.deepEqual(await Promise.all(untouched.map(files)), before);
    assert.deepEqual(lines, []);
  });

  it('closes a recording cut off before its first segment with an empty playlist, ended when it started', async () => {
    const none = await folder('studio', 'no-playlist', meta(), undefined, {});
    const empty = await folder('studio', 'empty-playlist', meta(), '', {});
    const repaired = await repairInterrupted(new RecordingStore(dir), log());
    assert.deepEqual(repaired.map((r) => [r.id, r.durationSeconds, r.endedAt, r.segments]).sort(), [
      ['empty-playlist', 0, '2026-05-01T10:00:00.000Z', 0],
      ['no-playlist', 0, '2026-05-01T10:00:00.000Z', 0],
    ]);
    for (const d of [none, empty]) {
      assert.match(await fs.readFile(path.join(d, 'index.m3u8'), 'utf8'), /^#EXTM3U\n[\s\S]*#EXT-X-ENDLIST\n$/);
      assert.equal((await readMeta(d))['status'], 'interrupted');
    }
  });

  it('leaves out listed segments that are missing or empty, and repairs recordings written before meta.json had a status', async () => {
    const d = await folder('other', 'old', { startedAt: '2026-05-01T10:00:00Z', endedAt: null, durationSeconds: null }, CUT_OFF, {
      'seg_00000.ts': 188,
      'seg_00002.ts': 0,
    });
    const [r] = await repairInterrupted(new RecordingStore(dir), log());
    assert.deepEqual([r!.room, r!.id, r!.durationSeconds, r!.segments], ['other', 'old', 2, 1]);
    const text = await fs.readFile(path.join(d, 'index.m3u8'), 'utf8');
    assert.equal(text, `${HEAD}#EXTINF:2.000233,\nseg_00000.ts\n#EXT-X-ENDLIST\n`);
    assert.deepEqual((await fs.readdir(d)).sort(), ['index.m3u8', 'meta.json', 'seg_00000.ts']);
    assert.equal((await readMeta(d))['status'], 'interrupted');
  });

  it('does not follow a room folder that is a symlink out of RECORDINGS_DIR', async () => {
    const outside = path.join(tmp, 'outside');
    const d = await folder('../outside', 'rec-1', meta(), CUT_OFF, { 'seg_00000.ts': 188, 'seg_00001.ts': 188, 'seg_00002.ts': 188 });
    assert.equal(d, path.join(outside, 'rec-1'));
    await fs.symlink(outside, path.join(dir, 'linked'));
    const before = await files(d);
    assert.deepEqual(await repairInterrupted(new RecordingStore(dir), log()), []);
    assert.deepEqual(await files(d), before);
  });

  it('waits for an ffmpeg of the last run still writing the playlist, and closes what it wrote', async () => {
    const d = await folder('studio', 'finishing', meta(), CUT_OFF, { 'seg_00000.ts': 188, 'seg_00001.ts': 188, 'seg_00002.ts': 188 });
    // As ffmpeg at the end of its input, 1.5 s from now: its last segment, then the playlist that lists it; with
    // an HLS writer's command line (-hls_segment_filename …, the playlist last), as src/recorder/ffmpeg.ts runs it.
    const script = `setTimeout(() => { const fs = require('fs'); fs.writeFileSync(process.argv[1].replace('index.m3u8', 'seg_00003.ts'), 'x'.repeat(188)); fs.appendFileSync(process.argv[1], '#EXTINF:1.25,\\nseg_00003.ts\\n'); }, 1500);`;
    const args = [
      '-e',
      script,
      'recordings/studio/finishing/index.m3u8',
      '-hls_segment_filename',
      'recordings/studio/finishing/seg_%05d.ts',
      'recordings/studio/finishing/index.m3u8',
    ];
    const writer = spawn(process.execPath, args, { cwd: tmp, stdio: 'ignore' });
    // A reader of the playlist (an ffprobe, a tail -f) is no writer: not waited for.
    const reader = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', path.join(d, 'index.m3u8')], { stdio: 'ignore' });
    const exited = new Promise((resolve) => writer.once('exit', resolve));
    try {
      for (const child of [writer, reader])
        while (!(await fs.readFile(`/proc/${child.pid}/cmdline`, 'utf8')).includes('index.m3u8')) await new Promise((r) => setTimeout(r, 20));
      const [r] = await repairInterrupted(new RecordingStore(dir), log());
      assert.deepEqual([r!.durationSeconds, r!.segments], [6.75, 4], 'the segment written after the start is in');
      assert.equal(await fs.readFile(path.join(d, 'index.m3u8'), 'utf8'), `${CUT_OFF}#EXTINF:1.25,\nseg_00003.ts\n#EXT-X-ENDLIST\n`);
      assert.match(lines[0]!, /waiting for the ffmpeg of the last run/);
    } finally {
      writer.kill();
      reader.kill();
      await exited;
    }
  });

  it('has nothing to do when RECORDINGS_DIR does not exist', async () => {
    assert.deepEqual(await repairInterrupted(new RecordingStore(path.join(tmp, 'absent')), log()), []);
  });
});
