// The recorder's playlist guard on a temporary directory, without ffmpeg: growth of the
// playlist is progress (polled, and at a restart), a lost or shortened playlist is put
// back before a restart, a rewritten one fails the recording, and the end writes ENDLIST
// and the final meta.json.
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../../src/log';
import { parsePlaylist, type Playlist } from '../../src/recorder/playlist';
import { PlaylistGuard, type RecordingMeta } from '../../src/recorder/playlistGuard';
import { FakeClock } from '../support/fakeClock';

const HEAD = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n';
const playlist = (n: number): string => HEAD + Array.from({ length: n }, (_, i) => `#EXTINF:2.000000,\nseg_${String(i).padStart(5, '0')}.ts\n`).join('');

describe('recorder playlist guard', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-guard-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  function guard(clock = new FakeClock()) {
    const progress: Playlist[] = [];
    const failures: [string, boolean][] = [];
    const meta: RecordingMeta = {
      room: 'r',
      id: 'i',
      startedAt: new Date(clock.now()).toISOString(),
      endedAt: null,
      durationSeconds: null,
      video: 'H264',
      audio: 'opus',
      status: 'recording',
      error: null,
    };
    const g = new PlaylistGuard(
      {
        dir,
        minFreeBytes: 1,
        clock,
        log: silentLogger,
        isActive: () => true,
        hasRun: () => true,
        progress: (p) => void progress.push(p),
        fail: (reason, graceful) => void failures.push([reason, graceful]),
      },
      meta,
    );
    return { g, clock, progress, failures };
  }

  const write = async (name: string, text: string) => fs.writeFile(path.join(dir, name), text);
  /** The poll's file reads finish on their own time: wait for what they lead to. */
  async function until(what: string, done: () => boolean): Promise<void> {
    for (let i = 0; !done(); i++) {
      if (i > 400) throw new Error(`no ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('reports the playlist growing as progress, and fails when ffmpeg rewrites it shorter', async () => {
    const { g, clock, progress, failures } = guard();
    await g.open();
    assert.equal(JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')).status, 'recording');
    g.startPolling();
    await write('index.m3u8', playlist(1));
    clock.advance(500);
    await until('progress', () => progress.length === 1);
    await write('index.m3u8', playlist(2));
    clock.advance(500);
    await until('progress', () => progress.length === 2);
    assert.deepEqual(
      progress.map((p) => p.segments.length),
      [1, 2],
    );
    await write('index.m3u8', '');
    clock.advance(500);
    await until('failure', () => failures.length === 1);
    assert.equal(failures.length, 1);
    assert.match(failures[0]![0], /ffmpeg wrote an empty playlist/);
    g.stopPolling();
  });

  it('before a restart, counts what the ended run finished after the last poll, and puts back a lost playlist', async () => {
    const { g, progress } = guard();
    await write('index.m3u8', playlist(2));
    await g.open();
    // ffmpeg listed a third segment and died before a poll saw it.
    await write('index.m3u8', playlist(3));
    await g.restoreIfNeeded();
    assert.deepEqual(
      progress.map((p) => p.segments.length),
      [3],
    );
    assert.equal(g.lastGood.segments.length, 3);
    // Its last write failed: the playlist on disk lists less than was recorded.
    await write('index.m3u8', playlist(1));
    await g.restoreIfNeeded();
    assert.equal(parsePlaylist(await fs.readFile(path.join(dir, 'index.m3u8'), 'utf8')).segments.length, 3);
  });

  it('closes the playlist with ENDLIST and writes the final meta.json', async () => {
    const { g, clock } = guard();
    await g.open();
    for (let i = 0; i < 2; i++) await write(`seg_0000${i}.ts`, 'x');
    await write('index.m3u8', playlist(2));
    clock.advance(4000);
    await g.finalize('finished', null, true);
    assert.match(await fs.readFile(path.join(dir, 'index.m3u8'), 'utf8'), /#EXT-X-ENDLIST\n$/);
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')) as RecordingMeta;
    assert.equal(meta.status, 'finished');
    assert.equal(meta.durationSeconds, 4);
    assert.equal(Date.parse(meta.endedAt!) - Date.parse(meta.startedAt), 4000, 'ended on the recorder’s clock');
    assert.deepEqual(g.meta, meta);
  });
});
