// The recorder's packet intake and clock sync, without ffmpeg: packets rewritten for
// ffmpeg from a keyframe on, with no holes where packets are left out; the Sender Reports
// that give ffmpeg one instant for every stream; the Opus silence that leads audio in;
// and what an ffmpeg exit means (restart after a backoff, or give up).
import { strict as assert } from 'node:assert';
import { clockReports, leadInSilence, mediaClocks } from '../../src/recorder/clockSync';
import { PacketIntake } from '../../src/recorder/intake';
import { ntpSeconds } from '../../src/recorder/mediaClock';
import type { BufferEntry, SenderReport } from '../../src/recorder/recordedMedia';
import { RECORDER_VIDEO_PT } from '../../src/recorder/recorderSdp';
import { RestartPolicy } from '../../src/recorder/restartPolicy';
import type { MediaKind } from '../../src/rtp/mediaKind';
import { parseRtcp } from '../../src/rtp/rtcp';
import { readRtp } from '../../src/rtp/rtpPacket';
import type { Codec } from '../../src/sdp/types';
import { FakeClock } from '../support/fakeClock';

const H264: Codec = { payloadType: 102, name: 'H264', clockRate: 90000, fmtp: { 'packetization-mode': '1' }, rtcpFeedback: [] };
const OPUS: Codec = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: {}, rtcpFeedback: [] };

function rtp(ssrc: number, seq: number, ts: number, payload = 10): Buffer {
  const p = Buffer.alloc(12 + payload, 0xab);
  p[0] = 0x80;
  p[1] = 96;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(ts >>> 0, 4);
  p.writeUInt32BE(ssrc >>> 0, 8);
  return p;
}

function sr(ssrc: number, ntpTime: bigint, rtpTimestamp: number): SenderReport {
  return { type: 'sr', ssrc, ntpTime, rtpTimestamp, packetCount: 0, octetCount: 0, reports: [] };
}

function setup() {
  const clock = new FakeClock();
  let dropped = 0;
  let keyframeRequests = 0;
  const intake = new PacketIntake({
    video: H264,
    audio: OPUS,
    clock,
    requestKeyframe: () => keyframeRequests++,
    dropped: () => dropped++,
  });
  const take = (kind: MediaKind, p: Buffer, keyframe = false): BufferEntry | undefined => intake.take(kind, p, readRtp(p)!, keyframe);
  return { clock, intake, take, dropped: () => dropped, keyframeRequests: () => keyframeRequests };
}

describe('recorder packet intake', () => {
  it('starts the stream on a video keyframe: audio and video before it are left out', () => {
    const { take, dropped } = setup();
    assert.equal(take('audio', rtp(2, 1, 960)), undefined);
    assert.equal(take('video', rtp(1, 10, 3000)), undefined);
    const keyframe = take('video', rtp(1, 11, 6000), true)!;
    assert.equal(keyframe.cut, true);
    assert.equal(take('video', rtp(1, 12, 6000), true)!.cut, false, 'only the first packet of a keyframe is a cut point');
    const audio = take('audio', rtp(2, 2, 1920))!;
    assert.equal(audio.cut, false, 'with video, audio is never a cut point');
    assert.equal(dropped(), 2);
    assert.equal(keyframe.packet.length, 12 + 10, 'the bare 12-byte header');
    assert.equal(keyframe.packet[1]! & 0x7f, RECORDER_VIDEO_PT, 'the payload type of the SDP ffmpeg reads');
  });

  it('leaves padding-only packets out without a hole in the numbers ffmpeg sees', () => {
    const { take, dropped } = setup();
    const first = take('video', rtp(1, 100, 3000), true)!;
    const padding = rtp(1, 101, 3000, 8);
    padding[0]! |= 0x20;
    padding[padding.length - 1] = 8;
    assert.equal(take('video', padding), undefined);
    const next = take('video', rtp(1, 102, 6000))!;
    assert.equal(next.packet.readUInt16BE(2), (first.packet.readUInt16BE(2) + 1) & 0xffff);
    assert.equal(dropped(), 1);
  });

  it('makes video wait for a keyframe again when the publisher changes, numbering on', () => {
    const { take } = setup();
    const a = take('video', rtp(1, 100, 3000), true)!;
    assert.equal(take('video', rtp(7, 5000, 90_000)), undefined, 'the new publisher is undecodable until its keyframe');
    const b = take('video', rtp(7, 5001, 93_000), true)!;
    assert.equal(b.cut, true);
    assert.equal(b.packet.readUInt32BE(8), a.packet.readUInt32BE(8), 'the recorder keeps its own SSRC');
    assert.equal(b.packet.readUInt16BE(2), (a.packet.readUInt16BE(2) + 1) & 0xffff);
  });

  it('asks for a keyframe when 2 s pass without one, at most every second', () => {
    const { clock, take, keyframeRequests } = setup();
    take('video', rtp(1, 1, 0), true);
    let seq = 2;
    for (let i = 0; i < 150; i++) {
      clock.advance(33);
      take('video', rtp(1, seq++, i * 3000));
    }
    // ~4.95 s: asked at 2 s, 3 s and 4 s.
    assert.equal(keyframeRequests(), 3);
    take('video', rtp(1, seq++, 450_000), true);
    clock.advance(1500);
    take('video', rtp(1, seq, 453_000));
    assert.equal(keyframeRequests(), 3, 'a keyframe came');
  });
});

