// What a peer connection's getStats() says about its media, reduced to the figures the
// pages show: bitrate (from the byte counters between two samples), video size and
// frame rate, packets lost.

export interface MediaFigures {
  /** Bits per second since the previous sample; null on the first. */
  bitrate: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  /** Inbound only: packets lost, audio and video together (RTCP's cumulative count). */
  packetsLost: number;
}

/** The fields read here; they are spread over RTCInboundRtpStreamStats / RTCOutboundRtpStreamStats. */
interface RtpStreamStats {
  type: string;
  kind?: string;
  timestamp: number;
  bytesSent?: number;
  bytesReceived?: number;
  packetsLost?: number;
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
}

/** Samples one direction of a peer connection's RTP; keep one per connection. */
export class MediaMeter {
  private last: { bytes: number; at: number } | null = null;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly direction: 'inbound' | 'outbound',
  ) {}

  async sample(): Promise<MediaFigures> {
    const report = await this.pc.getStats();
    const type = `${this.direction}-rtp`;
    const figures: MediaFigures = { bitrate: null, width: null, height: null, fps: null, packetsLost: 0 };
    let bytes = 0;
    let at = 0;
    report.forEach((s: RtpStreamStats) => {
      if (s.type !== type) return;
      bytes += (this.direction === 'inbound' ? s.bytesReceived : s.bytesSent) ?? 0;
      figures.packetsLost += s.packetsLost ?? 0;
      at = Math.max(at, s.timestamp);
      // Simulcast would give several outbound video streams; the pages send one.
      if (s.kind === 'video') {
        figures.width = s.frameWidth ?? figures.width;
        figures.height = s.frameHeight ?? figures.height;
        figures.fps = s.framesPerSecond ?? figures.fps;
      }
    });
    if (this.last !== null && at > this.last.at) figures.bitrate = ((bytes - this.last.bytes) * 8 * 1000) / (at - this.last.at);
    this.last = { bytes, at };
    return figures;
  }
}
