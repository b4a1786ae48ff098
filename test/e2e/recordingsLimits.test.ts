// The recordings limits on a running server, with real files and a real publisher:
// RECORDINGS_MAX_BYTES deletes the oldest finished recordings at start-up and when a
// recording ends, never the one being written; MAX_RECORDINGS lets a publish past it
// stream live unrecorded, and says so in the log.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loggerTo } from '../../src/log';
import { newRecordingId } from '../../src/recordings/layout';
import { writeHlsClip } from '../support/hlsClip';
import { loadMedia, type TestMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { startServer, waitFor } from '../support/server';

interface Listed {
  room: string;
  id: string;
  endedAt: string | null;
  bytes: number;
}

describe('recordings limits on a running server', function () {
  this.timeout(120_000);
  let media: TestMedia;
  let tmp: string;

  before(async () => {
    media = await loadMedia();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-limits-'));
  });

  after(async () => {
    cleanupDataChannel();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('RECORDINGS_MAX_BYTES deletes the oldest finished recordings first, never the one being written; MAX_RECORDINGS streams the second publish live unrecorded', async () => {
    const dir = path.join(tmp, 'recordings');
    // Three finished recordings made by ffmpeg, a day apart.
    const template = path.join(tmp, 'template');
    await fs.mkdir(template);
    await writeHlsClip(template, { size: '320x180', fps: 30 });
    const old = [3, 2, 1].map((daysAgo) => {
      const startedAt = new Date(Date.now() - daysAgo * 86_400_000);
      return { room: 'archive', id: newRecordingId(startedAt), startedAt };
    });
    for (const r of old) {
      const d = path.join(dir, r.room, r.id);
      await fs.mkdir(d, { recursive: true });
      for (const name of await fs.readdir(template)) await fs.copyFile(path.join(template, name), path.join(d, name));
      const endedAt = new Date(r.startedAt.getTime() + 2_000).toISOString();
      await fs.writeFile(
        path.join(d, 'meta.json'),
        JSON.stringify({
          room: r.room,
          id: r.id,
          startedAt: r.startedAt.toISOString(),
          endedAt,
          durationSeconds: 2,
          video: 'H264',
          audio: 'aac',
          status: 'finished',
          error: null,
        }),
      );
    }

    const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    const log = loggerTo((level, msg, fields = {}) => {
      if (level !== 'debug') lines.push({ level, msg, fields });
    });
    const deleted = () => lines.filter((l) => l.msg === 'recording deleted by retention').map((l) => l.fields['id']);
    // 1 KiB: less than any recording. ?record=1 needs the admin key (ADMIN_TOKEN; publishing itself stays open here).
    const server = await startServer({ RECORDINGS_DIR: dir, RECORDINGS_MAX_BYTES: '1K', MAX_RECORDINGS: '1', ADMIN_TOKEN: 'record-admin' }, { log });
    const list = async (room?: string) => (await (await fetch(`${server.url}/api/recordings${room ? `?room=${room}` : ''}`)).json()) as Listed[];
    const publishers: ObsLikePublisher[] = [];
    try {
      // At start-up: every finished one goes, oldest first.
      await waitFor('the start-up sweep', () => (deleted().length === 3 ? true : undefined), 10_000);
      assert.deepEqual(
        deleted(),
        old.map((r) => r.id),
      );
      assert.deepEqual(await list(), []);
      assert.deepEqual(await fs.readdir(path.join(dir, 'archive')), []);

      const first = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/first?record=1`, media, stripCandidates: true, token: 'record-admin' });
      publishers.push(first);
      await first.waitConnected(10_000);
      const [live] = await waitFor(
        'the recording listed with some bytes',
        async () => {
          const found = await list('first');
          return found.length === 1 && found[0]!.bytes > 1024 ? found : undefined;
        },
        15_000,
      );
      assert.equal(live!.endedAt, null);

      // MAX_RECORDINGS=1: the second publish is live, with no recording, and the log says why.
      const second = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/second?record=1`, media, stripCandidates: true, token: 'record-admin' });
      publishers.push(second);
      await second.waitConnected(10_000);
      const secondRoom = await waitFor(
        'the second room live',
        async () => {
          const room = await server.room('second');
          return room?.live && (room.video?.keyframes ?? 0) >= 1 ? room : undefined;
        },
        10_000,
      );
      assert.equal(secondRoom.recording, false);
      assert.equal((await server.room('first'))?.recording, true);
      assert.equal(server.server.recordingService.recordingCount, 1);
      assert.ok(lines.some((l) => l.level === 'warn' && /MAX_RECORDINGS/.test(l.msg) && l.fields['room'] === 'second'));
      assert.deepEqual(await list('second'), []);

      // Over the limit while being written (its playlist and segments on disk): a sweep leaves it, and warns.
      const recordingDir = path.join(dir, 'first', live!.id);
      await waitFor('the playlist written', () => fs.access(path.join(recordingDir, 'index.m3u8')).then(() => true), 15_000);
      assert.deepEqual(await server.server.retention.sweep(), []);
      await fs.access(path.join(recordingDir, 'index.m3u8'));
      assert.ok(lines.some((l) => l.level === 'warn' && /RECORDINGS_MAX_BYTES/.test(l.msg)));

      // Once it ends, it is finished and over the limit: the sweep on its end deletes it.
      assert.equal(await first.stop(), 200);
      await waitFor('the ended recording deleted', () => (deleted().includes(live!.id) ? true : undefined), 20_000);
      await assert.rejects(fs.access(recordingDir));
      assert.deepEqual(await list(), []);
    } finally {
      for (const p of publishers) p.abandon();
      await server.close();
    }
  });
});
