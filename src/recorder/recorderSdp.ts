// The SDP file ffmpeg reads to receive a recording's RTP: plain RTP (RTP/AVP) on
// 127.0.0.1, one m-line per kind, RTCP on port + 1 (RFC 3550 §11). Pure.
//
// The payload types are the recorder's own (the RtpRewriter writes them), not the
// publisher's: the file never changes when the publisher does.

export type RecorderVideoCodec = 'H264' | 'VP8';

/** Payload types the recorder writes into its RTP (any dynamic values would do). */
export const RECORDER_VIDEO_PT = 96;
export const RECORDER_AUDIO_PT = 111;

export interface RecorderSdpParams {
  video?: { codec: RecorderVideoCodec; port: number; payloadType?: number };
  audio?: { port: number; payloadType?: number };
  /** Session name (s=); defaults to "onecast recording". */
  name?: string;
}

function checkPort(port: number, what: string): void {
  // RTP on an even port, RTCP on the odd port above it (RFC 3550 §11): ffmpeg binds both.
  if (!Number.isInteger(port) || port <= 0 || port >= 65535 || port % 2 !== 0) {
    throw new RangeError(`${what} port must be an even number from 2 to 65534, got ${port}`);
  }
}

function checkPt(pt: number, what: string): void {
  if (!Number.isInteger(pt) || pt < 96 || pt > 127) throw new RangeError(`${what} payload type must be dynamic (96-127), got ${pt}`);
}

export function buildRecorderSdp(params: RecorderSdpParams): string {
  const { video, audio } = params;
  if (!video && !audio) throw new Error('a recording needs audio, video or both');
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', `s=${(params.name ?? 'onecast recording').replace(/[\r\n]/g, ' ')}`, 'c=IN IP4 127.0.0.1', 't=0 0'];
  if (video) {
    const pt = video.payloadType ?? RECORDER_VIDEO_PT;
    checkPort(video.port, 'video');
    checkPt(pt, 'video');
    lines.push(`m=video ${video.port} RTP/AVP ${pt}`);
    if (video.codec === 'H264') {
      lines.push(`a=rtpmap:${pt} H264/90000`, `a=fmtp:${pt} packetization-mode=1`);
    } else {
      lines.push(`a=rtpmap:${pt} VP8/90000`);
    }
    lines.push('a=recvonly');
  }
  if (audio) {
    const pt = audio.payloadType ?? RECORDER_AUDIO_PT;
    checkPort(audio.port, 'audio');
    checkPt(pt, 'audio');
    if (video && video.port === audio.port) throw new Error('audio and video need different ports');
    lines.push(`m=audio ${audio.port} RTP/AVP ${pt}`, `a=rtpmap:${pt} opus/48000/2`, 'a=recvonly');
  }
  return lines.join('\r\n') + '\r\n';
}
