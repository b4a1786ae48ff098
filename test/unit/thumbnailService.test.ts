// The thumbnail service's rules, with a stand-in for ffmpeg: what is cached and for how
// long, one run per room shared by its requests, the server-wide bound, and the answers
// for rooms that cannot have a thumbnail. The keyframe group is a real packet cache filled
// with ffmpeg-made packets (test/fixtures/rtp).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../../src/log';
import { readRtp } from '../../src/rtp/rtpPacket';
import { PacketCache } from '../../src/sfu/packetCache';
import type { Rooms } from '../../src/sfu/rooms';
import type { SnapshotResult } from '../../src/thumbnails/snapshot';
import { ThumbnailService, type ThumbnailAnswer } from '../../src/thumbnails/thumbnailService';
import { thumbnailProblem } from '../../src/http/thumbnails';

const CACHE_MS = 5000;

/** The keyframe group of the H.264 capture: its first frame starts a keyframe. */
function h264Cache(): PacketCache {
  const file = readFileSync(path.join(__dirname, '..', 'fixtures', 'rtp', 'h264.rtp'));
  const cache = new PacketCache();
  for (let p = 0, first = true; p < file.length; first = false) {
    const packet = file.subarray(p + 2, p + 2 + file.readUInt16BE(p));
    cache.put(packet, readRtp(packet)!, first);
    p += 2 + packet.length;
  }
  return cache;
}

class FakePublisher {
  keyframeRequests = 0;
  constructor(readonly video: { codec: { name: string }; cache: PacketCache } | undefined) {}
  track(kind: string) {
    return kind === 'video' ? this.video : undefined;
  }
  requestKeyframe(): boolean {
    this.keyframeRequests++;
    return true;
  }
}

class FakeRoom extends EventEmitter {
  live = true;
  constructor(
    readonly name: string,
    public publisher: FakePublisher | undefined,
  ) {
    super();
  }
  /** The publish ends, as Room says it. */
  leave(): void {
    const left = this.publisher;
    this.publisher = undefined;
    this.live = false;
    this.emit('publisherLeft', left);
  }
}

class FakeRooms extends EventEmitter {
  readonly map = new Map<string, FakeRoom>();
  add(room: FakeRoom): FakeRoom {
    this.map.set(room.name, room);
    this.emit('created', room);
    return room;
  }
  get(name: string): FakeRoom | undefined {
    return this.map.get(name);
  }
}

/** A stand-in ffmpeg whose runs end when the test says. */
class Runs {
  readonly pending: Array<(result: SnapshotResult) => void> = [];
  started = 0;
  /** The stream the last run was given. */
  given: Buffer | undefined;
  run = (stream: { data: Buffer }, _limits: unknown, signal: AbortSignal): Promise<SnapshotResult> => {
    this.started++;
    this.given = stream.data;
    return new Promise((resolve) => {
      this.pending.push(resolve);
      // As snapshot() does: an abort kills the run.
      signal.addEventListener('abort', () => resolve({ result: 'failed', reason: 'the server is closing' }));
    });
  };
  finish(jpeg = Buffer.from(`jpeg ${this.started}`)): void {
    this.pending.shift()!({ result: 'ok', jpeg });
  }
}

function setup(maxRuns = 2) {
  const rooms = new FakeRooms();
  const runs = new Runs();
  const service = new ThumbnailService(rooms as unknown as Rooms, {
    cacheMs: CACHE_MS,
    maxRuns,
    timeoutMs: 1000,
    maxBytes: 1 << 20,
    log: silentLogger,
    run: runs.run,
  });
  const live = (name: string) => rooms.add(new FakeRoom(name, new FakePublisher({ codec: { name: 'H264' }, cache: h264Cache() })));
  return { rooms, runs, service, live };
}

function image(answer: ThumbnailAnswer): { jpeg: string; maxAge: number } {
  assert.equal(answer.kind, 'image');
  return { jpeg: answer.jpeg.toString(), maxAge: answer.maxAge };
}

