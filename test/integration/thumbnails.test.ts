// Thumbnails of live rooms: the depacketized streams of ffmpeg-made packets decode to
// the last picture with the real ffmpeg, each limit of a run holds (time, size, a
// missing binary), and over HTTP an OBS-like publisher's room gives a JPEG of its own
// size, the same bytes from the cache without a second ffmpeg run, and problems for
// rooms that have none; with a slow ffmpeg, a room's requests share one run and a third
// room past the 2 runs at once gets 503.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMedia, type TestMedia } from '../clients/media';
import { cleanupDataChannel, ObsLikePublisher } from '../clients/obsPublisher';
import { elementaryStream, type ElementaryStream } from '../../src/rtp/depacketize/elementaryStream';
import { readRtp } from '../../src/rtp/rtpPacket';
import { lastJpeg, MAX_PIXELS, snapshot } from '../../src/thumbnails/snapshot';
import { startServer, waitFor, type TestServer } from '../support/server';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'rtp');
const LIMITS = { timeoutMs: 10_000, maxBytes: 1 << 20 };

/** The capture's packets (test/fixtures/rtp) as one elementary stream. */
function fixtureStream(codec: 'H264' | 'VP8', file: string): ElementaryStream {
  const bytes = readFileSync(path.join(FIXTURES, file));
  const packets = [];
  for (let p = 0; p < bytes.length;) {
    const packet = bytes.subarray(p + 2, p + 2 + bytes.readUInt16BE(p));
    const view = readRtp(packet)!;
    packets.push({ ...view, payload: packet.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength) });
    p += 2 + packet.length;
  }
  return elementaryStream(codec, packets)!;
}

/** What ffprobe reads in an image: its codec and size. */
function probe(image: Buffer): { codec: string; width: number; height: number } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', '-i', 'pipe:0'], { input: image });
  const stream = (JSON.parse(out.toString()) as { streams: Array<{ codec_name: string; width: number; height: number }> }).streams[0]!;
  return { codec: stream.codec_name, width: stream.width, height: stream.height };
}

/** Picture `n` of an encoded file, decoded by ffmpeg alone, as raw RGB. */
function pictureOf(file: string, n: number): Buffer {
  return execFileSync('ffmpeg', [
    '-v',
    'error',
    '-i',
    path.join(FIXTURES, file),
    '-vf',
    `select=eq(n\\,${n})`,
    '-frames:v',
    '1',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ]);
}

