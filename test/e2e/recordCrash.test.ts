// onecast killed with SIGKILL while recording (RECORD=on, OBS-like publisher): its ffmpeg
// must end by itself within 2 x INPUT_TIMEOUT_S and free its UDP ports; onecast started
// again at once on the same RECORDINGS_DIR waits for that ffmpeg if it still runs, then
// closes the recording with all ffmpeg wrote (ENDLIST, meta.json
// 'interrupted'), logs it once, lists it as interrupted (the home and player pages say so),
// and it plays to its last segment.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { childPids } from '../support/serverProbe';
import { INPUT_TIMEOUT_S } from '../../src/recorder/ffmpeg';
import { parsePlaylist, playlistDuration } from '../../src/recorder/playlist';
import type { RecordingInfo } from '../../src/recordings/recordingInfo';
import { launchChromium } from '../support/browser';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { loadMedia, type TestMedia } from '../clients/media';
import { spawnRecordingServer, udpSocketsOf, type ServerProcess } from '../support/process';
import { waitFor } from '../support/server';

const run = promisify(execFile);
const ROOM = 'crash';

/** Running (not exited; an exited child of a dead parent may linger as a zombie until reaped). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Whether a UDP port on 127.0.0.1 can be bound (nobody holds it). */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

describe('onecast killed with SIGKILL while recording', function () {
  this.timeout(120_000);
  let media: TestMedia;
  let dir: string;
  const servers: ServerProcess[] = [];
  const ffmpegs: number[] = [];

  async function start(): Promise<{ proc: ServerProcess; base: string }> {
    const { proc, base } = await spawnRecordingServer({ RECORDINGS_DIR: dir });
    servers.push(proc);
    return { proc, base };
  }

  before(async () => {
    media = await loadMedia();
    dir = mkdtempSync(path.join(os.tmpdir(), 'onecast-crash-'));
  });

  after(async () => {
    for (const proc of servers) await proc.stop('SIGKILL');
    // Should the test fail with ffmpeg still running, it goes too.
    for (const pid of ffmpegs) if (running(pid)) process.kill(pid, 'SIGKILL');
    cleanupDataChannel();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ffmpeg ends by itself and frees its ports; the next start closes the recording as interrupted, and it plays to its last segment', async () => {
    const first = await start();
    const publisher = await ObsLikePublisher.start({ endpoint: `${first.base}/whip/${ROOM}`, media, stripCandidates: true });
    let id: string;
    try {
      await publisher.waitConnected(10_000);
      id = await waitFor(
        'two recorded segments',
        async () => {
          const [listed] = (await (await fetch(`${first.base}/api/recordings?room=${ROOM}`)).json()) as RecordingInfo[];
          const playlist = listed && path.join(dir, ROOM, listed.id, 'index.m3u8');
          return playlist && existsSync(playlist) && parsePlaylist(readFileSync(playlist, 'utf8')).segments.length >= 2 ? listed.id : undefined;
        },
        30_000,
      );
    } catch (error) {
      publisher.abandon();
      throw error;
    }
    const recDir = path.join(dir, ROOM, id);
    const [ffmpeg, ...others] = childPids(first.proc.child.pid!).filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'ffmpeg');
    assert.ok(ffmpeg !== undefined && others.length === 0, 'one ffmpeg records the room');
    ffmpegs.push(ffmpeg);
    const ports = udpSocketsOf(ffmpeg);
    assert.equal(ports.length, 4, `ffmpeg holds RTP and RTCP ports for audio and video: ${ports.join(', ')}`);

    const listedAtKill = parsePlaylist(readFileSync(path.join(recDir, 'index.m3u8'), 'utf8')).segments.length;
    process.kill(first.proc.child.pid!, 'SIGKILL');
    const killedAt = performance.now();
    await first.proc.stop();
    publisher.abandon();

    const left = JSON.parse(readFileSync(path.join(recDir, 'meta.json'), 'utf8')) as { status: string };
    assert.equal(left.status, 'recording', 'the killed onecast left meta.json saying recording');

    // ffmpeg is no longer onecast's child: it must end by itself. onecast is started again
    // at once, as a supervisor would, while that ffmpeg may still be finishing the recording.
    const boundMs = 2 * INPUT_TIMEOUT_S * 1000 + 4000;
    const ffmpegExit = waitFor('ffmpeg to exit by itself', () => (running(ffmpeg) ? undefined : performance.now() - killedAt), boundMs, 50).catch(() => {
      throw new Error(
        `ffmpeg ${ffmpeg} still runs ${Math.round(performance.now() - killedAt)} ms after onecast was killed, holding UDP ports ${udpSocketsOf(ffmpeg).join(', ')}`,
      );
    });
    const second = await start();
    const exitMs = await ffmpegExit;
    for (const port of ports) assert.ok(await canBind(port), `UDP port ${port} is free again`);
    const waited = second.proc.output().includes('waiting for the ffmpeg of the last run');
    const repairLines = second.proc
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"recording interrupted'));
    assert.equal(repairLines.length, 1, `one line for the repaired recording:\n${second.proc.output()}`);
    assert.match(repairLines[0]!, new RegExp(`"id":"${id}"`));
    const [listed] = (await (await fetch(`${second.base}/api/recordings?room=${ROOM}`)).json()) as RecordingInfo[];
    const text = readFileSync(path.join(recDir, 'index.m3u8'), 'utf8');
    const playlist = parsePlaylist(text);
    const meta = JSON.parse(readFileSync(path.join(recDir, 'meta.json'), 'utf8')) as { status: string; endedAt: string | null; durationSeconds: number };
    assert.equal(listed?.id, id);
    assert.equal(listed.status, 'interrupted');
    assert.equal(meta.status, 'interrupted');
    assert.ok(listed.endedAt !== null && Date.parse(listed.endedAt) >= Date.parse(listed.startedAt), `endedAt ${listed.endedAt}`);
    assert.match(text, /#EXT-X-ENDLIST\s*$/);
    assert.ok(playlist.segments.length >= listedAtKill, `${playlist.segments.length} segments listed, ${listedAtKill} were at the kill`);
    assert.equal(listed.durationSeconds, playlistDuration(playlist));
    assert.equal(meta.durationSeconds, playlistDuration(playlist));

    // It plays to its last segment: every segment decodes, and the media lasts as long as listed.
    const decoded = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', path.join(recDir, 'index.m3u8'), '-f', 'null', '-']);
    assert.equal(decoded.stderr.trim(), '', 'decodes without an error');
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path.join(recDir, 'index.m3u8')]);
    const probed = Number(stdout.trim());
    assert.ok(Math.abs(probed - playlistDuration(playlist)) < 0.5, `ffprobe ${probed} s vs ${playlistDuration(playlist)} s listed`);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      for (const url of [`${second.base}/`, `${second.base}/whep/?room=${ROOM}`]) {
        await page.goto(url);
        const badge = page.locator('#recordings li .badge.interrupted');
        await badge.waitFor({ timeout: 15_000 });
        assert.equal(await badge.textContent(), 'interrupted', `${url} shows the status next to the recording`);
      }
    } finally {
      await browser.close();
    }
    console.log(
      `      ffmpeg exited ${Math.round(exitMs)} ms after onecast's SIGKILL (bound ${boundMs} ms)${waited ? ', the restarted onecast waited for it' : ''}; ${listedAtKill} segments listed at the kill, ` +
        `${playlist.segments.length} after (${playlistDuration(playlist)} s, ffprobe ${probed.toFixed(3)} s); listed as ${listed.status}`,
    );
  });
});
