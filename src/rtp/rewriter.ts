// Rewrites a publisher's RTP packet into what one viewer negotiated: the viewer's
// SSRC and payload type, sequence numbers and timestamps that run on without a
// jump when the publisher changes (a new publisher, a new SSRC), and only the
// header extensions the viewer negotiated. Pure arithmetic on buffers.
import type { RtpView } from './rtpPacket';

/** The largest header writeHeader produces: 12 bytes plus a mid extension of up to 16 bytes. */
export const MAX_HEADER = 12 + 4 + 20;

export interface RewriterOptions {
  ssrc: number;
  payloadType: number;
  clockRate: number;
  /** One-byte header extension id for the mid (RFC 8843), if the viewer negotiated it. */
  midExtensionId?: number;
  mid: string;
}

/** The state of one source (publisher SSRC) as mapped onto the viewer's numbering. */
interface SourceMapping {
  ssrc: number;
  seqOffset: number;
  tsOffset: number;
  /** The first viewer sequence number this mapping produced: older ones belong to an earlier source. */
  firstViewerSeq: number;
}

export class RtpRewriter {
  private source: SourceMapping | undefined;
  /** The last sequence number and timestamp sent to the viewer, and when. */
  private lastSeq = -1;
  private lastTs = 0;
  private lastSentAt = 0;
  private highestSourceSeq = -1;
  private readonly extension: Buffer | undefined;
  packetsSent = 0;
  octetsSent = 0;

  constructor(private readonly options: RewriterOptions) {
    if (options.midExtensionId !== undefined) {
      if (Buffer.byteLength(options.mid) > 16) throw new Error('a mid longer than 16 bytes does not fit a one-byte header extension');
      // RFC 8285 one-byte form: 0xBEDE, length in words, [id|len-1][value], padded.
      const mid = Buffer.from(options.mid, 'utf8');
      const body = 1 + mid.length;
      const words = Math.ceil(body / 4);
      const ext = Buffer.alloc(4 + words * 4);
      ext.writeUInt16BE(0xbede, 0);
      ext.writeUInt16BE(words, 2);
      ext[4] = (options.midExtensionId << 4) | (mid.length - 1);
      mid.copy(ext, 5);
      this.extension = ext;
    }
  }

  get ssrc(): number {
    return this.options.ssrc;
  }

  /**
   * Maps a viewer's sequence number back to the current source's, for answering
   * NACKs; undefined for numbers this source never produced (sent under an
   * earlier publisher, or not sent yet).
   */
  toSourceSeq(viewerSeq: number): number | undefined {
    const source = this.source;
    if (source === undefined || this.lastSeq < 0) return undefined;
    const sinceFirst = (viewerSeq - source.firstViewerSeq) & 0xffff;
    const span = (this.lastSeq - source.firstViewerSeq) & 0xffff;
    if (sinceFirst > span) return undefined;
    return (viewerSeq - source.seqOffset) & 0xffff;
  }

  /** The viewer timestamp that a source timestamp maps to (for Sender Reports). */
  get timestampOffset(): number | undefined {
    return this.source?.tsOffset;
  }

  sourceSsrc(): number | undefined {
    return this.source?.ssrc;
  }

  /**
   * Writes the viewer's RTP header for the packet described by `view` into
   * `header` (at least MAX_HEADER bytes) and returns its length; the payload is the
   * publisher's, untouched. `now` is in ms; it sizes the timestamp gap when the
   * source changes.
   */
  writeHeader(view: RtpView, now: number, header: Buffer): number {
    let source = this.source;
    if (source === undefined || source.ssrc !== view.ssrc) {
      source = this.remap(view, now);
    }
    const seq = (view.sequenceNumber + source.seqOffset) & 0xffff;
    const ts = (view.timestamp + source.tsOffset) >>> 0;
    const ext = this.extension;
    header[0] = 0x80 | (ext !== undefined ? 0x10 : 0);
    header[1] = (view.marker ? 0x80 : 0) | this.options.payloadType;
    header.writeUInt16BE(seq, 2);
    header.writeUInt32BE(ts, 4);
    header.writeUInt32BE(this.options.ssrc, 8);
    if (ext !== undefined) ext.copy(header, 12);
    // Retransmissions and reordered packets must not move the "last sent" marks back.
    const forward = this.highestSourceSeq < 0 || ((view.sequenceNumber - this.highestSourceSeq) & 0xffff) < 0x8000;
    if (forward) {
      this.highestSourceSeq = view.sequenceNumber;
      this.lastSeq = seq;
      this.lastTs = ts;
      this.lastSentAt = now;
    }
    this.packetsSent++;
    this.octetsSent += view.payloadLength;
    return 12 + (ext?.length ?? 0);
  }

  /** A new source: continue the viewer's numbering from where it stopped. */
  private remap(view: RtpView, now: number): SourceMapping {
    let seqOffset: number;
    let tsOffset: number;
    if (this.lastSeq < 0) {
      // First source: start from its own numbering (offset 0) — nothing to continue.
      seqOffset = 0;
      tsOffset = 0;
    } else {
      const nextSeq = (this.lastSeq + 1) & 0xffff;
      seqOffset = (nextSeq - view.sequenceNumber) & 0xffff;
      // Advance the timestamp by the wall-clock time that passed, so the viewer's
      // jitter buffer sees a pause rather than time running backwards.
      const elapsed = Math.max(1, Math.round(((now - this.lastSentAt) * this.options.clockRate) / 1000));
      tsOffset = (this.lastTs + elapsed - view.timestamp) >>> 0;
    }
    this.source = { ssrc: view.ssrc, seqOffset, tsOffset, firstViewerSeq: (view.sequenceNumber + seqOffset) & 0xffff };
    this.highestSourceSeq = -1;
    return this.source;
  }
}
