// The depacketizers on packets ffmpeg's own RTP packetizer made (test/fixtures/rtp, made by
// test/tools/captureRtpFixtures.ts): what comes out is the elementary stream ffmpeg's
// encoder wrote, NAL unit for NAL unit and frame for frame.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { elementaryStream, canDepacketize } from '../../src/rtp/depacketize/elementaryStream';
import { wholeFrames, type PayloadPacket } from '../../src/rtp/depacketize/frames';
import { h264AccessUnit } from '../../src/rtp/depacketize/h264';
import { vp8Frame, vp8KeyframeSize } from '../../src/rtp/depacketize/vp8';
import { readRtp } from '../../src/rtp/rtpPacket';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'rtp');

/** A capture's packets: each after its length in 2 bytes. */
function capturedPackets(name: string): PayloadPacket[] {
  const file = readFileSync(path.join(FIXTURES, name));
  const packets: PayloadPacket[] = [];
  for (let p = 0; p < file.length;) {
    const length = file.readUInt16BE(p);
    const packet = file.subarray(p + 2, p + 2 + length);
    const view = readRtp(packet)!;
    packets.push({ ...view, payload: packet.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength) });
    p += 2 + length;
  }
  return packets;
}

/** The NAL units of an Annex B stream (3- or 4-byte start codes), without them. */
function nalUnits(stream: Buffer): Buffer[] {
  const starts: Array<{ at: number; length: number }> = [];
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      const four = i > 0 && stream[i - 1] === 0;
      starts.push({ at: four ? i - 1 : i, length: four ? 4 : 3 });
      i += 2;
    }
  }
  return starts.map((s, k) => stream.subarray(s.at + s.length, k + 1 < starts.length ? starts[k + 1]!.at : stream.length));
}

/** The frames of an IVF file. */
function ivfFrames(file: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let p = file.readUInt16LE(6); p < file.length;) {
    const size = file.readUInt32LE(p);
    frames.push(file.subarray(p + 12, p + 12 + size));
    p += 12 + size;
  }
  return frames;
}

function packet(sequenceNumber: number, timestamp: number, marker: boolean, payload: number[]): PayloadPacket {
  return { sequenceNumber, timestamp, marker, payload: Uint8Array.from(payload) };
}

