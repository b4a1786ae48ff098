// Recordings over HTTP (the list, the HLS files, the MP4 download, deleting): real HLS recordings made by ffmpeg in a temporary
// RECORDINGS_DIR, served through recordingsRouter as app.ts serves it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { recordingsRouter } from '../../src/http/recordings';
import { sendProblem } from '../../src/http/problem';
import { loggerTo, type Logger } from '../../src/log';
import { newRecordingId } from '../../src/recordings/layout';
import { RecordingStore, type RecordingInfo } from '../../src/recordings/store';
import { writeHlsClip } from '../support/hlsClip';

const run = promisify(execFile);
const TOKEN = 'recordings-test-token';
const SECRET = `TOP-SECRET-${process.pid}-${Date.now()}`;

interface Captured {
  lines: { level: string; msg: string; fields?: Record<string, unknown> }[];
  log: Logger;
}

function captureLog(): Captured {
  const lines: Captured['lines'] = [];
  return { lines, log: loggerTo((level, msg, fields) => void lines.push({ level, msg, ...(fields ? { fields } : {}) })) };
}

/** The recordings router in an app shaped like app.ts: 404 and error handling as problems. */
function appWith(store: RecordingStore, log: Logger, ffmpegPath = 'ffmpeg', maxRemuxes = 2): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(recordingsRouter(store, { publishToken: TOKEN, ffmpegPath, maxRemuxes, log }));
  app.use((req: Request, res: Response) => {
    sendProblem(res, { status: 404, title: 'Not Found', detail: `Nothing is served at ${req.method} ${req.path}.` });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = error as { status?: number; message?: string };
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return sendProblem(res, { status: e.status, title: 'Bad Request', detail: e.message ?? 'The request could not be read.' });
    }
    sendProblem(res, { status: 500, title: 'Internal Server Error', detail: String(error) });
  });
  return app;
}

function assertProblem(res: { status: number; headers: Record<string, unknown>; text: string }, status: number, detail?: RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.match(String(res.headers['content-type'] ?? ''), /^application\/problem\+json/);
  const body = JSON.parse(res.text) as { status: number; title: string; detail: string };
  assert.equal(body.status, status);
  if (detail) assert.match(body.detail, detail);
}

