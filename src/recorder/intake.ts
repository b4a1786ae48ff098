// Packet intake: turns the publisher's packets, as the SFU hands them over, into the
// stream ffmpeg gets. Each stream gets the recorder's own SSRC, payload type and
// numbering (continuous across changes of publisher, renumbered around the packets left
// out, so ffmpeg sees no hole it would wait for); the stream starts on a video keyframe
// (audio before it is left out, so the recording starts aligned), and video waits for a
// keyframe again when the publisher changes. Also keeps keyframes coming about every 2 s
// (segments can only be cut at one), and each stream's last Sender Report for the clock
// sync. Never asks the network or the disk anything.
import { randomInt } from 'node:crypto';
import type { MediaKind } from '../rtp/mediaKind';
import { MAX_HEADER, RtpRewriter } from '../rtp/rewriter';
import type { RtpView } from '../rtp/rtpPacket';
import type { Codec } from '../sdp/types';
import type { Clock } from './clock';
import type { BufferEntry, SenderReport } from './recordedMedia';
import { RECORDER_AUDIO_PT, RECORDER_VIDEO_PT } from './recorderSdp';
import { SequenceGaps } from './sequenceGaps';

/** Segments are ~2 s: ask for a keyframe when this long has passed without one. */
const KEYFRAME_EVERY_MS = 2_000;

export interface RecordedStream {
  kind: MediaKind;
  codec: Codec;
  rewriter: RtpRewriter;
  sourceSsrc: number | undefined;
  /** The current source's sequence numbers, renumbered around the packets left out. */
  gaps: SequenceGaps;
  /** The publisher's last Sender Report (its NTP/RTP mapping holds for earlier packets too). */
  lastSr: SenderReport | undefined;
}

export interface IntakeOptions {
  video?: Codec | undefined;
  audio?: Codec | undefined;
  clock: Clock;
  /** Asks the publisher for a keyframe. */
  requestKeyframe(): void;
  /** A packet was left out (padding, waiting for a keyframe). */
  dropped(): void;
}

export class PacketIntake {
  readonly streams: Partial<Record<MediaKind, RecordedStream>> = {};
  /** The stream that times the recording and where it may start: video if there is video. */
  readonly anchor: MediaKind;
  private readonly scratch = Buffer.alloc(MAX_HEADER);
  /** The first cut point has gone into the stream. */
  private streamStarted = false;
  /** Video waits for a keyframe (start, change of publisher). */
  private videoNeedsKeyframe: boolean;
  /** The publisher timestamp of the last keyframe packet seen. */
  private lastKeyframeTs: number | undefined;
  /** When the last keyframe arrived, and when we last asked for one (ms). */
  private lastKeyframeAt = 0;
  private lastKeyframeAsk = 0;

  constructor(private readonly opts: IntakeOptions) {
    const stream = (kind: MediaKind, codec: Codec, pt: number): RecordedStream => ({
      kind,
      codec,
      sourceSsrc: undefined,
      gaps: new SequenceGaps(),
      lastSr: undefined,
      rewriter: new RtpRewriter({ ssrc: randomInt(1, 0xffffffff), payloadType: pt, clockRate: codec.clockRate, mid: '' }),
    });
    if (opts.video) this.streams.video = stream('video', opts.video, RECORDER_VIDEO_PT);
    if (opts.audio) this.streams.audio = stream('audio', opts.audio, RECORDER_AUDIO_PT);
    this.anchor = opts.video ? 'video' : 'audio';
    this.videoNeedsKeyframe = opts.video !== undefined;
  }

  /** The streams recorded, video first. */
  get streamList(): RecordedStream[] {
    return (['video', 'audio'] as const).flatMap((k) => (this.streams[k] ? [this.streams[k]] : []));
  }

  /** The packet rewritten for ffmpeg, or undefined when it is left out. */
  take(kind: MediaKind, packet: Buffer, view: RtpView, keyframeStart: boolean): BufferEntry | undefined {
    const stream = this.streams[kind];
    if (!stream) return undefined;
    if (stream.sourceSsrc !== view.ssrc) {
      // A new publisher (or the first): its video is undecodable until its first keyframe.
      if (stream.sourceSsrc !== undefined && kind === 'video') this.videoNeedsKeyframe = true;
      stream.sourceSsrc = view.ssrc;
      stream.gaps = new SequenceGaps();
    }
    // Padding-only packets (Chromium's bandwidth probes on the media SSRC) carry no
    // media; ffmpeg's depacketizer logs each as an "Empty H.264 RTP packet" error.
    if (view.payloadLength === 0) {
      stream.gaps.skip(view.sequenceNumber);
      return this.drop();
    }
    // A cut point is the FIRST packet of a keyframe: the SFU flags the SPS, a STAP-A
    // holding it and the IDR's first fragment alike, and a stream must start at the first.
    const cut = kind === this.anchor && (kind === 'audio' || (keyframeStart && view.timestamp !== this.lastKeyframeTs));
    if (kind === 'video' && keyframeStart) this.lastKeyframeTs = view.timestamp;
    if (kind === 'video') this.keepKeyframesComing(keyframeStart);
    if (kind === 'video' && this.videoNeedsKeyframe) {
      if (!keyframeStart) return this.drop();
      this.videoNeedsKeyframe = false;
    }
    if (!this.streamStarted) {
      if (!cut) return this.drop();
      this.streamStarted = true;
    }
    const now = this.opts.clock.now();
    const numbered: RtpView = { ...view, sequenceNumber: stream.gaps.renumber(view.sequenceNumber) };
    const headerLength = stream.rewriter.writeHeader(numbered, now, this.scratch);
    const out = Buffer.allocUnsafe(headerLength + view.payloadLength);
    this.scratch.copy(out, 0, 0, headerLength);
    packet.copy(out, headerLength, view.payloadOffset, view.payloadOffset + view.payloadLength);
    return { kind, packet: out, ts: out.readUInt32BE(4), at: now, cut };
  }

  /** Keeps the publisher's last Sender Report for `kind`; false when `kind` is not recorded. */
  takeSenderReport(kind: MediaKind, sr: SenderReport): boolean {
    const stream = this.streams[kind];
    if (!stream) return false;
    stream.lastSr = sr;
    return true;
  }

  private drop(): undefined {
    this.opts.dropped();
    return undefined;
  }

  /**
   * With H.264 copied, HLS can only cut a segment at a keyframe. OBS sends one every
   * keyframe interval; Chromium only when asked. Asking whenever ~2 s pass without
   * one keeps segments near HLS_SEGMENT_SECONDS for every publisher.
   */
  private keepKeyframesComing(keyframeStart: boolean): void {
    const now = this.opts.clock.now();
    if (keyframeStart) {
      this.lastKeyframeAt = now;
      return;
    }
    if (now - this.lastKeyframeAt >= KEYFRAME_EVERY_MS && now - this.lastKeyframeAsk >= KEYFRAME_EVERY_MS / 2) {
      this.lastKeyframeAsk = now;
      this.opts.requestKeyframe();
    }
  }
}
