// One ffmpeg run's stream, on a fake clock and with a stand-in for the ffmpeg process:
// the clock reports before any media (or the wait for them, bounded), the replay of the
// buffer at four times the original pace, then live packets at once; the keep-alive; and
// the keyframe asks while the run waits for a cut point.
import { strict as assert } from 'node:assert';
import type { HlsProcess } from '../../src/recorder/ffmpeg';
import { FfmpegRun, type RunContext } from '../../src/recorder/ffmpegRun';
import { PacketIntake } from '../../src/recorder/intake';
import type { MediaKind } from '../../src/rtp/mediaKind';
import { ReplayBuffer } from '../../src/recorder/replayBuffer';
import { silentLogger } from '../../src/log';
import { parseRtcp } from '../../src/rtp/rtcp';
import { readRtp } from '../../src/rtp/rtpPacket';
import type { Codec } from '../../src/sdp/types';
import { FakeClock } from '../support/fakeClock';

const H264: Codec = { payloadType: 102, name: 'H264', clockRate: 90000, fmtp: { 'packetization-mode': '1' }, rtcpFeedback: [] };
const OPUS: Codec = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: {}, rtcpFeedback: [] };
const PORTS = { video: 40000, audio: 40002 };
const NTP = 3_900_000_000n << 32n;

function rtp(ssrc: number, seq: number, ts: number): Buffer {
  const p = Buffer.alloc(12 + 20, 0xab);
  p[0] = 0x80;
  p[1] = 96;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(ts >>> 0, 4);
  p.writeUInt32BE(ssrc >>> 0, 8);
  return p;
}

const standIn: HlsProcess = {
  exited: new Promise(() => {}),
  pid: 4242,
  startNumber: 0,
  stop: async () => {},
  kill: () => {},
  stderrTail: () => '',
};

/** A publisher's media through the intake into the buffer, and a run over them, all on one fake clock. */
function setup(opts: { audio?: boolean } = {}) {
  const clock = new FakeClock();
  const sent: { port: number; packet: Buffer }[] = [];
  let keyframeRequests = 0;
  const intake = new PacketIntake({
    video: H264,
    ...(opts.audio === false ? {} : { audio: OPUS }),
    clock,
    requestKeyframe: () => keyframeRequests++,
    dropped: () => {},
  });
  let run: FfmpegRun | undefined;
  const buffer = new ReplayBuffer(() => (run?.ready ? run.position : undefined));
  const counters = { sent: 0, replayed: 0, senderReports: 0 };
  const ctx: RunContext = {
    clock,
    log: silentLogger,
    intake,
    buffer,
    send: (packet, port) => void sent.push({ port, packet }),
    counters,
    requestKeyframe: () => keyframeRequests++,
    isCurrent: (r) => r === run,
    isActive: () => true,
  };
  let frame = 0;
  let audioPacket = 0;
  /** `ms` of 30 fps video (a keyframe every second) and 50 pps audio, arriving in real time; each offered to the run, if any. */
  const publish = (ms: number): void => {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      const t = clock.now();
      const packets: [MediaKind, Buffer, boolean][] = [];
      if ((frame * 1000) / 30 <= t - start) packets.push(['video', rtp(0x1111, frame, frame * 3000), frame++ % 30 === 0]);
      if (opts.audio !== false && audioPacket * 20 <= t - start) packets.push(['audio', rtp(0x2222, audioPacket, audioPacket++ * 960), false]);
      for (const [kind, p, key] of packets) {
        const entry = intake.take(kind, p, readRtp(p)!, key);
        if (!entry) continue;
        const retained = buffer.add(entry);
        run?.offer(entry, retained);
      }
      clock.advance(1);
    }
  };
  const start = clock.now();
  const senderReports = (): void => {
    intake.takeSenderReport('video', { type: 'sr', ssrc: 0x1111, ntpTime: NTP, rtpTimestamp: 0, packetCount: 0, octetCount: 0, reports: [] });
    intake.takeSenderReport('audio', { type: 'sr', ssrc: 0x2222, ntpTime: NTP, rtpTimestamp: 0, packetCount: 0, octetCount: 0, reports: [] });
  };
  const newRun = (ports: Partial<Record<MediaKind, number>> = PORTS): FfmpegRun => {
    run = new FfmpegRun(ctx, ports, 0, () => standIn);
    return run;
  };
  const rtpSent = () => sent.filter((s) => s.port % 2 === 0);
  const rtcpSent = () => sent.filter((s) => s.port % 2 === 1).map((s) => ({ port: s.port, item: parseRtcp(s.packet)[0]! }));
  return { clock, intake, buffer, counters, sent, rtpSent, rtcpSent, publish, senderReports, newRun, keyframeRequests: () => keyframeRequests };
}