describe('thumbnail service', () => {
  it('gives the H.264 keyframe to ffmpeg, then answers from the cache until it is CACHE_MS old', async () => {
    const { runs, service, live } = setup();
    live('a');
    const first = service.thumbnail('a', 1000);
    runs.finish(Buffer.from('picture'));
    assert.deepEqual(image(await first), { jpeg: 'picture', maxAge: 5 });
    // One frame: SPS, PPS, SEI, IDR, each after a start code.
    assert.deepEqual(runs.given?.subarray(0, 5), Buffer.from([0, 0, 0, 1, 0x67]));
    const now = Date.now();
    assert.deepEqual(image(await service.thumbnail('a', now + 3200)), { jpeg: 'picture', maxAge: 2 });
    assert.equal(runs.started, 1);
    const later = service.thumbnail('a', now + CACHE_MS + 1);
    assert.equal(runs.started, 2, 'an old thumbnail is made again');
    runs.finish();
    await later;
  });

  it('shares one run among the requests for a room, and refuses past maxRuns with the bound', async () => {
    const { runs, service, live } = setup(2);
    live('a');
    live('b');
    live('c');
    const a1 = service.thumbnail('a');
    const a2 = service.thumbnail('a');
    const b = service.thumbnail('b');
    assert.equal(runs.started, 2);
    assert.deepEqual(await service.thumbnail('c'), { kind: 'busy', maxRuns: 2 });
    runs.finish(Buffer.from('A'));
    runs.finish(Buffer.from('B'));
    assert.equal(image(await a1).jpeg, 'A');
    assert.equal(image(await a2).jpeg, 'A');
    assert.equal(image(await b).jpeg, 'B');
    const c = service.thumbnail('c');
    assert.equal(runs.started, 3, 'a slot is free again');
    runs.finish();
    await c;
  });

  it('forgets a thumbnail when the publish ends, and keeps none made while it ended', async () => {
    const { rooms, runs, service, live } = setup();
    const room = live('a');
    const first = service.thumbnail('a');
    runs.finish();
    await first;
    room.leave();
    assert.deepEqual(await service.thumbnail('a'), { kind: 'not-live' });
    const again = rooms.add(new FakeRoom('a', new FakePublisher({ codec: { name: 'H264' }, cache: h264Cache() })));
    const made = service.thumbnail('a');
    assert.equal(runs.started, 2, 'the new publish gets its own thumbnail');
    again.leave();
    runs.finish();
    assert.equal((await made).kind, 'image', 'the waiting request still gets its picture');
    again.publisher = new FakePublisher({ codec: { name: 'H264' }, cache: h264Cache() });
    again.live = true;
    const third = service.thumbnail('a');
    assert.equal(runs.started, 3, 'nothing of the ended publish was cached');
    runs.finish();
    await third;
  });

  it('says why a room has none: not live, no video, a codec it cannot read, no keyframe yet (and asks for one); a failed run', async () => {
    const { rooms, runs, service } = setup();
    assert.deepEqual(await service.thumbnail('nobody'), { kind: 'not-live' });
    rooms.add(new FakeRoom('audio', new FakePublisher(undefined)));
    assert.deepEqual(await service.thumbnail('audio'), { kind: 'no-video' });
    rooms.add(new FakeRoom('av1', new FakePublisher({ codec: { name: 'AV1' }, cache: new PacketCache() })));
    assert.deepEqual(await service.thumbnail('av1'), { kind: 'unsupported-codec', codec: 'AV1' });
    const waiting = rooms.add(new FakeRoom('waiting', new FakePublisher({ codec: { name: 'VP8' }, cache: new PacketCache() })));
    assert.deepEqual(await service.thumbnail('waiting'), { kind: 'no-keyframe' });
    assert.equal(waiting.publisher!.keyframeRequests, 1);
    rooms.add(new FakeRoom('failing', new FakePublisher({ codec: { name: 'H264' }, cache: h264Cache() })));
    const failed = service.thumbnail('failing');
    runs.pending.shift()!({ result: 'not-found', reason: 'ffmpeg not found at "x" (install ffmpeg or set FFMPEG_PATH)' });
    assert.deepEqual(await failed, { kind: 'unavailable', reason: 'ffmpeg not found at "x" (install ffmpeg or set FFMPEG_PATH)' });
    assert.equal(service.runs['not-found'], 1);
    assert.equal(runs.started, 1);
  });

  it('close() ends the runs under way at once, without waiting for their time limit', async () => {
    const { service, live, runs } = setup();
    live('a');
    live('b');
    const answers = [service.thumbnail('a'), service.thumbnail('b')];
    assert.equal(runs.started, 2);
    await service.close();
    for (const answer of await Promise.all(answers)) assert.deepEqual(answer, { kind: 'unavailable', reason: 'the server is closing' });
  });

  it('answers over HTTP: 404 where there will be no picture, 503 with Retry-After where there will be one soon', () => {
    assert.deepEqual(thumbnailProblem('r', { kind: 'busy', maxRuns: 2 }), {
      status: 503,
      title: 'Thumbnails busy',
      detail: 'The server is making 2 other thumbnail(s), as many as it does at once; try again in 1 s.',
      headers: { 'Retry-After': '1' },
    });
    assert.equal(thumbnailProblem('r', { kind: 'no-keyframe' }).headers?.['Retry-After'], '2');
    assert.equal(thumbnailProblem('r', { kind: 'no-keyframe' }).status, 503);
    assert.equal(thumbnailProblem('r', { kind: 'not-live' }).status, 404);
    assert.equal(thumbnailProblem('r', { kind: 'no-video' }).status, 404);
    const codec = thumbnailProblem('r', { kind: 'unsupported-codec', codec: 'AV1' });
    assert.equal(codec.status, 404);
    assert.match(codec.detail, /sends AV1 video, which onecast cannot make thumbnails of/);
    const failed = thumbnailProblem('r', { kind: 'unavailable', reason: 'ffmpeg not found at "x" (install ffmpeg or set FFMPEG_PATH)' });
    assert.equal(failed.status, 503);
    assert.match(failed.detail, /install ffmpeg or set FFMPEG_PATH/);
  });
});
