import assert from 'node:assert/strict';
import { RtpHeader, RtpPacket } from 'werift';
import { MAX_HEADER, RtpRewriter } from '../../src/rtp/rewriter';
import { readHeaderExtension, readRtp } from '../../src/rtp/rtpPacket';

function source(seq: number, ts: number, ssrc = 0xaaaa0001, opts: Partial<RtpHeader> = {}): Buffer {
  return new RtpPacket(
    new RtpHeader({ payloadType: 96, sequenceNumber: seq, timestamp: ts, ssrc, marker: seq % 2 === 0, ...opts }),
    Buffer.from([0x65, seq & 0xff, 7]),
  ).serialize();
}

/** The viewer's packet: the rewritten header, then the publisher's payload. */
function through(r: RtpRewriter, packet: Buffer, now: number) {
  const view = readRtp(packet)!;
  const header = Buffer.alloc(MAX_HEADER);
  const length = r.writeHeader(view, now, header);
  const out = Buffer.concat([header.subarray(0, length), packet.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength)]);
  return { out, view: readRtp(out)! };
}

describe('RTP rewriter (per viewer, per track)', () => {
  it("sets the viewer's SSRC and payload type and keeps payload and marker", () => {
    const r = new RtpRewriter({ ssrc: 0x12345678, payloadType: 102, clockRate: 90000, mid: '1' });
    const { out, view } = through(r, source(10, 1000), 0);
    assert.equal(view.ssrc, 0x12345678);
    assert.equal(view.payloadType, 102);
    assert.equal(view.marker, true);
    assert.equal(view.extensionOffset, -1);
    assert.deepEqual([...out.subarray(view.payloadOffset)], [0x65, 10, 7]);
  });

  it('drops header extensions the viewer did not negotiate and writes the mid it did', () => {
    const withExt = source(1, 0, 0xaaaa0001, {
      extension: true,
      extensionProfile: 0xbede,
      extensions: [{ id: 5, payload: Buffer.from([1, 2, 3]) }],
    });
    const plain = new RtpRewriter({ ssrc: 1, payloadType: 96, clockRate: 90000, mid: '1' });
    assert.equal(through(plain, withExt, 0).view.extensionOffset, -1);
    const mid = new RtpRewriter({ ssrc: 1, payloadType: 96, clockRate: 90000, mid: 'video', midExtensionId: 9 });
    const { out, view } = through(mid, withExt, 0);
    assert.equal(Buffer.from(readHeaderExtension(out, view, 9)!).toString(), 'video');
    assert.equal(readHeaderExtension(out, view, 5), undefined);
    assert.deepEqual([...out.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength)], [0x65, 1, 7]);
  });

  it('keeps sequence numbers and timestamps continuous across a change of publisher', () => {
    const r = new RtpRewriter({ ssrc: 7, payloadType: 96, clockRate: 90000, mid: '1' });
    through(r, source(65534, 4294967000), 0);
    const last = through(r, source(65535, (4294967000 + 3000) >>> 0), 33).view;
    assert.equal(last.sequenceNumber, 65535);
    // The publisher leaves; 2 s later another one starts with its own numbering.
    const next = through(r, source(500, 123456, 0xbbbb0002), 2033).view;
    assert.equal(next.sequenceNumber, 0, 'the sequence continues 65535 → 0');
    const expectedTs = (4294967000 + 3000 + 2000 * 90) >>> 0;
    assert.equal(next.timestamp, expectedTs, 'the timestamp advances by the 2 s that passed');
    const after = through(r, source(501, 123456 + 3000, 0xbbbb0002), 2066).view;
    assert.equal(after.sequenceNumber, 1);
    assert.equal(after.timestamp, (expectedTs + 3000) >>> 0);
  });

  it('maps viewer sequence numbers back to the source for NACKs, and resends do not rewind', () => {
    const r = new RtpRewriter({ ssrc: 7, payloadType: 96, clockRate: 90000, mid: '1' });
    through(r, source(100, 0), 0);
    through(r, source(101, 0), 0);
    through(r, source(200, 0, 0xbbbb0002), 1000); // new source → viewer seq 102
    assert.equal(r.toSourceSeq(102), 200);
    const resend = through(r, source(199, 0, 0xbbbb0002), 1001).view;
    assert.equal(resend.sequenceNumber, 101 & 0xffff);
    const next = through(r, source(201, 0, 0xbbbb0002), 1002).view;
    assert.equal(next.sequenceNumber, 103);
  });
});
