// The recordings' on-disk layout (src/recordings/layout.ts): where each file of a recording
// is, and that no name from a URL leads out of the recordings folder.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  isRecordingFile,
  isWithin,
  metaFile,
  mp4File,
  playlistFile,
  RecordingsLayout,
  segmentFile,
  segmentFilePattern,
  segmentIndex,
} from '../../src/recordings/layout';

describe('recordings layout', () => {
  it('a recording is RECORDINGS_DIR/{room}/{id}/ with index.m3u8, seg_NNNNN.ts, meta.json and recording.mp4', () => {
    const layout = new RecordingsLayout('/srv/rec/');
    const dir = layout.recordingDir('studio', '20261124T101500Z-3fa9c2d1');
    assert.equal(dir, '/srv/rec/studio/20261124T101500Z-3fa9c2d1');
    assert.equal(playlistFile(dir), `${dir}/index.m3u8`);
    assert.equal(metaFile(dir), `${dir}/meta.json`);
    assert.equal(mp4File(dir), `${dir}/recording.mp4`);
    assert.equal(segmentFilePattern(dir), `${dir}/seg_%05d.ts`);
    assert.equal(segmentFile(dir, 'seg_00007.ts'), `${dir}/seg_00007.ts`);
    assert.equal(segmentIndex('seg_00042.ts'), 42);
    assert.equal(segmentIndex('seg_100000.ts'), 100000, 'ffmpeg writes more digits past 99999');
    assert.equal(segmentIndex('index.m3u8'), undefined);
  });

  it('a relative RECORDINGS_DIR becomes absolute', () => {
    assert.equal(new RecordingsLayout('recordings').root, path.resolve('recordings'));
  });

  it('refuses to place a recording under a malformed room or id', () => {
    const layout = new RecordingsLayout('/srv/rec');
    for (const [room, id] of [
      ['..', 'x'],
      ['studio', '..'],
      ['a/b', 'x'],
      ['studio', 'x/../../y'],
      ['', 'x'],
      ['studio', ''],
    ]) {
      assert.throws(() => layout.recordingDir(room!, id!), /not a recording's room and id/, `${room} ${id}`);
    }
  });

  it('serves only the playlist and segments, never meta.json, the MP4 or anything with a path in it', () => {
    for (const ok of ['index.m3u8', 'seg_00000.ts', 'seg_99999.ts']) assert.ok(isRecordingFile(ok), ok);
    for (const bad of ['meta.json', 'recording.mp4', '../index.m3u8', 'x/index.m3u8', 'seg_1.ts', 'index.m3u8.tmp', '', 7])
      assert.ok(!isRecordingFile(bad), String(bad));
  });

  it('inside means strictly below the root, whatever the path spells', () => {
    assert.ok(isWithin('/srv/rec', '/srv/rec/a'));
    assert.ok(isWithin('/srv/rec', '/srv/rec/a/b/c'));
    for (const out of ['/srv/rec', '/srv/rec/', '/srv', '/srv/record', '/srv/rec/../x', '/srv/rec/a/../../x', '/etc/passwd', '/srv/rec/a\0']) {
      assert.ok(!isWithin('/srv/rec', path.resolve(out)), JSON.stringify(out));
    }
  });

  describe('on disk', () => {
    let tmp: string;
    let root: string;

    beforeEach(async () => {
      tmp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-layout-')));
      root = path.join(tmp, 'recordings');
      await fs.mkdir(path.join(root, 'studio', 'rec-1'), { recursive: true });
      await fs.writeFile(path.join(root, 'studio', 'rec-1', 'index.m3u8'), '#EXTM3U\n');
      await fs.mkdir(path.join(tmp, 'outside', 'rec-x'), { recursive: true });
      await fs.writeFile(path.join(tmp, 'outside', 'rec-x', 'index.m3u8'), '#EXTM3U\n');
    });

    afterEach(async () => {
      await fs.rm(tmp, { recursive: true, force: true });
    });

    it('lists what is named like a recording in a room, leaving out other names and rooms that lead outside', async () => {
      await fs.mkdir(path.join(root, 'studio', 'not.an_id'));
      await fs.mkdir(path.join(root, '.hidden', 'rec-2'), { recursive: true });
      await fs.writeFile(path.join(root, 'studio', 'rec-3'), 'a file named like an id');
      await fs.symlink(path.join(tmp, 'outside'), path.join(root, 'evil'));
      const names = await new RecordingsLayout(root).recordingNames();
      assert.deepEqual(
        names.sort((a, b) => a.id.localeCompare(b.id)),
        [
          { room: 'studio', id: 'rec-1' },
          { room: 'studio', id: 'rec-3' },
        ],
      );
      assert.equal(await new RecordingsLayout(root).resolve('studio', 'rec-3', 'index.m3u8'), undefined);
    });

    it('lists nothing when the folder does not exist', async () => {
      assert.deepEqual(await new RecordingsLayout(path.join(tmp, 'absent')).recordingNames(), []);
    });

    it('inside() refuses a path through a symlink that leads out, and one that does not exist', async () => {
      const layout = new RecordingsLayout(root);
      await fs.symlink(path.join(tmp, 'outside', 'rec-x'), path.join(root, 'studio', 'rec-out'));
      assert.equal(await layout.inside(path.join(root, 'studio', 'rec-out', 'index.m3u8')), undefined);
      assert.equal(await layout.inside(path.join(root, 'studio', 'rec-9')), undefined);
      assert.equal(await layout.inside(path.join(root, 'studio', '..', '..', 'outside', 'rec-x', 'index.m3u8')), undefined);
      assert.equal(await layout.inside(path.join(root, 'studio', 'rec-1', 'index.m3u8')), path.join(root, 'studio', 'rec-1', 'index.m3u8'));
    });
  });
});
