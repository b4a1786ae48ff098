// `npm run bench -- recordings`: GET /api/recordings against many recordings on disk.
// Writes R recordings (meta.json, a playlist of S segments and the
// segment files) into a temporary RECORDINGS_DIR, serves it with the recordings router
// as the server does, and reports the time to index it (once, at start-up) and then
// the wall time and this process's CPU time per request (client included, so an upper
// bound) for the first page, the largest page, one room, and a page deep in the list.
//
//   npm run bench -- recordings [--recordings 3000] [--segments 10] [--requests 50]
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { LIST_MAX_LIMIT, recordingsRouter } from '../src/http/recordings';
import { silentLogger } from '../src/log';
import { newRecordingId } from '../src/recordings/layout';
import { cursorOf, RecordingStore, type RecordingInfo } from '../src/recordings/store';
import { percentile } from '../test/load/measure';
import { pool } from '../test/load/soak';

const ROOMS = 20;

function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
}

async function writeRecordings(dir: string, count: number, segments: number): Promise<void> {
  const start = Date.parse('2026-01-01T00:00:00Z');
  const segment = Buffer.alloc(188 * 50);
  await pool(count, 16, async (i) => {
    const room = `room-${i % ROOMS}`;
    const startedAt = new Date(start + i * 60_000);
    const id = newRecordingId(startedAt);
    const d = path.join(dir, room, id);
    await fs.mkdir(d, { recursive: true });
    let playlist = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n';
    for (let s = 0; s < segments; s++) {
      const name = `seg_${String(s).padStart(5, '0')}.ts`;
      playlist += `#EXTINF:2.000000,\n${name}\n`;
      await fs.writeFile(path.join(d, name), segment);
    }
    await fs.writeFile(path.join(d, 'index.m3u8'), `${playlist}#EXT-X-ENDLIST\n`);
    const meta = {
      room,
      id,
      startedAt: startedAt.toISOString(),
      endedAt: new Date(startedAt.getTime() + segments * 2_000).toISOString(),
      durationSeconds: segments * 2,
      video: 'H264',
      audio: 'opus',
      status: 'finished',
      error: null,
    };
    await fs.writeFile(path.join(d, 'meta.json'), JSON.stringify(meta, null, 2));
  });
}

function get(base: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${base}${url}`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function measure(base: string, url: string, requests: number): Promise<string> {
  const wall: number[] = [];
  let items = 0;
  // Warm-up: compiled code, not the first run's JIT, is what a server polled every 5 s runs.
  for (let i = 0; i < 10; i++) await get(base, url);
  const cpu = process.cpuUsage();
  for (let i = 0; i < requests; i++) {
    const t = performance.now();
    const res = await get(base, url);
    wall.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`${url} → ${res.status}: ${res.body.slice(0, 200)}`);
    items = (JSON.parse(res.body) as unknown[]).length;
  }
  const used = process.cpuUsage(cpu);
  wall.sort((a, b) => a - b);
  const cpuMs = (used.user + used.system) / 1000 / requests;
  return `| \`${url.length > 60 ? `${url.slice(0, 57)}…` : url}\` | ${items} | ${percentile(wall, 50).toFixed(2)} / ${percentile(wall, 95).toFixed(2)} ms | ${cpuMs.toFixed(2)} ms |`;
}

export async function recordingsBench(args: readonly string[]): Promise<void> {
  const count = option(args, 'recordings', 3000);
  const segments = option(args, 'segments', 10);
  const requests = option(args, 'requests', 50);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-bench-recordings-'));
  try {
    let t = performance.now();
    await writeRecordings(dir, count, segments);
    console.log(`${count} recordings of ${segments} segments in ${ROOMS} rooms written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const store = new RecordingStore(dir);
    t = performance.now();
    const cpu = process.cpuUsage();
    await store.load();
    const used = process.cpuUsage(cpu);
    console.log(`index loaded once (start-up): ${(performance.now() - t).toFixed(0)} ms wall, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU`);
    const app = express();
    app.use(recordingsRouter(store, { ffmpegPath: 'ffmpeg', maxRemuxes: 2, log: silentLogger }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const all = (await store.list()) as RecordingInfo[];
      const deep = all[Math.floor(all.length * 0.9)]!;
      console.log('');
      console.log(`| request | entries | wall p50 / p95 | CPU per request |`);
      console.log(`| --- | --- | --- | --- |`);
      for (const url of [
        '/api/recordings',
        `/api/recordings?limit=${LIST_MAX_LIMIT}`,
        '/api/recordings?room=room-7',
        `/api/recordings?before=${encodeURIComponent(cursorOf(deep))}`,
      ]) {
        console.log(await measure(base, url, requests));
      }
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
