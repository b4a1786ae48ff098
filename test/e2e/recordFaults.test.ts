// Recording faults at the server level, with a live viewer watching throughout:
// ffmpeg killed mid-recording (restarted, playlist continues after a
// discontinuity, nothing lost, plays end to end) and an unwritable recordings
// folder (recording stops with a logged error). The viewer never notices either.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LiteClient } from '../clients/lite';
import { createLogger } from '../../src/log';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { loadMedia, type TestMedia } from '../clients/media';
import { startServer, waitFor } from '../support/server';

const run = promisify(execFile);

/** ?record=1 needs the admin key; publishing itself stays open on these servers. */
const ADMIN_TOKEN = 'faults-admin';

describe('recording faults, with a live viewer watching', function () {
  this.timeout(120_000);
  let media: TestMedia;
  let dir: string;

  before(async () => {
    media = await loadMedia();
    dir = mkdtempSync(path.join(os.tmpdir(), 'onecast-faults-'));
  });

  after(() => {
    cleanupDataChannel();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Packets the viewer receives in `ms`. */
  async function received(viewer: LiteClient, ms: number): Promise<number> {
    const before = viewer.counters.rtpPackets;
    await new Promise((r) => setTimeout(r, ms));
    return viewer.counters.rtpPackets - before;
  }

  it('restarts a killed ffmpeg; the playlist continues and plays end to end', async () => {
    const server = await startServer({ RECORDINGS_DIR: dir, ADMIN_TOKEN });
    const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/killed?record=1`, media, stripCandidates: true, token: ADMIN_TOKEN });
    try {
      await publisher.waitConnected(5_000);
      const viewer = await LiteClient.connect({ url: `${server.url}/whep/killed`, role: 'play' });
      const recorder = await waitFor(
        'ffmpeg running',
        () => {
          const current = server.server.recordingService.recorderOf('killed');
          return current?.ffmpegPid !== undefined && current.state === 'recording' ? current : undefined;
        },
        10_000,
      );
      await new Promise((r) => setTimeout(r, 4_000));
      const restarted = once(recorder, 'restarted');
      process.kill(recorder.ffmpegPid!, 'SIGKILL');
      const during = await received(viewer, 2_000);
      await restarted;
      await new Promise((r) => setTimeout(r, 4_000));
      assert.ok(during > 300, `the viewer kept receiving while ffmpeg was down (${during} packets in 2 s)`);
      await viewer.close();
      assert.equal(await publisher.stop(), 200);
      const [recording] = await waitFor(
        'recording ended',
        async () => {
          const list = (await (await fetch(`${server.url}/api/recordings?room=killed`)).json()) as {
            id: string;
            endedAt: string | null;
            durationSeconds: number;
          }[];
          return list[0]?.endedAt ? list : undefined;
        },
        10_000,
      );
      const playlistFile = path.join(dir, 'killed', recording!.id, 'index.m3u8');
      const playlist = readFileSync(playlistFile, 'utf8');
      assert.match(playlist, /#EXT-X-DISCONTINUITY/);
      assert.match(playlist, /#EXT-X-ENDLIST\s*$/);
      assert.ok(recording!.durationSeconds >= 9, `recorded ${recording!.durationSeconds} s of ~10 s`);
      // Plays end to end: every video frame of the whole playlist decodes (30 fps source).
      const { stdout } = await run('ffprobe', [
        '-v',
        'error',
        '-count_frames',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=nb_read_frames',
        '-of',
        'csv=p=0',
        playlistFile,
      ]);
      const frames = Number(stdout.trim().split(/\s+/)[0]); // HLS lists the stream under its program too
      assert.ok(frames >= recording!.durationSeconds * 30 * 0.95, `${frames} frames decoded from ${recording!.durationSeconds} s`);
      console.log(
        `      ffmpeg killed and restarted; ${recording!.durationSeconds.toFixed(2)} s recorded, ${frames} frames decode; viewer got ${during} packets during the outage`,
      );
    } finally {
      await server.close();
    }
  });

  it('stops the recording with a logged error when the folder is unwritable; live is unaffected', async () => {
    const notADir = path.join(dir, 'a-file');
    writeFileSync(notADir, 'x');
    const lines: string[] = [];
    const server = await startServer({ RECORDINGS_DIR: path.join(notADir, 'recordings'), ADMIN_TOKEN }, { log: createLogger('info', (l) => lines.push(l)) });
    const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/nowrite?record=1`, media, stripCandidates: true, token: ADMIN_TOKEN });
    try {
      await publisher.waitConnected(5_000);
      const viewer = await LiteClient.connect({ url: `${server.url}/whep/nowrite`, role: 'play' });
      await waitFor('the recording failure logged', () => (lines.some((l) => l.includes('recording failed')) ? true : undefined), 10_000);
      const failure = JSON.parse(lines.find((l) => l.includes('recording failed'))!) as { level: string; reason: string };
      assert.equal(failure.level, 'error');
      assert.match(failure.reason, /ENOTDIR|not a directory/i);
      assert.ok((await received(viewer, 2_000)) > 300, 'the viewer keeps receiving');
      assert.equal((await server.room('nowrite'))?.recording, false);
      await viewer.close();
    } finally {
      await publisher.stop();
      await server.close();
    }
  });
});
