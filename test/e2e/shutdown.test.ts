// Graceful shutdown as users meet it: onecast in its own process (RECORD=on) with an
// OBS-like publisher being recorded and 49 viewers, then SIGTERM or SIGINT. It must
// stop accepting at once (its listener closed; a request already on an open
// connection answered 503), close all 50 sessions, finalize the recording (playlist
// closed with #EXT-X-ENDLIST, ffprobe reads it, ffmpeg gone) and exit 0 within 10 s.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { LiteClient } from '../clients/lite';
import { childPids } from '../support/serverProbe';
import { pool } from '../load/soak';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { loadMedia, type TestMedia } from '../clients/media';
import { spawnRecordingServer, tcpListenersOf } from '../support/process';
import { waitFor } from '../support/server';

const run = promisify(execFile);
const VIEWERS = 49;

/**
 * A request under way on an open connection: its head is sent now (with "Expect:
 * 100-continue", so `started` resolves once the server has read it and the connection
 * counts as busy), its body when asked; `status` is the final response's status line.
 */
function heldRequest(port: number, pathname: string, body: string): { started: Promise<void>; sendBody(): void; status: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1', () => {
    socket.write(
      `POST ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
    );
  });
  let data = '';
  let onContinue: () => void = () => {};
  const started = new Promise<void>((resolve) => (onContinue = resolve));
  const status = new Promise<string>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      data += d.toString();
      if (data.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        data = data.slice('HTTP/1.1 100 Continue\r\n\r\n'.length);
        onContinue();
      }
      if (data.includes('\r\n')) {
        resolve(data.slice(0, data.indexOf('\r\n')));
        socket.destroy();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed without a response (got "${data}")`)));
  });
  status.catch(() => {}); // awaited later; a rejection meanwhile is not unhandled
  return { started, sendBody: () => socket.write(body), status };
}

describe('graceful shutdown', function () {
  this.timeout(120_000);
  let media: TestMedia;
  let dir: string;

  before(async () => {
    media = await loadMedia();
    dir = mkdtempSync(path.join(os.tmpdir(), 'onecast-shutdown-'));
  });

  after(() => {
    cleanupDataChannel();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} with 50 sessions and a recording: refuses new work, closes every session, finalizes the recording, exits 0 within 10 s`, async () => {
      const room = `down-${signal.toLowerCase()}`;
      const { proc, base, httpPort } = await spawnRecordingServer({ RECORDINGS_DIR: dir });
      const viewers: LiteClient[] = [];
      const publisher = await ObsLikePublisher.start({ endpoint: `${base}/whip/${room}`, media, stripCandidates: true });
      try {
        await publisher.waitConnected(10_000);
        await pool(VIEWERS, 8, async () => {
          viewers.push(await LiteClient.connect({ url: `${base}/whep/${room}`, role: 'play', timeoutMs: 30_000 }));
        });
        await waitFor('every viewer receiving', () => (viewers.every((v) => v.counters.rtpPackets > 0) ? true : undefined), 15_000);
        const [recording] = await waitFor(
          'a recorded segment',
          async () => {
            const list = (await (await fetch(`${base}/api/recordings?room=${room}`)).json()) as { id: string }[];
            const playlist = list[0] && path.join(dir, room, list[0].id, 'index.m3u8');
            return playlist && existsSync(playlist) && readFileSync(playlist, 'utf8').includes('#EXTINF') ? list : undefined;
          },
          20_000,
        );
        const rooms = (await (await fetch(`${base}/api/rooms`)).json()) as { room: string; live: boolean; viewers: number; recording: boolean }[];
        assert.deepEqual(
          rooms.map((r) => [r.room, r.live, r.viewers, r.recording]),
          [[room, true, VIEWERS, true]],
        );
        assert.deepEqual(tcpListenersOf(proc.child.pid!), [httpPort]);
        const ffmpegPids = childPids(proc.child.pid!).filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'ffmpeg');
        assert.equal(ffmpegPids.length, 1, 'one ffmpeg records the room');
        const held = heldRequest(httpPort, `/whep/${room}`, viewers[0]!.offer);
        await held.started;

        const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
        const t0 = performance.now();
        proc.child.kill(signal);
        // Stop accepting first: the listener is closed (read from /proc, which another process
        // listening on a reused port cannot fool) before any session is; a request already
        // on a connection gets 503.
        await waitFor(
          'the listener to close',
          () => (proc.output().includes('"msg":"not accepting new connections or sessions"') ? true : undefined),
          5_000,
          5,
        );
        held.sendBody();
        assert.deepEqual(tcpListenersOf(proc.child.pid!), [], 'the HTTP listener is closed');
        assert.equal(await held.status, 'HTTP/1.1 503 Service Unavailable');
        const code = await exited;
        const ms = performance.now() - t0;

        const lines = proc.output().split('\n');
        const closed = lines.filter((l) => l.includes('"msg":"session closed"') && l.includes('"reason":"server-shutdown"'));
        const order = ['"msg":"shutting down"', '"msg":"not accepting new connections or sessions"', '"reason":"server-shutdown"'].map((m) =>
          lines.findIndex((l) => l.includes(m)),
        );
        const playlist = readFileSync(path.join(dir, room, recording!.id, 'index.m3u8'), 'utf8');
        const { stdout } = await run('ffprobe', [
          '-v',
          'error',
          '-show_entries',
          'stream=codec_type',
          '-of',
          'csv=p=0',
          path.join(dir, room, recording!.id, 'index.m3u8'),
        ]);
        console.log(
          `      ${signal}: exit ${code} after ${Math.round(ms)} ms; ${closed.length} sessions closed; playlist of ${playlist.split('#EXTINF').length - 1} segments closed`,
        );
        assert.equal(code, 0);
        assert.ok(ms < 10_000, `exited ${Math.round(ms)} ms after ${signal}`);
        assert.equal(closed.length, VIEWERS + 1, 'every session was closed by the shutdown');
        assert.deepEqual(
          order,
          [...order].sort((a, b) => a - b),
          'shutting down, then the listener closed, then the sessions',
        );
        assert.match(playlist, /#EXT-X-ENDLIST\s*$/);
        assert.deepEqual([...new Set(stdout.trim().split(/\s+/))].sort(), ['audio', 'video'], 'ffprobe reads the recording');
        const meta = JSON.parse(readFileSync(path.join(dir, room, recording!.id, 'meta.json'), 'utf8')) as { endedAt: string | null };
        assert.ok(meta.endedAt !== null, 'meta.json has its end time');
        for (const pid of ffmpegPids)
          assert.ok(!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'ffmpeg', 'ffmpeg exited too');
      } finally {
        publisher.abandon();
        await Promise.all(viewers.map((v) => v.close(false)));
        await proc.stop('SIGKILL');
      }
    });
  }
});
