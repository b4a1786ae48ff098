// The public types of the SDP negotiation module (src/sdp/). Pure data: parseOffer
// (offer.ts) fills ParsedOffer from a client's offer, negotiate (negotiate.ts) picks what
// onecast will carry, buildAnswer (answer.ts) writes the answer text from AnswerParams.
import type { MediaKind } from '../rtp/mediaKind';

/** publish = WHIP (the client sends media), play = WHEP (the client receives media). */
export type Role = 'publish' | 'play';

/** The codecs onecast can carry. */
export type CodecName = 'H264' | 'VP8' | 'opus';

export interface Codec {
  /** As offered; the answer keeps it. */
  payloadType: number;
  name: CodecName;
  clockRate: number;
  /** Opus only: always 2 (opus/48000/2). */
  channels?: number;
  /** The a=fmtp parameters as offered, keys lower-case, values verbatim (a token without "=" maps to ""). */
  fmtp: Record<string, string>;
  /** Every a=rtcp-fb for this payload type (and "*") as offered, e.g. ['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc']. */
  rtcpFeedback: string[];
}

export interface HeaderExtension {
  id: number;
  uri: string;
}

/** The RTP header extensions onecast knows, by the URI an SDP a=extmap names them with. */
export const EXTENSION_URI = {
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  absSendTime: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  transportCc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  audioLevel: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
} as const;

export interface OfferedMedia {
  /** a=mid; '' only for a section the offerer disabled without giving it a mid. */
  mid: string;
  kind: MediaKind;
  /** The m-line port: 0 for bundle-only sections too. */
  port: number;
  /** a=bundle-only: a live section even with port 0 (GStreamer webrtcbin, RFC 8843). */
  bundleOnly: boolean;
  /** Port 0 without a=bundle-only: the offerer itself turned this section off; the answer mirrors it with port 0. */
  disabled: boolean;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  /** The payload types of the m-line, in its order (the offerer's preference). */
  payloadTypes: number[];
  /** Only the codecs onecast can carry (H264 with packetization-mode=1, VP8, opus), in m-line order. */
  codecs: Codec[];
  /** Every codec name the section offered, in m-line order, each once, as spelt in the offer, e.g. ['VP8','rtx','H264','AV1','VP9','red','ulpfec']. */
  offeredCodecNames: string[];
  /** Every a=extmap of the section as offered (direction suffixes dropped). */
  extensions: HeaderExtension[];
  /** The media SSRCs from a=ssrc: every one that is not the second (repair) member of an a=ssrc-group:FID or FEC-FR. */
  ssrcs: number[];
  /** The retransmission SSRCs: the second member of each a=ssrc-group:FID. */
  rtxSsrcs: number[];
  /** The first a=ssrc ... cname: of the section. */
  cname?: string;
  /** a=rtcp-mux present (always true in a ParsedOffer for a live section: parseOffer rejects otherwise). */
  rtcpMux: boolean;
  /** a=rtcp-rsize present: the answer mirrors it. */
  rtcpRsize: boolean;
}

export interface ParsedOffer {
  iceUfrag: string;
  icePwd: string;
  fingerprints: { algorithm: string; value: string }[];
  setup: 'actpass' | 'active' | 'passive';
  /** The BUNDLE group holding every live section, as offered. */
  bundleMids: string[];
  /** Every m-section in offer order, the disabled ones included. */
  media: OfferedMedia[];
  /** From a=candidate lines anywhere in the offer; hostnames (mDNS .local) are kept as written. OBS/Chromium may send some, or none. */
  candidates: { ip: string; port: number; protocol: string }[];
  extmapAllowMixed: boolean;
}

/** A rejected offer: 'malformed', not (well-formed) SDP; 'unacceptable', well-formed but onecast cannot accept it. */
export class OfferError extends Error {
  override readonly name = 'OfferError';
  /** message: one sentence a person can act on. */
  constructor(
    readonly kind: 'malformed' | 'unacceptable',
    message: string,
  ) {
    super(message);
  }
}

/** What onecast carries for one live m-section. */
export interface NegotiatedMedia {
  mid: string;
  kind: MediaKind;
  /** The chosen codec, as offered (its rtcpFeedback is the offered list). */
  codec: Codec;
  /** The offered extensions onecast accepts, with the offer's ids. */
  extensions: HeaderExtension[];
  /** The offered feedback for the chosen codec that onecast accepts. */
  rtcpFeedback: string[];
  /** The media SSRCs the offer announced for this section (may be empty: then the mid extension tells). */
  ssrcs: number[];
}

/** What a room's publisher sends, per kind: from the publisher's NegotiatedMedia (kind, codec). */
export interface SourceTrack {
  kind: MediaKind;
  /** The publisher's codec as negotiated (its payload type is the publisher's, not the viewer's). */
  codec: Codec;
}

/**
 * What onecast sends a WHEP viewer in one live section of the viewer's offer (negotiatePlay, play.ts).
 * codec: the viewer's payload type and fmtp for the publisher's codec (H.264: the viewer's
 * profile-level-id, packetization-mode, level-asymmetry-allowed; opus: the viewer's fmtp);
 * extensions and rtcpFeedback: what onecast answers to the viewer (PLAY_EXTENSIONS, PLAY_FEEDBACK).
 */
export interface PlayMedia extends NegotiatedMedia {
  /**
   * The kind of the publisher's track this section carries; undefined when the publisher has no track of
   * this section's kind: the section is answered a=inactive (not rejected) and carries nothing.
   */
  sourceKind: MediaKind | undefined;
}

export interface AnswerParams {
  offer: ParsedOffer;
  role: Role;
  /**
   * One entry per live section (matched to offer.media by mid; negotiate() and negotiatePlay() return
   * them in offer order). An offer section with no entry here is written as disabled (port 0) — both give
   * every live section an entry, so that happens only to the sections the offerer disabled itself.
   * Play role: pass negotiatePlay()'s PlayMedia[]; entries whose sourceKind is undefined are written
   * a=inactive, every other entry a=sendonly, and those need their sendSsrcs.
   */
  media: NegotiatedMedia[];
  iceUfrag: string;
  icePwd: string;
  /** e.g. "sha-256 AB:CD:..." — goes verbatim after a=fingerprint: */
  fingerprint: string;
  /** Host candidates, UDP, in preference order (first = highest priority). */
  candidates: { ip: string; port: number }[];
  /**
   * play role: per mid, what onecast sends in that section; required for every a=sendonly section
   * (written as a=msid and a=ssrc cname/msid lines: libdatachannel-based players receive nothing without
   * a=ssrc). buildAnswer throws when one is missing.
   */
  sendSsrcs?: Map<string, { ssrc: number; cname: string; msid: string; trackId: string }>;
}
