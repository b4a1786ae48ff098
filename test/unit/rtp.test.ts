import assert from 'node:assert/strict';
import { RtpHeader, RtpPacket } from 'werift';
import { readHeaderExtension, readRtp } from '../../src/rtp/rtpPacket';
import { h264StartsKeyframe, vp8StartsKeyframe } from '../../src/rtp/keyframe';

function rtp(props: Partial<RtpHeader>, payload: Buffer): Buffer {
  return new RtpPacket(new RtpHeader(props), payload).serialize();
}

describe('RTP header view', () => {
  it('reads the fields without copying', () => {
    const packet = rtp({ payloadType: 96, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, marker: true }, Buffer.from([1, 2, 3]));
    const v = readRtp(packet)!;
    assert.equal(v.payloadType, 96);
    assert.equal(v.sequenceNumber, 65535);
    assert.equal(v.timestamp, 0xfffffff0);
    assert.equal(v.ssrc, 0xdeadbeef);
    assert.equal(v.marker, true);
    assert.deepEqual([...packet.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength)], [1, 2, 3]);
  });

  it('finds one-byte header extensions (the mid) and skips CSRCs and padding', () => {
    const packet = rtp(
      {
        payloadType: 111,
        csrc: [1, 2],
        extension: true,
        extensionProfile: 0xbede,
        extensions: [
          { id: 3, payload: Buffer.from([0xaa, 0xbb]) },
          { id: 4, payload: Buffer.from('1') },
        ],
      },
      Buffer.from([9, 9]),
    );
    const v = readRtp(packet)!;
    assert.equal(Buffer.from(readHeaderExtension(packet, v, 4)!).toString(), '1');
    assert.deepEqual([...readHeaderExtension(packet, v, 3)!], [0xaa, 0xbb]);
    assert.equal(readHeaderExtension(packet, v, 5), undefined);
    assert.equal(v.payloadLength, 2);
  });

  it('refuses short or inconsistent packets', () => {
    assert.equal(readRtp(Buffer.alloc(11)), undefined);
    assert.equal(readRtp(Buffer.from([0x40, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), undefined); // version 1
    const p = rtp({ payloadType: 96 }, Buffer.from([1]));
    p[0]! |= 0x0f; // 15 CSRCs that are not there
    assert.equal(readRtp(p), undefined);
  });
});

describe('keyframe detection', () => {
  it('H.264: IDR, SPS, STAP-A with SPS, FU-A start of IDR', () => {
    assert.equal(h264StartsKeyframe(Buffer.from([0x65, 0x88])), true); // IDR
    assert.equal(h264StartsKeyframe(Buffer.from([0x67, 0x64])), true); // SPS alone (OBS)
    assert.equal(h264StartsKeyframe(Buffer.from([0x68])), false); // PPS
    assert.equal(h264StartsKeyframe(Buffer.from([0x41, 0x9a])), false); // non-IDR slice
    assert.equal(h264StartsKeyframe(Buffer.from([0x78, 0x00, 0x02, 0x67, 0x64, 0x00, 0x01, 0x68])), true); // STAP-A
    assert.equal(h264StartsKeyframe(Buffer.from([0x7c, 0x85, 0x00])), true); // FU-A start, IDR
    assert.equal(h264StartsKeyframe(Buffer.from([0x7c, 0x05, 0x00])), false); // FU-A middle
    assert.equal(h264StartsKeyframe(Buffer.from([0x7c, 0x81, 0x00])), false); // FU-A start, P slice
  });

  it('VP8: start of partition 0 with P bit clear', () => {
    assert.equal(vp8StartsKeyframe(Buffer.from([0x10, 0x00])), true);
    assert.equal(vp8StartsKeyframe(Buffer.from([0x10, 0x01])), false); // interframe
    assert.equal(vp8StartsKeyframe(Buffer.from([0x00, 0x00])), false); // not a start
    // X bit, I bit with 15-bit picture id: 0x90 0x80 0x81 0x23 then payload header
    assert.equal(vp8StartsKeyframe(Buffer.from([0x90, 0x80, 0x81, 0x23, 0x00])), true);
    assert.equal(vp8StartsKeyframe(Buffer.from([0x90, 0x80, 0x81, 0x23, 0x01])), false);
  });
});