/** A request with the path exactly as written: no URL normalisation of ../, %2e or backslashes. */
function raw(
  base: string,
  method: string,
  rawPath: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Top-level ISO BMFF boxes, in file order. */
function topLevelBoxes(buf: Buffer): string[] {
  const boxes: string[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    if (size === 1) size = Number(buf.readBigUInt64BE(at + 8));
    else if (size === 0) size = buf.length - at;
    boxes.push(type);
    if (size < 8) break;
    at += size;
  }
  return boxes;
}

async function writeMeta(dir: string, meta: Record<string, unknown>): Promise<void> {
  await fs.writeFile(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
}

async function copyDir(from: string, to: string, skip: (name: string) => boolean = () => false): Promise<void> {
  await fs.mkdir(to, { recursive: true });
  for (const name of await fs.readdir(from)) if (!skip(name)) await fs.copyFile(path.join(from, name), path.join(to, name));
}

describe('recordings over HTTP', function () {
  let tmp: string;
  let recordingsDir: string;
  let store: RecordingStore;
  let logged: Captured;
  let server: http.Server;
  let base: string;
  let agent: ReturnType<typeof request>;

  const finished = { room: 'studio', id: newRecordingId(new Date('2026-11-24T10:15:00Z')) };
  const live = { room: 'studio', id: newRecordingId(new Date('2026-11-24T11:00:00Z')) };
  const older = { room: 'other_room-1', id: newRecordingId(new Date('2026-11-23T08:00:00Z')) };
  const linkedId = newRecordingId(new Date('2026-11-24T12:00:00Z'));
  const dirOf = (r: { room: string; id: string }) => path.join(recordingsDir, r.room, r.id);

  before(async function () {
    this.timeout(120_000);
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-recordings-'));
    recordingsDir = path.join(tmp, 'recordings');
    // Beside RECORDINGS_DIR: a secret file and a directory that looks like a recording.
    await fs.writeFile(path.join(tmp, 'secret.txt'), SECRET);
    const outside = path.join(tmp, 'outside', 'evilrec');
    await fs.mkdir(outside, { recursive: true });
    await fs.writeFile(path.join(outside, 'index.m3u8'), `#EXTM3U\n#EXTINF:2.0,\nseg_00000.ts\n#EXT-X-ENDLIST\n# ${SECRET}\n`);
    await fs.writeFile(path.join(outside, 'seg_00000.ts'), SECRET);
    await writeMeta(outside, {
      room: 'evil',
      id: 'evilrec',
      startedAt: '2030-01-01T00:00:00Z',
      endedAt: '2030-01-01T00:01:00Z',
      durationSeconds: 60,
      video: 'h264',
      audio: 'aac',
    });

    // The finished recording: 6 s of H.264 640x360 and AAC, 2 s segments.
    const fin = dirOf(finished);
    await fs.mkdir(fin, { recursive: true });
    await writeHlsClip(fin, { size: '640x360', fps: 30, seconds: 6, segmentSeconds: 2 });
    await writeMeta(fin, {
      ...finished,
      startedAt: '2026-11-24T10:15:00.000Z',
      endedAt: '2026-11-24T10:15:06.000Z',
      durationSeconds: 6,
      video: 'h264',
      audio: 'aac',
    });

    // In progress: the first two segments, no #EXT-X-ENDLIST, no endedAt.
    const playlist = await fs.readFile(path.join(fin, 'index.m3u8'), 'utf8');
    const upToTwo = playlist.slice(0, playlist.indexOf('seg_00001.ts') + 'seg_00001.ts\n'.length);
    await copyDir(fin, dirOf(live), (n) => !/^seg_0000[01]\.ts$/.test(n));
    await fs.writeFile(path.join(dirOf(live), 'index.m3u8'), upToTwo);
    await writeMeta(dirOf(live), { ...live, startedAt: '2026-11-24T11:00:00.000Z', endedAt: null, durationSeconds: null, video: 'h264', audio: 'aac' });

    // An older finished one in another room, to delete later.
    await copyDir(fin, dirOf(older), (n) => n === 'meta.json');
    await writeMeta(dirOf(older), {
      ...older,
      startedAt: '2026-11-23T08:00:00.000Z',
      endedAt: '2026-11-23T08:00:06.000Z',
      durationSeconds: 6,
      video: 'h264',
      audio: 'aac',
    });

    // Not listed: no meta.json, an unreadable meta.json.
    await fs.mkdir(path.join(recordingsDir, 'studio', newRecordingId()), { recursive: true });
    const broken = path.join(recordingsDir, 'studio', newRecordingId());
    await fs.mkdir(broken);
    await fs.writeFile(path.join(broken, 'meta.json'), '{ not json');

    // Symlinks inside RECORDINGS_DIR that lead out of it.
    await fs.symlink(path.join(tmp, 'outside'), path.join(recordingsDir, 'evil'));
    await fs.symlink(outside, path.join(recordingsDir, 'studio', linkedId));
    await fs.symlink(path.join(tmp, 'secret.txt'), path.join(fin, 'seg_00099.ts'));

    store = new RecordingStore(recordingsDir);
    logged = captureLog();
    server = appWith(store, logged.log).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    agent = request(base);
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('GET /api/recordings lists readable recordings newest first, in the shape the README gives (HTTP API)', async () => {
    const res = await agent.get('/api/recordings');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type']!, /^application\/json/);
    const list = res.body as RecordingInfo[];
    assert.deepEqual(
      list.map((r) => `${r.room}/${r.id}`),
      [live, finished, older].map((r) => `${r.room}/${r.id}`),
    );
    for (const r of list) {
      assert.deepEqual(Object.keys(r).sort(), ['bytes', 'download', 'durationSeconds', 'endedAt', 'id', 'playlist', 'room', 'startedAt', 'status']);
      assert.equal(r.playlist, `/recordings/${r.room}/${r.id}/index.m3u8`);
      assert.equal(r.download, `/recordings/${r.room}/${r.id}.mp4`);
    }
    assert.deepEqual(
      list.map((r) => r.status),
      ['recording', 'finished', 'finished'],
    );
    assert.equal(list[0]!.endedAt, null);
    assert.equal(list[0]!.durationSeconds, 4);
    assert.equal(list[1]!.endedAt, '2026-11-24T10:15:06.000Z');
    assert.equal(list[1]!.durationSeconds, 6);
    assert.ok(!res.text.includes(SECRET));
  });

  it('GET /api/recordings pages with ?limit= and a Link rel="next" cursor, and refuses a bad limit or cursor', async () => {
    const all = ((await agent.get('/api/recordings')).body as RecordingInfo[]).map((r) => r.id);
    const first = await agent.get('/api/recordings?limit=2');
    assert.deepEqual(
      (first.body as RecordingInfo[]).map((r) => r.id),
      all.slice(0, 2),
    );
    const next = /^<(\/api\/recordings\?[^>]+)>; rel="next"$/.exec(first.headers['link'] ?? '');
    assert.ok(next, `Link: ${first.headers['link']}`);
    const second = await agent.get(next[1]!);
    assert.deepEqual(
      (second.body as RecordingInfo[]).map((r) => r.id),
      all.slice(2, 4),
    );
    assert.equal(second.headers['link'], undefined, 'no next page after the last');
    const inRoom = await agent.get('/api/recordings?room=studio&limit=1');
    assert.match(inRoom.headers['link'] ?? '', /room=studio&limit=1&before=/);
    assert.equal((await agent.get('/api/recordings')).headers['link'], undefined);
    for (const bad of ['limit=0', 'limit=1001', 'limit=x', 'limit=1&limit=2', 'before=nonsense', 'before=1.a.b%2Fc']) {
      assertProblem(await agent.get(`/api/recordings?${bad}`), 400, /limit|cursor/);
    }
  });

  it('GET /api/recordings?room= filters by room and refuses a bad room name', async () => {
    const res = await agent.get('/api/recordings?room=other_room-1');
    assert.equal(res.status, 200);
    assert.deepEqual(
      (res.body as RecordingInfo[]).map((r) => r.id),
      [older.id],
    );
    assert.deepEqual((await agent.get('/api/recordings?room=nobody')).body, []);
    assertProblem(await agent.get('/api/recordings?room=..%2F..'), 400, /room/);
    assertProblem(await agent.get('/api/recordings?room=a&room=b'), 400);
    assert.deepEqual((await agent.get('/api/recordings?room=evil')).body, []);
  });

  it('serves the playlist as application/vnd.apple.mpegurl, uncached, and segments as video/mp2t', async () => {
    const pl = await agent
      .get(`/recordings/${finished.room}/${finished.id}/index.m3u8`)
      .buffer(true)
      .parse((res, cb) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => cb(null, text));
      });
    assert.equal(pl.status, 200);
    assert.match(pl.headers['content-type']!, /^application\/vnd\.apple\.mpegurl/);
    assert.equal(pl.headers['cache-control'], 'no-cache');
    assert.equal(pl.body, await fs.readFile(path.join(dirOf(finished), 'index.m3u8'), 'utf8'));
    assert.match(pl.body as string, /#EXT-X-ENDLIST/);

    const livePl = await raw(base, 'GET', `/recordings/${live.room}/${live.id}/index.m3u8`);
    assert.equal(livePl.status, 200);
    assert.doesNotMatch(livePl.body.toString(), /#EXT-X-ENDLIST/);

    const seg = await raw(base, 'GET', `/recordings/${finished.room}/${finished.id}/seg_00001.ts`);
    assert.equal(seg.status, 200);
    assert.equal(seg.headers['content-type'], 'video/mp2t');
    assert.equal(seg.headers['accept-ranges'], 'bytes');
    assert.match(seg.headers['cache-control'] ?? '', /max-age=\d+/);
    assert.ok(seg.body.equals(await fs.readFile(path.join(dirOf(finished), 'seg_00001.ts'))));
    assert.equal(seg.body[0], 0x47, 'an MPEG-TS sync byte');
  });

  it('answers a Range request on a segment with 206 and exactly those bytes', async () => {
    const file = await fs.readFile(path.join(dirOf(finished), 'seg_00000.ts'));
    const res = await raw(base, 'GET', `/recordings/${finished.room}/${finished.id}/seg_00000.ts`, { Range: 'bytes=1000-2999' });
    assert.equal(res.status, 206);
    assert.equal(res.headers['content-range'], `bytes 1000-2999/${file.length}`);
    assert.equal(res.headers['content-length'], '2000');
    assert.equal(res.headers['content-type'], 'video/mp2t');
    assert.ok(res.body.equals(file.subarray(1000, 3000)));

    const tail = await raw(base, 'GET', `/recordings/${finished.room}/${finished.id}/seg_00000.ts`, { Range: 'bytes=-188' });
    assert.equal(tail.status, 206);
    assert.ok(tail.body.equals(file.subarray(file.length - 188)));

    const beyond = await raw(base, 'GET', `/recordings/${finished.room}/${finished.id}/seg_00000.ts`, { Range: `bytes=${file.length + 10}-` });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers['content-range'], `bytes */${file.length}`);
  });

  it('answers 404 for a well-formed but absent recording or segment', async () => {
    assertProblem(await agent.get(`/recordings/${finished.room}/${finished.id}/seg_00042.ts`), 404);
    assertProblem(await agent.get(`/recordings/studio/${newRecordingId()}/index.m3u8`), 404);
    assertProblem(await agent.get(`/recordings/nobody/${finished.id}/index.m3u8`), 404);
    assertProblem(await agent.get(`/recordings/nobody/${finished.id}.mp4`), 404);
  });

  let mp4: Buffer;
  let firstMs = 0;

  it('downloads a finished recording as one faststart MP4 (remuxed: h264 640x360 + aac, ~6 s), one ffmpeg run for concurrent requests', async () => {
    const url = `/recordings/${finished.room}/${finished.id}.mp4`;
    const started = Date.now();
    const all = await Promise.all([1, 2, 3].map(() => raw(base, 'GET', url)));
    firstMs = Date.now() - started;
    for (const res of all) {
      assert.equal(res.status, 200, res.body.toString().slice(0, 300));
      assert.equal(res.headers['content-type'], 'video/mp4');
      assert.equal(res.headers['content-disposition'], `attachment; filename="${finished.room}-${finished.id}.mp4"`);
      assert.equal(res.headers['accept-ranges'], 'bytes');
    }
    mp4 = all[0]!.body;
    assert.ok(
      all.every((r) => r.body.equals(mp4)),
      'concurrent downloads get the same bytes',
    );
    assert.equal(logged.lines.filter((l) => l.msg === 'recording remuxed to MP4').length, 1, 'one ffmpeg run');

    const boxes = topLevelBoxes(mp4);
    assert.equal(boxes[0], 'ftyp');
    assert.ok(boxes.includes('moov') && boxes.includes('mdat'), boxes.join(','));
    assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), `faststart: moov before mdat (${boxes.join(',')})`);

    const out = path.join(tmp, 'download.mp4');
    await fs.writeFile(out, mp4);
    const { stdout } = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_type,codec_name,width,height:format=duration,format_name',
      '-of',
      'json',
      out,
    ]);
    const probe = JSON.parse(stdout) as {
      streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
      format: { duration: string; format_name: string };
    };
    const video = probe.streams.find((s) => s.codec_type === 'video');
    const audio = probe.streams.find((s) => s.codec_type === 'audio');
    assert.equal(video?.codec_name, 'h264');
    assert.equal(video?.width, 640);
    assert.equal(video?.height, 360);
    assert.equal(audio?.codec_name, 'aac');
    assert.match(probe.format.format_name, /mp4/);
    assert.ok(Math.abs(Number(probe.format.duration) - 6) < 0.3, `duration ${probe.format.duration}`);
    // Remuxed, not re-encoded: the H.264 bitstream is the one in the segments (same encoder SEI).
    const seiMarker = Buffer.from('x264 - core');
    assert.ok(mp4.includes(seiMarker) && (await fs.readFile(path.join(dirOf(finished), 'seg_00000.ts'))).includes(seiMarker));
    // The cache file is beside the playlist, no temporary files are left.
    assert.deepEqual(
      (await fs.readdir(dirOf(finished))).filter((n) => /mp4/.test(n)),
      ['recording.mp4'],
    );
    // It counts in the recording's size, as every file beside it does.
    const listed = ((await agent.get('/api/recordings?room=studio')).body as RecordingInfo[]).find((r) => r.id === finished.id)!;
    let onDisk = 0;
    for (const name of await fs.readdir(dirOf(finished))) {
      const stat = await fs.lstat(path.join(dirOf(finished), name));
      if (stat.isFile()) onDisk += stat.size;
    }
    assert.equal(listed.bytes, onDisk);
    assert.ok(listed.bytes > mp4.length);
  });

  it('serves the second download from the cache: faster, same bytes, no ffmpeg; with Range support', async () => {
    const started = Date.now();
    const again = await raw(base, 'GET', `/recordings/${finished.room}/${finished.id}.mp4`);
    const secondMs = Date.now() - started;
    assert.equal(again.status, 200);
    assert.ok(again.body.equals(mp4));
    assert.equal(logged.lines.filter((l) => l.msg === 'recording remuxed to MP4').length, 1, 'no second ffmpeg run');
    assert.ok(secondMs < firstMs, `cached ${secondMs} ms vs first ${firstMs} ms`);

    const part = await raw(base, 'GET', `/recordings/${finished.room}/${finished.id}.mp4`, { Range: 'bytes=0-99' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 0-99/${mp4.length}`);
    assert.ok(part.body.equals(mp4.subarray(0, 100)));
  });

  it('remuxes again when the playlist is newer than the cached MP4', async () => {
    const future = new Date(Date.now() + 60_000);
    await fs.utimes(path.join(dirOf(finished), 'index.m3u8'), future, future);
    const res = await raw(base, 'GET', `/recordings/${finished.room}/${finished.id}.mp4`);
    assert.equal(res.status, 200);
    assert.equal(logged.lines.filter((l) => l.msg === 'recording remuxed to MP4').length, 2);
    assert.ok(topLevelBoxes(res.body).indexOf('moov') < topLevelBoxes(res.body).indexOf('mdat'));
  });

  it('refuses to download a recording in progress with 409', async () => {
    assertProblem(await agent.get(`/recordings/${live.room}/${live.id}.mp4`), 409, /still recording; download when it ends/);
    assert.ok(!(await fs.readdir(dirOf(live))).some((n) => /mp4/.test(n)));
  });

  it('answers 503 naming FFMPEG_PATH when ffmpeg cannot be run', async () => {
    const noFfmpeg = captureLog();
    const app = appWith(store, noFfmpeg.log, path.join(tmp, 'no-such-ffmpeg'));
    assertProblem(await request(app).get(`/recordings/${older.room}/${older.id}.mp4`), 503, /FFMPEG_PATH/);
    assert.ok(!(await fs.readdir(dirOf(older))).some((n) => /mp4/.test(n)), 'no partial file left');
  });

  it('DELETE needs the publish token, refuses a recording in progress, and removes a finished one', async () => {
    const url = `/recordings/${older.room}/${older.id}`;
    const anonymous = await agent.delete(url);
    assertProblem(anonymous, 401);
    assert.match(anonymous.headers['www-authenticate']!, /^Bearer realm="onecast"$/);
    const wrong = await agent.delete(url).set('Authorization', 'Bearer nope');
    assertProblem(wrong, 401);
    assert.match(wrong.headers['www-authenticate']!, /error="invalid_token"/);
    await fs.access(dirOf(older));

    assertProblem(await agent.delete(`/recordings/${live.room}/${live.id}`).set('Authorization', `Bearer ${TOKEN}`), 409, /still recording/);
    await fs.access(dirOf(live));

    const ok = await agent.delete(url).set('Authorization', `Bearer ${TOKEN}`);
    assert.equal(ok.status, 204);
    await assert.rejects(fs.access(dirOf(older)));
    assert.ok(!(await agent.get('/api/recordings')).body.some((r: RecordingInfo) => r.id === older.id));
    assertProblem(await agent.delete(url).set('Authorization', `Bearer ${TOKEN}`), 404);
    assertProblem(await agent.get(`${url}/index.m3u8`), 404);
  });

  it(`runs at most MAX_MP4_REMUXES ffmpeg remuxes at once: 12 concurrent downloads of 12 recordings get 200 or 503 + Retry-After`, async function () {
    this.timeout(120_000);
    const MAX = 2;
    const root = path.join(tmp, 'many');
    const ids = Array.from({ length: 12 }, (_, i) => newRecordingId(new Date(Date.UTC(2026, 10, 1, 0, i))));
    for (const id of ids) await copyDir(dirOf(finished), path.join(root, 'busy', id), (n) => n === 'recording.mp4' || n === 'seg_00099.ts');
    // ffmpeg behind a wrapper that notes when each process starts and ends: the count is the kernel's, not ours.
    const events = path.join(tmp, 'ffmpeg-events');
    const wrapper = path.join(tmp, 'ffmpeg-counting');
    await fs.writeFile(wrapper, `#!/bin/sh\necho start >> '${events}'\nffmpeg "$@"\nstatus=$?\necho end >> '${events}'\nexit $status\n`, { mode: 0o755 });
    const manyStore = new RecordingStore(root);
    const app = appWith(manyStore, captureLog().log, wrapper, MAX).listen(0, '127.0.0.1');
    await new Promise((resolve) => app.once('listening', resolve));
    const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    try {
      const answers = await Promise.all(ids.map((id) => raw(url, 'GET', `/recordings/busy/${id}.mp4`)));
      let running = 0;
      let most = 0;
      const lines = (await fs.readFile(events, 'utf8')).trim().split('\n');
      for (const line of lines) {
        running += line === 'start' ? 1 : -1;
        most = Math.max(most, running);
      }
      const ok = answers.filter((a) => a.status === 200);
      const busy = answers.filter((a) => a.status === 503);
      console.log(`      12 concurrent downloads: ${ok.length} × 200, ${busy.length} × 503; ${lines.length / 2} ffmpeg runs, at most ${most} at once`);
      assert.ok(most <= MAX, `${most} ffmpeg remuxes ran at once`);
      assert.equal(ok.length + busy.length, 12);
      assert.ok(busy.length >= 12 - 2 * MAX, `${busy.length} refused`);
      for (const a of busy) {
        assert.match(a.headers['retry-after'] ?? '', /^\d+$/);
        assert.match(a.headers['content-type'] ?? '', /^application\/problem\+json/);
        assert.match((JSON.parse(a.body.toString()) as { detail: string }).detail, /try again in \d+ s/);
      }
      // Retried one after another, each gets its MP4.
      for (const id of ids) assert.equal((await raw(url, 'GET', `/recordings/busy/${id}.mp4`)).status, 200);

      // Deleting a recording takes its MP4 with it, and its bytes off the listing.
      const [gone] = ids;
      await fs.access(path.join(root, 'busy', gone!, 'recording.mp4'));
      assert.equal((await raw(url, 'DELETE', `/recordings/busy/${gone}`, { Authorization: `Bearer ${TOKEN}` })).status, 204);
      await assert.rejects(fs.access(path.join(root, 'busy', gone!)));
      const left = JSON.parse((await raw(url, 'GET', '/api/recordings?room=busy')).body.toString()) as RecordingInfo[];
      assert.equal(left.length, 11);
      assert.ok(!left.some((r) => r.id === gone));
    } finally {
      app.closeAllConnections();
      await new Promise((resolve) => app.close(resolve));
    }
  });

  it('never lets a path out of RECORDINGS_DIR: every traversal is 400 or 404 and shows nothing from outside', async () => {
    const f = `${finished.room}/${finished.id}`;
    const secretPath = path.join(tmp, 'secret.txt');
    const gets = [
      // plain and encoded dot-dot
      '/recordings/../secret.txt',
      '/recordings/../../secret.txt',
      '/recordings/studio/../secret.txt',
      `/recordings/${f}/../../../secret.txt`,
      '/recordings/../../secret.txt/index.m3u8',
      '/recordings/../outside/evilrec/index.m3u8',
      '/recordings/%2e%2e/outside/index.m3u8',
      '/recordings/%2e%2e/%2e%2e/secret.txt',
      '/recordings/%2e%2e%2f%2e%2e%2fsecret.txt/x/index.m3u8',
      `/recordings/${f}/..%2F..%2F..%2Fsecret.txt`,
      `/recordings/${f}/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt`,
      `/recordings/studio/${finished.id}%2F..%2F..%2F..%2Fsecret.txt/index.m3u8`,
      '/recordings/studio%2F..%2F..%2Fsecret.txt/x/index.m3u8',
      `/recordings/${f}/%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.txt`,
      // double encoding
      '/recordings/%252e%252e/%252e%252e/secret.txt',
      `/recordings/${f}/%252e%252e%252f%252e%252e%252f%252e%252e%252fsecret.txt`,
      '/recordings/%252e%252e%252fsecret.txt/x/index.m3u8',
      // backslashes
      `/recordings/${f}/..\\..\\..\\secret.txt`,
      `/recordings/${f}/..%5C..%5C..%5Csecret.txt`,
      '/recordings/..%5C..%5Csecret.txt/x/index.m3u8',
      '/recordings/studio\\..\\..\\/x/index.m3u8',
      // NUL
      `/recordings/${f}/index.m3u8%00`,
      `/recordings/${f}/seg_00000.ts%00.txt`,
      `/recordings/studio%00/${finished.id}/index.m3u8`,
      `/recordings/${f}%00/index.m3u8`,
      // absolute paths
      '//etc/passwd',
      '/recordings//etc/passwd',
      '/recordings/%2Fetc%2Fpasswd/x/index.m3u8',
      `/recordings/${f}/%2Fetc%2Fpasswd`,
      `/recordings/${f}/${encodeURIComponent(secretPath)}`,
      `/recordings/studio/${encodeURIComponent(path.join(tmp, 'outside', 'evilrec'))}/index.m3u8`,
      `/recordings/${encodeURIComponent(tmp)}/x/index.m3u8`,
      // overlong names and files that are not served
      `/recordings/${'a'.repeat(65)}/${finished.id}/index.m3u8`,
      `/recordings/studio/${'a'.repeat(65)}/index.m3u8`,
      `/recordings/${'b'.repeat(3000)}/x/index.m3u8`,
      `/recordings/${f}/seg_000001.ts`,
      `/recordings/${f}/meta.json`,
      `/recordings/${f}/recording.mp4`,
      `/recordings/${f}/.index.m3u8`,
      `/recordings/${f}/index.m3u8.`,
      // malformed percent-encoding
      `/recordings/${f}/%E0%A4%A`,
      '/recordings/%/x/index.m3u8',
      // symlinks inside RECORDINGS_DIR that point outside
      '/recordings/evil/evilrec/index.m3u8',
      '/recordings/evil/evilrec/seg_00000.ts',
      `/recordings/studio/${linkedId}/index.m3u8`,
      `/recordings/studio/${linkedId}/seg_00000.ts`,
      `/recordings/${f}/seg_00099.ts`,
      // .mp4 variants
      '/recordings/../secret.mp4',
      '/recordings/studio/..%2F..%2Fsecret.mp4',
      '/recordings/studio/%2e%2e%2f%2e%2e%2fsecret.mp4',
      '/recordings/studio/%252e%252e%252fsecret.mp4',
      '/recordings/%2e%2e/%2e%2e.mp4',
      '/recordings/studio/..%5C..%5Csecret.mp4',
      `/recordings/studio/${finished.id}%00.mp4`,
      `/recordings/studio/${finished.id}.mp4%00`,
      `/recordings/studio/${finished.id}%2F..%2F..%2F..%2Fsecret.mp4`,
      `/recordings/studio/${encodeURIComponent(secretPath)}.mp4`,
      `/recordings/studio/${'c'.repeat(65)}.mp4`,
      '/recordings/evil/evilrec.mp4',
      `/recordings/studio/${linkedId}.mp4`,
    ];
    const failures: string[] = [];
    for (const p of gets) {
      for (const method of ['GET', 'HEAD']) {
        const res = await raw(base, method, p);
        if (res.status !== 400 && res.status !== 404) failures.push(`${method} ${p} → ${res.status}`);
        if (res.body.toString('latin1').includes(SECRET)) failures.push(`${method} ${p} leaked the secret`);
        if (res.body.length > 0 && !/^application\/problem\+json/.test(res.headers['content-type'] ?? ''))
          failures.push(`${method} ${p} → ${res.headers['content-type']}`);
      }
    }
    const deletes = [
      '/recordings/%2e%2e/outside',
      '/recordings/../outside',
      '/recordings/..%2Foutside/evilrec',
      '/recordings/evil/evilrec',
      `/recordings/studio/${linkedId}`,
      `/recordings/studio/${encodeURIComponent(path.join(tmp, 'outside', 'evilrec'))}`,
      `/recordings/studio/${finished.id}%00`,
      '/recordings/studio/..%5C..%5Coutside',
    ];
    for (const p of deletes) {
      const res = await raw(base, 'DELETE', p, { Authorization: `Bearer ${TOKEN}` });
      if (res.status !== 400 && res.status !== 404) failures.push(`DELETE ${p} → ${res.status}`);
    }
    assert.deepEqual(failures, []);
    // Nothing outside was touched; the recording behind the traversals is intact.
    assert.equal(await fs.readFile(secretPath, 'utf8'), SECRET);
    await fs.access(path.join(tmp, 'outside', 'evilrec', 'index.m3u8'));
    await fs.access(path.join(dirOf(finished), 'index.m3u8'));
    // Spot checks of the exact status.
    assert.equal((await raw(base, 'GET', `/recordings/${f}/..%2F..%2F..%2Fsecret.txt`)).status, 400);
    assert.equal((await raw(base, 'GET', '/recordings/evil/evilrec/index.m3u8')).status, 404);
    assert.equal((await raw(base, 'GET', `/recordings/${f}/seg_00099.ts`)).status, 404);
    assert.equal((await raw(base, 'GET', `/recordings/studio/${linkedId}.mp4`)).status, 404);
  });
});
