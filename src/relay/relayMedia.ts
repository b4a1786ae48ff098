// What a relay asks its upstream for, and what the upstream's answer says it will send: the
// recvonly offer's codecs (every H.264 profile and VP8 a publisher may send through onecast,
// Opus), and per answered section the codec and SSRCs the edge's room takes as its
// publisher's media, as if a WHIP publisher had offered them.
import { randomBytes } from 'node:crypto';
import type { MediaKind } from '../rtp/mediaKind';
import { ACCEPTED_FEEDBACK } from '../sdp/negotiate';
import { parseFmtp } from '../sdp/fmtp';
import type { NegotiatedMedia } from '../sdp/types';
import { buildOffer, OPUS, type OfferCodec, type ParsedAnswer } from './sdp';

const VIDEO_FEEDBACK = ['nack', 'nack pli', 'ccm fir', 'goog-remb'];

/** H.264 with packetization-mode 1 in the profiles publishers send (level asymmetry lets any level through), then VP8. */
const RELAY_VIDEO: readonly OfferCodec[] = [
  ...['42e01f', '42001f', '4d001f', '64001f'].map((profile, i): OfferCodec => ({
    payloadType: 102 + 2 * i,
    name: 'H264',
    fmtp: `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profile}`,
    rtcpFeedback: VIDEO_FEEDBACK,
  })),
  { payloadType: 96, name: 'VP8', fmtp: '', rtcpFeedback: VIDEO_FEEDBACK },
];

const KINDS: MediaKind[] = ['audio', 'video'];

/** The relay's WHEP offer for its ICE credentials and certificate. */
export function relayOffer(ice: { ufrag: string; pwd: string }, fingerprint: string): string {
  return buildOffer({
    role: 'play',
    kinds: KINDS,
    ufrag: ice.ufrag,
    pwd: ice.pwd,
    fingerprint,
    videoSsrc: 0,
    audioSsrc: 0,
    cname: randomBytes(6).toString('hex'),
    videoCodecs: RELAY_VIDEO,
  });
}

/**
 * The media the upstream will send, one entry per section it answered with a codec we
 * offered and at least one SSRC; throws when it sends nothing we can carry.
 */
export function relayedMedia(answer: ParsedAnswer): NegotiatedMedia[] {
  const media: NegotiatedMedia[] = [];
  for (const section of answer.sections) {
    const offered = (section.kind === 'audio' ? [OPUS] : RELAY_VIDEO).find((c) => c.payloadType === section.payloadType);
    if (offered === undefined || section.ssrcs.length === 0) continue;
    const rtcpFeedback = section.rtcpFeedback.filter((f) => ACCEPTED_FEEDBACK.includes(f) && offered.rtcpFeedback.includes(f));
    media.push({
      mid: section.mid,
      kind: section.kind,
      codec: {
        payloadType: offered.payloadType,
        name: offered.name,
        clockRate: offered.name === 'opus' ? 48_000 : 90_000,
        ...(offered.name === 'opus' ? { channels: 2 } : {}),
        fmtp: parseFmtp(offered.fmtp),
        rtcpFeedback,
      },
      extensions: [],
      rtcpFeedback,
      ssrcs: section.ssrcs,
    });
  }
  if (media.length === 0) throw new Error('the answer sends no audio or video in a codec the relay offered');
  return media;
}
