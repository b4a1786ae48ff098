// The play (WHEP) side of negotiation: a viewer's recvonly offer is matched against what the room's
// publisher sends. onecast forwards the publisher's RTP without transcoding, so each viewer section
// gets the publisher's codec, written with the viewer's payload type and the viewer's fmtp. Pure.
import { DEFAULT_PROFILE_LEVEL_ID, h264Compatibility } from './h264';
import { NOT_MEDIA_CODECS } from './negotiate';
import { unacceptable } from './sdpLines';
import { EXTENSION_URI, type Codec, type HeaderExtension, type OfferedMedia, type ParsedOffer, type PlayMedia, type SourceTrack } from './types';
import type { MediaKind } from '../rtp/mediaKind';

/**
 * RTCP feedback onecast answers to a viewer when the viewer offered it for the chosen payload type.
 * Not goog-remb / transport-cc: onecast does not (yet) send bandwidth feedback to viewers, and a viewer
 * that was promised transport-cc would wait for feedback that never comes.
 */
export const PLAY_FEEDBACK: readonly string[] = ['nack', 'nack pli', 'ccm fir'];

/** Header extensions onecast answers to a viewer (with the viewer's ids) when offered. */
export const PLAY_EXTENSIONS: readonly string[] = [EXTENSION_URI.mid, EXTENSION_URI.absSendTime];

const ACCEPTS: Record<MediaKind, string> = { audio: 'opus', video: 'H264 (packetization-mode=1) or VP8' };

/** H.264 fmtp parameters the answer takes over from the viewer's chosen entry. */
const H264_ANSWER_PARAMS = ['profile-level-id', 'packetization-mode', 'level-asymmetry-allowed'];

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function isOpus480002(c: Codec): boolean {
  return c.clockRate === 48000 && (c.channels ?? 2) === 2;
}

/** "H264 (profile 42e01f)", "VP8", "opus": the publisher's codec in messages. */
function describeSource(c: Codec): string {
  if (c.name === 'H264') {
    const id = c.fmtp['profile-level-id'];
    return id ? `H264 (profile ${id})` : 'H264';
  }
  return c.name;
}

/** What a viewer's section offers, for messages: "H264 (profiles 42001f, 42e01f), VP8, VP9, AV1". */
function describeOffered(m: OfferedMedia): string {
  let names = m.offeredCodecNames.filter((n) => !NOT_MEDIA_CODECS.has(n.toLowerCase()));
  if (names.length === 0) names = m.offeredCodecNames;
  if (names.length === 0) return 'no codec';
  return names
    .map((n) => {
      if (!sameName(n, 'H264')) return n;
      const ids = [...new Set(m.codecs.filter((c) => c.name === 'H264').map((c) => c.fmtp['profile-level-id'] ?? `${DEFAULT_PROFILE_LEVEL_ID} (default)`))];
      if (ids.length === 0) return `${n} (packetization-mode=0 only)`;
      return `${n} (profile${ids.length > 1 ? 's' : ''} ${ids.join(', ')})`;
    })
    .join(', ');
}

/**
 * The viewer's entry that can carry the publisher's codec, or undefined. H.264 by RFC 6184 §8.2.2 as
 * libwebrtc applies it (h264Compatibility): the same packetization-mode and profile; failing that, a
 * Constrained Baseline publisher goes to a Baseline entry. Among equals the viewer's order wins, and an
 * entry whose level is high enough (or that allows level asymmetry) beats one whose level is not.
 */
export function pickViewerCodec(source: Codec, offered: readonly Codec[]): Codec | undefined {
  const named = offered.filter((c) => sameName(c.name, source.name) && c.clockRate === source.clockRate);
  if (source.name === 'opus') return named.find((c) => isOpus480002(c) && isOpus480002(source));
  if (source.name !== 'H264') return named[0];
  const scored = named
    .map((c, order) => ({ c, order, fit: h264Compatibility(source.fmtp, c.fmtp) }))
    .filter((x) => x.fit !== undefined)
    .map((x) => ({ ...x, score: (x.fit!.match === 'same-profile' ? 2 : 0) + (x.fit!.levelOk ? 1 : 0) }));
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  return scored[0]?.c;
}

/** The answer's codec entry: the viewer's payload type (and feedback as offered), the fmtp the answer carries. */
function answerCodec(viewer: Codec): Codec {
  let fmtp = { ...viewer.fmtp };
  if (viewer.name === 'H264') {
    fmtp = {};
    for (const [k, v] of Object.entries(viewer.fmtp)) if (H264_ANSWER_PARAMS.includes(k)) fmtp[k] = v;
  }
  return { ...viewer, fmtp, rtcpFeedback: [...viewer.rtcpFeedback] };
}

