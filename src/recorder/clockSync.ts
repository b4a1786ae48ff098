// Clock sync: how ffmpeg learns that the audio and video it gets belong together. The
// publisher's Sender Reports tie each stream to its wall clock; from them the recorder
// gives ffmpeg one instant, named by every stream, in Sender Reports sent before any
// media (and none later), and fills the gap between a run's first keyframe and its first
// audio with Opus silence. Pure: the packets to send are returned, not sent.
import type { MediaKind } from '../rtp/mediaKind';
import { buildSr } from '../rtp/rtcp';
import type { RecordedStream } from './intake';
import { ntpAt, ntpSeconds, rtpAt, type MediaClock } from './mediaClock';
import type { BufferEntry } from './recordedMedia';

/** The instant the clock reports name lies this far before the run's first keyframe: no packet's time comes out negative. */
const CLOCK_LEAD_S = 1;
/** One 20 ms Opus frame of silence (CELT, fullband, mono; decoders upmix it). */
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);
const OPUS_FRAME_TICKS = 960;
/** Lead-in silence is never longer than this many Opus frames. */
const MAX_LEAD_IN_FRAMES = 10;

export type MediaClocks = Map<MediaKind, MediaClock>;

/**
 * Every stream's wall clock, from the publisher's last Sender Reports mapped onto the
 * recorder's timestamps; undefined while a stream has no report (or no packet) yet.
 */
export function mediaClocks(streams: readonly RecordedStream[]): MediaClocks | undefined {
  const clocks: MediaClocks = new Map();
  for (const stream of streams) {
    const sr = stream.lastSr;
    const offset = stream.rewriter.timestampOffset;
    // An SR of an earlier publisher says nothing about this one's timestamps.
    if (!sr || offset === undefined || stream.rewriter.sourceSsrc() !== sr.ssrc) return undefined;
    clocks.set(stream.kind, { ntpTime: sr.ntpTime, rtpTimestamp: (sr.rtpTimestamp + offset) >>> 0, clockRate: stream.codec.clockRate });
  }
  return clocks;
}

/**
 * The Sender Reports that set ffmpeg's clock for a run starting at `first`: one per
 * stream, all naming the same instant, CLOCK_LEAD_S before it, each with the RTP timestamp
 * its stream has then. ffmpeg's RTP demuxer times every stream from its first SR on,
 * relative to the first SR it read; a stream that gets its SR only after its first
 * packets is timed from its own first packet until then, and jumps when it comes. Chromium
 * sends its first audio SR ~2.5 s in: the audio went ~0.3 s back in time mid-recording
 * ("Queue input is backward in time", "Non-monotonous DTS"). So the reports go before any
 * media, and none later: one fixed mapping keeps every stream's timestamps strictly
 * monotonic. Sent to each stream's RTCP port.
 */
export function clockReports(streams: readonly RecordedStream[], clocks: MediaClocks, first: BufferEntry): { kind: MediaKind; packet: Buffer }[] {
  const instant = ntpAt(clocks.get(first.kind)!, first.ts) - ntpSeconds(CLOCK_LEAD_S);
  return streams.map((stream) => ({
    kind: stream.kind,
    packet: buildSr({
      ssrc: stream.rewriter.ssrc,
      ntpTime: instant,
      rtpTimestamp: rtpAt(clocks.get(stream.kind)!, instant),
      packetCount: stream.rewriter.packetsSent,
      octetCount: stream.rewriter.octetsSent,
    }),
  }));
}

/**
 * ffmpeg 5.1's H.264 parser hands out a stream's first access unit without a timestamp,
 * and ffmpeg stamps it with the input's start instead: the earliest first timestamp of
 * the other streams, usually the first audio packet, a few ms AFTER the keyframe (the
 * recording's first two frames came out 13.6 ms apart, and ffmpeg's own decoder
 * complained). Opus silence ahead of the run's first audio packet, back to the keyframe's
 * instant, makes the input start there: the keyframe lands at most one 20 ms frame early.
 * Returns the silence packets, in order, for the audio RTP port.
 */
export function leadInSilence(clocks: MediaClocks, keyframe: BufferEntry, audio: BufferEntry): Buffer[] {
  const late = ntpAt(clocks.get('audio')!, audio.ts) - ntpAt(clocks.get('video')!, keyframe.ts);
  const frames = Math.min(MAX_LEAD_IN_FRAMES, Math.ceil(Number(late) / Number(ntpSeconds(OPUS_FRAME_TICKS / 48000))));
  const seq = audio.packet.readUInt16BE(2);
  const out: Buffer[] = [];
  for (let k = frames; k >= 1; k--) {
    const packet = Buffer.concat([audio.packet.subarray(0, 12), OPUS_SILENCE]);
    packet[0] = 0x80; // no extension, no padding: the recorder's header is the bare 12 bytes
    packet[1] &= 0x7f;
    packet.writeUInt16BE((seq - k) & 0xffff, 2);
    packet.writeUInt32BE((audio.ts - k * OPUS_FRAME_TICKS) >>> 0, 4);
    out.push(packet);
  }
  return out;
}