describe('recorder clock sync', () => {
  // The publisher's clocks: video ts 1_000_000 and audio ts 500_000 are both at NTP second 3_900_000_000.
  const NTP = 3_900_000_000n << 32n;

  function started() {
    const s = setup();
    const keyframe = s.take('video', rtp(0x1111, 1, 1_000_000), true)!;
    // Audio's first packet is 50 ms after the keyframe.
    const audio = s.take('audio', rtp(0x2222, 1, 500_000 + 2400))!;
    return { ...s, keyframe, audio };
  }

  it('has no clocks until every stream has a Sender Report of its current source', () => {
    const { intake, keyframe } = started();
    assert.equal(mediaClocks(intake.streamList), undefined);
    intake.takeSenderReport('video', sr(0x1111, NTP, 1_000_000));
    assert.equal(mediaClocks(intake.streamList), undefined);
    intake.takeSenderReport('audio', sr(0x9999, NTP, 500_000));
    assert.equal(mediaClocks(intake.streamList), undefined, 'an SR of an earlier publisher says nothing about this one');
    intake.takeSenderReport('audio', sr(0x2222, NTP, 500_000));
    const clocks = mediaClocks(intake.streamList)!;
    assert.equal(clocks.get('video')!.rtpTimestamp, keyframe.ts, 'mapped onto the recorder’s timestamps');
    assert.equal(clocks.get('audio')!.clockRate, 48000);
  });

  it('names one instant, 1 s before the first keyframe, in every stream’s report', () => {
    const { intake, keyframe, audio } = started();
    intake.takeSenderReport('video', sr(0x1111, NTP, 1_000_000));
    intake.takeSenderReport('audio', sr(0x2222, NTP, 500_000));
    const reports = clockReports(intake.streamList, mediaClocks(intake.streamList)!, keyframe);
    assert.deepEqual(
      reports.map((r) => r.kind),
      ['video', 'audio'],
    );
    const [video, audioSr] = reports.map((r) => parseRtcp(r.packet)[0]!);
    assert.ok(video?.type === 'sr' && audioSr?.type === 'sr');
    assert.equal(video.ntpTime, NTP - ntpSeconds(1));
    assert.equal(audioSr.ntpTime, video.ntpTime);
    assert.equal(video.ssrc, intake.streams.video!.rewriter.ssrc);
    assert.equal(video.rtpTimestamp, (keyframe.ts - 90000) >>> 0);
    // The audio packet 2400 ticks after the SR's point is 50 ms after the keyframe.
    assert.equal(audioSr.rtpTimestamp, (audio.ts - 2400 - 48000) >>> 0);
  });

  it('leads audio in with Opus silence back to the keyframe, at most 10 frames', () => {
    const { intake, keyframe, audio } = started();
    intake.takeSenderReport('video', sr(0x1111, NTP, 1_000_000));
    intake.takeSenderReport('audio', sr(0x2222, NTP, 500_000));
    const silence = leadInSilence(mediaClocks(intake.streamList)!, keyframe, audio);
    assert.equal(silence.length, 3, '50 ms: three 20 ms frames');
    silence.forEach((p, i) => {
      const k = 3 - i;
      assert.equal(p.length, 15);
      assert.equal(p[0], 0x80);
      assert.equal(p[1]! & 0x80, 0, 'no marker');
      assert.equal(p.readUInt16BE(2), (audio.packet.readUInt16BE(2) - k) & 0xffff);
      assert.equal(p.readUInt32BE(4), (audio.ts - k * 960) >>> 0);
      assert.equal(p.subarray(12).toString('hex'), 'f8fffe');
    });
    // Audio 1 s late by the clocks: capped.
    intake.takeSenderReport('audio', sr(0x2222, NTP + ntpSeconds(1), 500_000));
    assert.equal(leadInSilence(mediaClocks(intake.streamList)!, keyframe, audio).length, 10);
  });
});

