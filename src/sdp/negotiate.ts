// Publish role: what onecast answers for each live section of a parsed offer: the codec it will
// receive, the header extensions and RTCP feedback it accepts. Kept apart from parsing (offer.ts):
// parsing says whether the offer is acceptable SDP at all, this says what onecast carries of it.
import { EXTENSION_URI, OfferError, type HeaderExtension, type NegotiatedMedia, type OfferedMedia, type ParsedOffer, type Role } from './types';
import type { MediaKind } from '../rtp/mediaKind';

/** Header extensions onecast answers (with the offer's ids) when offered. */
export const ACCEPTED_EXTENSIONS: readonly string[] = [EXTENSION_URI.mid, EXTENSION_URI.absSendTime, EXTENSION_URI.transportCc, EXTENSION_URI.audioLevel];

/** RTCP feedback onecast answers when offered for the chosen codec. */
export const ACCEPTED_FEEDBACK: readonly string[] = ['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc'];

// Codecs that are not media formats of their own: left out of "the section offers ..." messages.
export const NOT_MEDIA_CODECS: ReadonlySet<string> = new Set(['rtx', 'red', 'ulpfec', 'flexfec', 'flexfec-03', 'cn', 'telephone-event']);

const ACCEPTS: Record<MediaKind, string> = {
  audio: 'opus',
  video: 'H264 (packetization-mode=1), VP8',
};

function noCodecMessage(m: OfferedMedia): string {
  let names = m.offeredCodecNames.filter((n) => !NOT_MEDIA_CODECS.has(n.toLowerCase()));
  if (names.length === 0) names = m.offeredCodecNames;
  const listed = names.map((n) => (n.toLowerCase() === 'h264' ? `${n} (packetization-mode=0 only)` : n));
  const offers = listed.length > 0 ? listed.join(', ') : 'no codec';
  return `The ${m.kind} section offers ${offers}; onecast accepts ${ACCEPTS[m.kind]}.`;
}

/**
 * Publish role: for every live section of a parsed offer, the codec onecast will receive (the first
 * usable one in the offer's order), the accepted header extensions and RTCP feedback. Sections the
 * offerer disabled (port 0 without bundle-only) get no entry. Throws OfferError (unacceptable) when a live
 * section offers no usable codec.
 */
export function negotiate(offer: ParsedOffer, role: Role): NegotiatedMedia[] {
  if (role !== 'publish') {
    throw new Error("negotiate() handles the publish role; a play offer is matched against the publisher's codecs.");
  }
  const out: NegotiatedMedia[] = [];
  for (const m of offer.media) {
    if (m.disabled) continue;
    const codec = m.codecs[0];
    if (!codec) throw new OfferError('unacceptable', noCodecMessage(m));
    const extensions: HeaderExtension[] = [];
    for (const e of m.extensions) {
      if (ACCEPTED_EXTENSIONS.includes(e.uri) && !extensions.some((x) => x.uri === e.uri)) extensions.push(e);
    }
    out.push({
      mid: m.mid,
      kind: m.kind,
      codec,
      extensions,
      rtcpFeedback: codec.rtcpFeedback.filter((fb) => ACCEPTED_FEEDBACK.includes(fb)),
      ssrcs: [...m.ssrcs],
    });
  }
  return out;
}