/** A JPEG decoded to raw RGB. */
function rgbOf(jpeg: Buffer): Buffer {
  return execFileSync('ffmpeg', ['-v', 'error', '-f', 'image2pipe', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { input: jpeg });
}

/** Mean absolute difference of two same-sized pictures, per byte. */
function difference(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('thumbnails', function () {
  this.timeout(60_000);

  describe('one ffmpeg run (snapshot)', () => {
    for (const [codec, file] of [
      ['H264', 'h264.h264'],
      ['VP8', 'vp8.ivf'],
    ] as const) {
      it(`makes the last picture of a depacketized ${codec} stream into a JPEG of its size`, async () => {
        const stream = fixtureStream(codec, codec === 'H264' ? 'h264.rtp' : 'vp8.rtp');
        const made = await snapshot('ffmpeg', stream, LIMITS);
        assert.equal(made.result, 'ok', JSON.stringify(made));
        const jpeg = (made as { jpeg: Buffer }).jpeg;
        assert.deepEqual(probe(jpeg), { codec: 'mjpeg', width: 320, height: 240 });
        // testsrc's pictures differ (a counter, a moving gradient): the thumbnail is the last, not the first.
        const got = rgbOf(jpeg);
        const toLast = difference(got, pictureOf(file, stream.frames - 1));
        const toFirst = difference(got, pictureOf(file, 0));
        assert.ok(toLast < 3 && toFirst > toLast * 2, `off the last picture by ${toLast.toFixed(2)}, the first by ${toFirst.toFixed(2)} per byte`);
        assert.deepEqual(lastJpeg(Buffer.concat([jpeg, jpeg])), jpeg, 'two JPEGs in a row: the second is found whole');
      });
    }

    it('says why when ffmpeg is missing, too slow, writes too much, cannot decode, or the picture is over MAX_PIXELS', async () => {
      const stream = fixtureStream('H264', 'h264.rtp');
      const dir = mkdtempSync(path.join(tmpdir(), 'thumbnail-ffmpeg-'));
      try {
        const missing = await snapshot(path.join(dir, 'no-ffmpeg'), stream, LIMITS);
        assert.deepEqual(missing, { result: 'not-found', reason: `ffmpeg not found at "${path.join(dir, 'no-ffmpeg')}" (install ffmpeg or set FFMPEG_PATH)` });
        const slow = path.join(dir, 'slow-ffmpeg');
        writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n');
        chmodSync(slow, 0o755);
        assert.deepEqual(await snapshot(slow, stream, { ...LIMITS, timeoutMs: 300 }), { result: 'timeout', reason: 'ffmpeg took longer than 0.3 s' });
        assert.equal((await snapshot('ffmpeg', stream, { ...LIMITS, maxBytes: 1000 })).result, 'too-large');
        const garbage = await snapshot('ffmpeg', { ...stream, data: Buffer.alloc(5000, 7) }, LIMITS);
        assert.equal(garbage.result, 'failed');
        assert.match((garbage as { reason: string }).reason, /^ffmpeg made no picture \(.+\)$/);

        // A picture past MAX_PIXELS (as a publisher may send, to make the decoder take gigabytes) is refused by the decoder.
        const huge = path.join(dir, 'huge.h264');
        execFileSync('ffmpeg', [
          '-hide_banner',
          '-loglevel',
          'error',
          '-f',
          'lavfi',
          '-i',
          'color=size=4112x2320:rate=1',
          '-frames:v',
          '1',
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          huge,
        ]);
        assert.ok(4112 * 2320 > MAX_PIXELS);
        const refused = await snapshot('ffmpeg', { format: 'h264', frames: 1, data: readFileSync(huge) }, LIMITS);
        assert.equal(refused.result, 'failed');
        assert.match((refused as { reason: string }).reason, /^the picture is larger than 9437184 pixels \(4096x2304\), which thumbnails do not decode$/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('GET /api/rooms/{room}/thumbnail.jpg', () => {
    let server: TestServer;
    let media: TestMedia;
    let publisher: ObsLikePublisher | undefined;

    before(async () => {
      media = await loadMedia();
      server = await startServer();
    });

    after(async () => {
      await publisher?.stop();
      await server.close();
      cleanupDataChannel();
    });

    const thumbnail = (room: string, method = 'GET') => fetch(`${server.url}/api/rooms/${room}/thumbnail.jpg`, { method });
    const runs = async (result: string): Promise<number> => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(new RegExp(`^onecast_thumbnail_runs_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    };

    it("answers a live room's picture at the publisher's size, then the same bytes from the cache without another run", async () => {
      publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/thumbs`, media, stripCandidates: true });
      await publisher.waitConnected(10_000);
      const listed = await waitFor('the room live with a keyframe', async () => {
        const room = await server.room('thumbs');
        return room?.live === true && (room.video?.keyframes ?? 0) >= 1 ? room : undefined;
      });
      assert.equal(listed.thumbnail, '/api/rooms/thumbs/thumbnail.jpg');
      const first = await waitFor('a thumbnail', async () => {
        const res = await thumbnail('thumbs');
        return res.status === 200 ? res : undefined;
      });
      assert.equal(first.headers.get('content-type'), 'image/jpeg');
      assert.equal(first.headers.get('cache-control'), 'private, max-age=5');
      const jpeg = Buffer.from(await first.arrayBuffer());
      assert.deepEqual(probe(jpeg), { codec: 'mjpeg', width: media.width, height: media.height });
      console.log(`      ${media.width}x${media.height} thumbnail: ${jpeg.length} bytes`);
      assert.equal(await runs('ok'), 1);

      const again = await thumbnail('thumbs');
      assert.equal(again.status, 200);
      assert.deepEqual(Buffer.from(await again.arrayBuffer()), jpeg, 'the cached picture');
      assert.match(again.headers.get('cache-control') ?? '', /^private, max-age=[1-5]$/);
      const head = await thumbnail('thumbs', 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-type'), 'image/jpeg');
      assert.equal((await head.arrayBuffer()).byteLength, 0);
      assert.equal(await runs('ok'), 1, 'one ffmpeg run for the three requests');
    });

    it('answers 404 problems for a room that is not live (or has ended) and 400 for a bad name', async () => {
      const notLive = await thumbnail('nobody-here');
      assert.equal(notLive.status, 404);
      assert.equal(notLive.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.match(((await notLive.json()) as { detail: string }).detail, /^Room nobody-here is not live/);
      assert.equal((await thumbnail('bad.name')).status, 400);
      assert.equal(await publisher!.stop(), 200);
      publisher = undefined;
      await waitFor('the room to end', async () => ((await server.room('thumbs')) === undefined ? true : undefined), 5_000);
      assert.equal((await thumbnail('thumbs')).status, 404, 'no picture of an ended publish is served');
    });
  });
  describe('the bound on ffmpeg runs', () => {
    let server: TestServer;
    let media: TestMedia;
    const publishers: ObsLikePublisher[] = [];
    let dir: string;

    before(async () => {
      media = await loadMedia();
      // An ffmpeg that takes 3 s longer: the runs under way stay under way while the test asks.
      dir = mkdtempSync(path.join(tmpdir(), 'thumbnail-slow-ffmpeg-'));
      const slow = path.join(dir, 'ffmpeg');
      writeFileSync(slow, '#!/bin/sh\nsleep 3\nexec ffmpeg "$@"\n');
      chmodSync(slow, 0o755);
      server = await startServer({ FFMPEG_PATH: slow });
    });

    after(async () => {
      await Promise.all(publishers.map((p) => p.stop()));
      await server.close();
      cleanupDataChannel();
      rmSync(dir, { recursive: true, force: true });
    });

    it("shares one run among a room's requests, and answers 503 with Retry-After past 2 runs at once", async () => {
      for (const room of ['slow-a', 'slow-b', 'slow-c']) {
        const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/${room}`, media, stripCandidates: true });
        publishers.push(publisher);
        await publisher.waitConnected(10_000);
      }
      await waitFor('three live rooms with a keyframe', async () => {
        const rooms = await server.rooms();
        return rooms.filter((r) => r.live && (r.video?.keyframes ?? 0) >= 1).length === 3 ? true : undefined;
      });
      const get = (room: string) => fetch(`${server.url}/api/rooms/${room}/thumbnail.jpg`);
      const pending = [get('slow-a'), get('slow-a'), get('slow-b')];
      await new Promise((r) => setTimeout(r, 500));
      const refused = await get('slow-c');
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.match(((await refused.json()) as { detail: string }).detail, /making 2 other thumbnail\(s\), as many as it does at once; try again in 1 s/);
      const [a1, a2, b] = await Promise.all(pending);
      for (const res of [a1!, a2!, b!]) assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await a1!.arrayBuffer()), Buffer.from(await a2!.arrayBuffer()), "a room's two requests got the one run's picture");
      const text = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(text, /^onecast_thumbnail_runs_total\{result="ok"\} 2$/m, 'two runs for the three pictures');
      assert.equal((await get('slow-c')).status, 200, 'a slot is free again');
    });
  });
});