describe('recorder restart policy', () => {
  const crash = { exit: { code: 1, signal: null }, stderrTail: '[error] simulated crash', outputError: undefined, livedMs: 100, producedSegment: false };

  it('restarts quick failures after 250, 500, 1000, 2000 ms and gives up at the fifth', () => {
    const policy = new RestartPolicy(5);
    const delays = [1, 2, 3, 4].map(() => {
      const d = policy.decide(crash);
      assert.equal(d.action, 'restart');
      return d.action === 'restart' ? d.delayMs : -1;
    });
    assert.deepEqual(delays, [250, 500, 1000, 2000]);
    assert.deepEqual(policy.decide(crash), {
      action: 'fail',
      reason: 'ffmpeg failed 5 times in a row; the last time it exited with code 1: [error] simulated crash',
    });
  });

  it('starts counting again after a run that lived 10 s or wrote a segment', () => {
    const policy = new RestartPolicy(2);
    assert.equal(policy.decide(crash).action, 'restart');
    assert.deepEqual(policy.decide({ ...crash, exit: { code: null, signal: 'SIGKILL' }, stderrTail: '', producedSegment: true }), {
      action: 'restart',
      reason: 'ffmpeg killed by SIGKILL',
      delayMs: 250,
      attempt: 1,
    });
    assert.equal(policy.decide({ ...crash, livedMs: 10_000 }).action, 'restart');
    assert.equal(policy.decide(crash).action, 'fail');
  });

  it('gives up at once when ffmpeg is missing or cannot write; picks other ports after a lost bind', () => {
    const policy = new RestartPolicy();
    assert.deepEqual(policy.decide({ ...crash, exit: { code: null, signal: null, error: 'ffmpeg not found' } }), {
      action: 'fail',
      reason: 'ffmpeg not found',
    });
    assert.deepEqual(policy.decide({ ...crash, stderrTail: 'x\n[file @ 0x1] [error] No space left on device' }), {
      action: 'fail',
      reason: 'the disk is full',
    });
    assert.deepEqual(policy.decide({ ...crash, outputError: 'the file system is read-only' }), { action: 'fail', reason: 'the file system is read-only' });
    const bind = { ...crash, stderrTail: '[udp @ 0x5] bind failed: Address already in use' };
    for (let i = 0; i < 10; i++) assert.deepEqual(policy.decide(bind), { action: 'rebind' });
    assert.match((policy.decide(bind) as { reason: string }).reason, /could not bind its RTP ports 11 times/);
    policy.bound();
    assert.deepEqual(policy.decide(bind), { action: 'rebind' });
  });
});
