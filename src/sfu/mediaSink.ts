// What a room's media goes to besides its viewers: a consumer that sees every packet
// and sender report of the current publisher, such as a recording. The room does not
// know what the sink does with them, nor who decides that there is one: whoever adds a
// sink removes and closes it (the recordings service, when the publisher leaves).
import type { RtpView } from '../rtp/rtpPacket';
import type { MediaKind } from '../rtp/mediaKind';
import type { SenderReport } from './publishedTrack';

export interface MediaSink {
  /** One RTP packet of the publisher's `kind` track, as decrypted; `keyframe`: it begins one. */
  onPacket(kind: MediaKind, packet: Buffer, view: RtpView, keyframe: boolean): void;
  onSenderReport(kind: MediaKind, report: SenderReport): void;
}
