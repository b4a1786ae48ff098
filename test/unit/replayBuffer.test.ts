// The recorder's replay buffer: what it keeps (from a cut point on, within its limits),
// where a run's stream starts, and that trimming never takes what the reading run has not
// sent yet. Pure; arrival times come from a fake clock.
import { strict as assert } from 'node:assert';
import type { BufferEntry } from '../../src/recorder/recordedMedia';
import type { MediaKind } from '../../src/rtp/mediaKind';
import { ReplayBuffer, type ReadPosition } from '../../src/recorder/replayBuffer';
import { FakeClock } from '../support/fakeClock';

/** 30 fps video with a keyframe (a cut point) every `gop` frames, each frame one packet of `bytes`. */
function videoFrames(clock: FakeClock, count: number, opts: { gop?: number; bytes?: number; firstFrame?: number } = {}): BufferEntry[] {
  const gop = opts.gop ?? 30;
  const out: BufferEntry[] = [];
  for (let i = 0; i < count; i++) {
    const n = (opts.firstFrame ?? 0) + i;
    out.push(entry('video', n * 3000, clock.now(), n % gop === 0, opts.bytes ?? 100));
    clock.advance(33);
  }
  return out;
}

function entry(kind: MediaKind, ts: number, at: number, cut: boolean, bytes = 100): BufferEntry {
  return { kind, packet: Buffer.alloc(bytes), ts: ts >>> 0, at, cut };
}

describe('recorder replay buffer', () => {
  it('waits for a cut point, then keeps everything from it on', () => {
    const clock = new FakeClock();
    const buffer = new ReplayBuffer(() => undefined);
    const frames = videoFrames(clock, 40, { firstFrame: 20 }); // the keyframe is frame 30: the 11th
    const kept = frames.map((e) => buffer.add(e));
    assert.deepEqual(kept.indexOf(true), 10);
    assert.equal(buffer.length, 30);
    assert.equal(buffer.at(0)!.cut, true);
    assert.equal(buffer.byteLength, 30 * 100);
    assert.equal(
      buffer.find(1, (e) => e.cut),
      undefined,
    );
  });

  it('starts a run at the first cut point, or the first one not before what is recorded', () => {
    const clock = new FakeClock();
    const buffer = new ReplayBuffer(() => undefined);
    assert.equal(buffer.startIndex(), -1, 'nothing to start from yet');
    for (const e of videoFrames(clock, 100)) buffer.add(e);
    assert.equal(buffer.startIndex(), 0);
    // Recorded up to frame 58 (ts 174000): the keyframe at frame 60 is next; within the tolerance, frame 30 is not.
    assert.equal(buffer.startIndex({ ts: 174_000, toleranceTicks: 0.25 * 90000 }), 60);
    assert.equal(buffer.startIndex({ ts: 92_000, toleranceTicks: 0.25 * 90000 }), 30, 'a cut point just before counts');
    assert.equal(buffer.startIndex({ ts: 300_000, toleranceTicks: 0 }), -1);
  });

  it('moves the reading run along when entries before it go', () => {
    const clock = new FakeClock();
    const run: ReadPosition = { cursor: 50, replayFrom: 10, replayEnd: 60 };
    const buffer = new ReplayBuffer(() => run);
    for (const e of videoFrames(clock, 90)) buffer.add(e);
    buffer.dropBefore(30);
    assert.deepEqual(run, { cursor: 20, replayFrom: 0, replayEnd: 30 });
    assert.equal(buffer.length, 60);
    assert.equal(buffer.byteLength, 6000);
    assert.equal(buffer.at(0)!.ts, 90_000);
    const waiting: ReadPosition = { cursor: -1, replayFrom: 0, replayEnd: 0 };
    const other = new ReplayBuffer(() => waiting);
    for (const e of videoFrames(clock, 60)) other.add(e);
    other.dropBefore(30);
    assert.equal(waiting.cursor, -1, 'a run waiting for a cut point still waits');
  });

  it('over its time span, keeps from the newest keyframe sent (no reader: all of it is sent)', () => {
    const clock = new FakeClock();
    const buffer = new ReplayBuffer(() => undefined, { maxBytes: 1e9, maxMs: 5000 });
    for (const e of videoFrames(clock, 30 * 8)) {
      buffer.add(e);
      buffer.enforceLimits();
      assert.ok(buffer.at(buffer.length - 1)!.at - buffer.at(0)!.at <= 5000 + 1000, 'at most the span plus one GOP');
    }
    assert.equal(buffer.at(0)!.cut, true);
    assert.ok(buffer.length <= 5 * 30 + 30);
  });

  it('over its byte limit, never drops what the reading run has not sent', () => {
    const clock = new FakeClock();
    const run: ReadPosition = { cursor: 0, replayFrom: 0, replayEnd: 0 };
    const buffer = new ReplayBuffer(() => run, { maxBytes: 50 * 1000, maxMs: 1e9 });
    const frames = videoFrames(clock, 100, { bytes: 1000 });
    for (const e of frames.slice(0, 80)) buffer.add(e);
    run.cursor = 45; // sent up to frame 44: the newest keyframe sent is frame 30
    buffer.enforceLimits();
    assert.equal(buffer.at(0)!.ts, 30 * 3000);
    assert.equal(run.cursor, 15);
    // Nothing sent since a keyframe: everything sent goes, nothing unsent.
    run.cursor = 0;
    for (const e of frames.slice(80)) buffer.add(e);
    buffer.enforceLimits();
    assert.equal(buffer.at(0)!.ts, 30 * 3000, 'a run that has sent nothing keeps all of it');
  });

  it('lets go of what finished segments hold, keeping the unfinished segment from its keyframe', () => {
    const clock = new FakeClock();
    const run: ReadPosition = { cursor: 120, replayFrom: 0, replayEnd: 0 };
    const buffer = new ReplayBuffer(() => run);
    for (const e of videoFrames(clock, 120)) buffer.add(e);
    // Segments up to 2.0 s (ts 180000) are finished: frame 60 begins the unfinished one.
    buffer.dropCommitted(180_000 + 100, 'video', 0.25 * 90000);
    assert.equal(buffer.at(0)!.ts, 180_000);
    assert.equal(run.cursor, 60);
    // Not past what the run has sent.
    run.cursor = 10;
    buffer.dropCommitted(270_000, 'video', 0.25 * 90000);
    assert.equal(buffer.at(0)!.ts, 180_000);
    buffer.clear();
    assert.equal(buffer.length, 0);
    assert.equal(buffer.byteLength, 0);
  });
});