/**
 * The forwarder writes the mid in the one-byte header form (RFC 8285 §4.2): ids 1-14, values of
 * at most 16 bytes. A viewer whose id or mid does not fit is answered without the extension
 * (it then routes by SSRC, which the answer's a=ssrc gives it) rather than sent a mangled one.
 */
function fitsOneByteHeader(e: HeaderExtension, mid: string): boolean {
  return e.uri !== EXTENSION_URI.mid || (e.id >= 1 && e.id <= 14 && Buffer.byteLength(mid) >= 1 && Buffer.byteLength(mid) <= 16);
}

function playExtensions(m: OfferedMedia): HeaderExtension[] {
  const out: HeaderExtension[] = [];
  for (const e of m.extensions) {
    if (PLAY_EXTENSIONS.includes(e.uri) && fitsOneByteHeader(e, m.mid) && !out.some((x) => x.uri === e.uri)) out.push(e);
  }
  return out;
}

function kindsText(kinds: readonly string[]): string {
  return kinds.length === 2 ? 'audio and video' : (kinds[0] ?? 'nothing');
}

/**
 * Play role: matches every live section of a viewer's offer (parseOffer(sdp, 'play')) to the publisher's
 * track of the same kind and picks the viewer's payload type for the publisher's codec. Returns one
 * PlayMedia per live section, in offer order; a section whose kind the publisher does not send is
 * answered inactive (sourceKind undefined) with the viewer's first codec onecast knows.
 *
 * Throws OfferError (unacceptable) when a section cannot receive the publisher's codec (naming both), when a section
 * the publisher cannot fill offers no codec onecast knows, and when no section matches a publisher track
 * (e.g. an audio-only offer for a video-only room). A publisher track with no viewer section is simply
 * not sent. When `sources` has two tracks of one kind the first is used.
 */
export function negotiatePlay(offer: ParsedOffer, sources: readonly SourceTrack[]): PlayMedia[] {
  const sourceKinds = [...new Set(sources.map((s) => s.kind))].sort();
  if (sources.length === 0) {
    throw unacceptable('This room has no audio or video track to send yet; try again once the publisher is live.');
  }
  const out: PlayMedia[] = [];
  for (const m of offer.media) {
    if (m.disabled) continue;
    const source = sources.find((s) => s.kind === m.kind);
    const extensions = playExtensions(m);
    if (!source) {
      const placeholder = m.codecs[0];
      if (!placeholder) {
        throw unacceptable(
          `This room sends ${kindsText(sourceKinds)} only, and your offer's ${m.kind} section accepts ${describeOffered(m)}; onecast answers ${m.kind} only with ${ACCEPTS[m.kind]}, so offer that or leave the ${m.kind} transceiver out.`,
        );
      }
      out.push(playEntry(m, answerCodec(placeholder), extensions, undefined));
      continue;
    }
    const chosen = pickViewerCodec(source.codec, m.codecs);
    if (!chosen) {
      throw unacceptable(`This room's ${m.kind} is ${describeSource(source.codec)}; your offer's ${m.kind} section accepts ${describeOffered(m)}.`);
    }
    out.push(playEntry(m, answerCodec(chosen), extensions, source.kind));
  }
  if (!out.some((p) => p.sourceKind !== undefined)) {
    const offered = [...new Set(out.map((p) => p.kind))].sort();
    throw unacceptable(
      `This room sends ${kindsText(sourceKinds)} only and your offer asks for ${kindsText(offered)} only; add a recvonly ${sourceKinds.includes('video') ? 'video' : 'audio'} transceiver to the offer.`,
    );
  }
  return out;
}

/** The SourceTracks of a publisher, from its negotiated media (first track of each kind). */
export function sourceTracks(media: readonly { kind: MediaKind; codec: Codec }[]): SourceTrack[] {
  const out: SourceTrack[] = [];
  for (const m of media) if (!out.some((s) => s.kind === m.kind)) out.push({ kind: m.kind, codec: m.codec });
  return out;
}

/** One answered viewer section: the viewer's codec entry, the feedback onecast gives viewers. */
function playEntry(m: OfferedMedia, codec: Codec, extensions: HeaderExtension[], sourceKind: MediaKind | undefined): PlayMedia {
  return {
    mid: m.mid,
    kind: m.kind,
    codec,
    extensions,
    rtcpFeedback: codec.rtcpFeedback.filter((fb) => PLAY_FEEDBACK.includes(fb)),
    ssrcs: [...m.ssrcs],
    sourceKind,
  };
}