describe('depacketizers', () => {
  describe('H.264 (RFC 6184)', () => {
    const packets = capturedPackets('h264.rtp');
    const encoded = readFileSync(path.join(FIXTURES, 'h264.h264'));

    it("gives back the encoder's NAL units from ffmpeg's single NAL, STAP-A and FU-A packets", () => {
      const types = new Set(packets.map((p) => p.payload[0]! & 0x1f));
      assert.ok(types.has(24) && types.has(28) && types.has(1), `the capture has single NAL units, STAP-A and FU-A (types ${[...types].join(', ')})`);
      const stream = elementaryStream('H264', packets)!;
      assert.equal(stream.format, 'h264');
      assert.equal(stream.frames, 8);
      assert.deepEqual(nalUnits(stream.data), nalUnits(encoded));
    });

    it('starts a frame with the parameter sets and the IDR slice', () => {
      const first = wholeFrames(packets, h264AccessUnit)[0]!;
      assert.deepEqual(
        nalUnits(first.data).map((n) => n[0]! & 0x1f),
        [7, 8, 6, 5],
      );
    });

    it('stops before the first frame with a packet missing, and at a frame whose last packet has not come', () => {
      const missing = packets.findIndex((p, i) => i > 0 && p.payload[0] === packets[i - 1]!.payload[0] && (p.payload[1]! & 0xc0) === 0);
      const withGap = packets.filter((_, i) => i !== missing);
      const framesBefore = new Set(packets.slice(0, missing).map((p) => p.timestamp)).size - 1;
      assert.equal(elementaryStream('H264', withGap)?.frames ?? 0, framesBefore);
      const unfinished = packets.slice(
        0,
        packets.findIndex((p) => p.marker),
      );
      assert.equal(elementaryStream('H264', unfinished), undefined);
    });

    it('refuses an FU-A without its start or its end, an overrunning STAP-A, and mode 2 payloads', () => {
      assert.equal(h264AccessUnit([Uint8Array.of(0x7c, 0x05, 1, 2)]), undefined, 'a middle fragment alone');
      assert.equal(h264AccessUnit([Uint8Array.of(0x7c, 0x85, 1, 2)]), undefined, 'a start that never ends');
      assert.equal(h264AccessUnit([Uint8Array.of(0x78, 0x00, 9, 0x67)]), undefined, 'a STAP-A size past its end');
      assert.equal(h264AccessUnit([Uint8Array.of(0x79, 0, 0)]), undefined, 'STAP-B');
      assert.deepEqual(h264AccessUnit([Uint8Array.of(0x7c, 0x85, 1), Uint8Array.of(0x7c, 0x45, 2)]), Buffer.from([0, 0, 0, 1, 0x65, 1, 2]));
    });
  });

  describe('VP8 (RFC 7741)', () => {
    const packets = capturedPackets('vp8.rtp');
    const encoded = readFileSync(path.join(FIXTURES, 'vp8.ivf'));

    it("gives back the encoder's frames, in IVF with the keyframe's size", () => {
      assert.ok(
        packets.some((p) => (p.payload[0]! & 0x10) === 0),
        'the capture has continuation packets',
      );
      const frames = wholeFrames(packets, vp8Frame);
      assert.deepEqual(
        frames.map((f) => f.data),
        ivfFrames(encoded),
      );
      const stream = elementaryStream('VP8', packets)!;
      assert.equal(stream.format, 'ivf');
      assert.equal(stream.data.subarray(0, 4).toString('latin1'), 'DKIF');
      assert.deepEqual([stream.data.readUInt16LE(12), stream.data.readUInt16LE(14)], [320, 240]);
      assert.deepEqual(ivfFrames(stream.data), ivfFrames(encoded));
      assert.equal(stream.frames, 8, 'every frame is shown');
    });

    it('reads every descriptor field (15-bit PictureID, TL0PICIDX, TID/KEYIDX) and refuses a frame that does not start partition 0', () => {
      const keyframe = [0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];
      assert.deepEqual(vp8Frame([Uint8Array.of(0x90, 0xf0, 0x81, 0x23, 0x07, 0x40, ...keyframe)]), Buffer.from(keyframe));
      assert.deepEqual(vp8KeyframeSize(Buffer.from(keyframe)), { width: 320, height: 240 });
      assert.equal(vp8Frame([Uint8Array.of(0x00, ...keyframe)]), undefined, 'no S bit');
      assert.equal(vp8Frame([Uint8Array.of(0x10, ...keyframe), Uint8Array.of(0x10, 1, 2, 3)]), undefined, 'a second start');
      assert.equal(vp8Frame([Uint8Array.of(0x90, 0x80)]), undefined, 'a PictureID past the end');
    });

    it('makes no stream that does not begin with a keyframe', () => {
      const interframes = packets.filter((p) => p.timestamp !== packets[0]!.timestamp);
      assert.equal(elementaryStream('VP8', interframes), undefined);
    });
  });

  it('knows the codecs it can depacketize, and no others', () => {
    assert.ok(canDepacketize('H264') && canDepacketize('VP8'));
    assert.equal(canDepacketize('AV1'), false);
    assert.equal(elementaryStream('AV1', [packet(1, 0, true, [0])]), undefined);
  });

  it('takes sequence numbers across their wrap', () => {
    const single = (seq: number, ts: number) => packet(seq, ts, true, [0x41, seq & 0xff]);
    assert.equal(elementaryStream('H264', [single(0xfffe, 0), single(0xffff, 3000), single(0, 6000)])!.frames, 3);
  });
});