describe('one ffmpeg run of the recorder', () => {
  it('sends the clock reports before any media, replays the buffer at 4x its pace, then sends live packets at once', () => {
    const t = setup();
    t.publish(2000);
    t.senderReports();
    const buffered = t.buffer.length;
    assert.ok(buffered > 150, `${buffered} entries buffered`);
    const run = t.newRun();
    run.begin(undefined);
    const reports = t.rtcpSent().filter((r) => r.item.type === 'sr');
    assert.deepEqual(reports.map((r) => r.port).sort(), [40001, 40003], 'one SR per stream, on its RTCP port');
    assert.ok(t.sent.indexOf(t.sent.find((s) => s.port % 2 === 1)!) < t.sent.indexOf(t.rtpSent()[0]!), 'the reports go first');
    assert.equal(t.counters.senderReports, 2);
    // 2 s of buffered media at 4x: half of it after 250 ms, all of it after 500 ms.
    t.clock.advance(250);
    const half = t.rtpSent().length;
    assert.ok(half > buffered * 0.4 && half < buffered * 0.6, `${half} of ${buffered} sent after 250 ms`);
    t.clock.advance(260);
    assert.equal(t.rtpSent().length, buffered);
    assert.equal(t.counters.replayed, buffered);
    // Live: each new packet goes out as it comes.
    t.publish(100);
    assert.equal(t.rtpSent().length, t.buffer.length);
    assert.equal(t.counters.replayed, buffered, 'live packets are not replays');
    assert.equal(run.replayPackets, buffered);
  });

  it('holds the media for the Sender Reports, at most 5 s, then goes without them', () => {
    const t = setup();
    const run = t.newRun();
    run.begin(undefined);
    t.publish(4900);
    assert.equal(t.rtpSent().length, 0, 'no media before the clock reports');
    t.publish(200);
    assert.ok(t.rtpSent().length > 0, 'sent without reports after 5 s');
    assert.equal(t.counters.senderReports, 0);
    t.clock.advance(2000);
    assert.equal(t.rtpSent().length, t.buffer.length, 'caught up');
  });

  it('starts as soon as the last Sender Report comes', () => {
    const t = setup();
    const run = t.newRun();
    run.begin(undefined);
    t.publish(1000);
    assert.equal(t.rtpSent().length, 0);
    t.senderReports();
    run.senderReport();
    assert.equal(t.counters.senderReports, 2);
    t.clock.advance(300);
    assert.equal(t.rtpSent().length, t.buffer.length);
  });

  it('keeps ffmpeg’s input awake with an empty RR every second until it exits', () => {
    const t = setup({ audio: false });
    const run = t.newRun({ video: 40000 });
    run.begin(undefined);
    t.clock.advance(3000);
    const keepalives = t.rtcpSent().filter((r) => r.item.type === 'rr');
    assert.equal(keepalives.length, 3);
    assert.ok(keepalives.every((r) => r.port === 40001));
    assert.ok(
      t.sent.filter((s) => s.port === 40001).every((s) => s.packet.length === 8),
      '8 bytes: read and ignored by ffmpeg',
    );
    run.ended();
    t.clock.advance(3000);
    assert.equal(t.rtcpSent().length, 3);
  });

  it('waits for a keyframe, asking every 2 s, and starts the stream on it', () => {
    const t = setup({ audio: false });
    const run = t.newRun({ video: 40000 });
    run.begin(undefined);
    t.clock.advance(6000);
    assert.equal(t.keyframeRequests(), 3);
    t.publish(500);
    assert.equal(t.rtpSent().length, t.buffer.length, 'one stream: no clock to wait for');
    assert.ok(t.rtpSent().length > 10);
    t.clock.advance(6000);
    assert.equal(t.keyframeRequests(), 3, 'no more asks once the stream has started');
  });
});
