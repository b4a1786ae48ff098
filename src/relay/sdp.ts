// A WebRTC client's side of SDP, for the relay's WHEP pull and the test clients: the offer
// (what a browser or OBS would offer, minus the codecs never used) and what the answer says
// (ICE credentials, fingerprint, host candidates, and per section the codec and SSRCs chosen).
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { MediaKind } from '../rtp/mediaKind';
import type { CodecName, HeaderExtension } from '../sdp/types';

export const PUBLISH_VIDEO_PT = 96;
export const PLAY_VIDEO_PT = 102;
export const AUDIO_PT = 111;

/** One codec of an offer's m-line. */
export interface OfferCodec {
  payloadType: number;
  name: CodecName;
  /** a=fmtp parameters as written, '' for none. */
  fmtp: string;
  rtcpFeedback: string[];
}

const VIDEO_FEEDBACK = ['goog-remb', 'nack', 'nack pli', 'ccm fir'];
/** H.264 as the test clients offer it: constrained baseline 3.1, the profile every publisher here sends. */
const DEFAULT_H264 = 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1';
export const OPUS: OfferCodec = { payloadType: AUDIO_PT, name: 'opus', fmtp: 'minptime=10;useinbandfec=1', rtcpFeedback: ['transport-cc'] };

export interface OfferParams {
  role: 'publish' | 'play';
  kinds: MediaKind[];
  ufrag: string;
  pwd: string;
  fingerprint: string;
  videoSsrc: number;
  audioSsrc: number;
  cname: string;
  /** The video m-line's codecs in preference order; default one H.264 (PT 96 to publish, 102 to play). */
  videoCodecs?: readonly OfferCodec[];
}

/** A WHIP (sendonly) or WHEP (recvonly) offer: BUNDLE, rtcp-mux, no candidates (the server is ICE-lite). */
export function buildOffer(p: OfferParams): string {
  const mids = p.kinds.map((_, i) => String(i));
  const lines = [
    'v=0',
    `o=- ${randomBytes(6).readUIntBE(0, 6)} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${mids.join(' ')}`,
    'a=msid-semantic: WMS lite',
  ];
  const streamId = `lite-${p.cname}`;
  const video = p.videoCodecs ?? [
    { payloadType: p.role === 'publish' ? PUBLISH_VIDEO_PT : PLAY_VIDEO_PT, name: 'H264', fmtp: DEFAULT_H264, rtcpFeedback: VIDEO_FEEDBACK },
  ];
  p.kinds.forEach((kind, i) => {
    const codecs = kind === 'audio' ? [OPUS] : video;
    lines.push(
      `m=${kind} 9 UDP/TLS/RTP/SAVPF ${codecs.map((c) => c.payloadType).join(' ')}`,
      'c=IN IP4 0.0.0.0',
      'a=rtcp:9 IN IP4 0.0.0.0',
      `a=ice-ufrag:${p.ufrag}`,
      `a=ice-pwd:${p.pwd}`,
      `a=fingerprint:${p.fingerprint}`,
      'a=setup:actpass',
      `a=mid:${mids[i]}`,
      p.role === 'publish' ? 'a=sendonly' : 'a=recvonly',
      'a=rtcp-mux',
      'a=rtcp-rsize',
    );
    for (const c of codecs) {
      lines.push(`a=rtpmap:${c.payloadType} ${c.name}/${c.name === 'opus' ? '48000/2' : '90000'}`);
      for (const fb of c.rtcpFeedback) lines.push(`a=rtcp-fb:${c.payloadType} ${fb}`);
      if (c.fmtp !== '') lines.push(`a=fmtp:${c.payloadType} ${c.fmtp}`);
    }
    if (p.role === 'publish') {
      const ssrc = kind === 'audio' ? p.audioSsrc : p.videoSsrc;
      lines.push(`a=msid:${streamId} ${streamId}-${kind}`, `a=ssrc:${ssrc} cname:${p.cname}`, `a=ssrc:${ssrc} msid:${streamId} ${streamId}-${kind}`);
    }
  });
  return lines.join('\r\n') + '\r\n';
}

/** One m-section of an answer: what the server will send in it. */
export interface AnswerSection {
  mid: string;
  kind: MediaKind;
  /** The m-line's first payload type: the codec the answer chose (0 port sections have none). */
  payloadType: number | undefined;
  ssrcs: number[];
  extensions: HeaderExtension[];
  /** a=rtcp-fb of the chosen payload type (and of "*"). */
  rtcpFeedback: string[];
}

export interface ParsedAnswer {
  iceUfrag: string;
  icePwd: string;
  fingerprint: { algorithm: string; value: string };
  candidates: { ip: string; port: number }[];
  /** a=ssrc values per mid (play role: what the server will send) */
  ssrcs: Map<string, number[]>;
  sections: AnswerSection[];
}

/** The longest SDP answer read: onecast's are ~2 KB; anything far bigger is not one. */
export const MAX_ANSWER_LENGTH = 64 * 1024;

export function parseAnswer(sdp: string): ParsedAnswer {
  if (sdp.length > MAX_ANSWER_LENGTH) throw new Error(`the answer is ${sdp.length} characters, more than ${MAX_ANSWER_LENGTH}`);
  let iceUfrag: string | undefined;
  let icePwd: string | undefined;
  let fingerprint: ParsedAnswer['fingerprint'] | undefined;
  const candidates: ParsedAnswer['candidates'] = [];
  const ssrcs = new Map<string, number[]>();
  const sections: AnswerSection[] = [];
  let section: AnswerSection | undefined;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    const m = /^m=(audio|video|\S+) (\d+) \S+ ?(\d+)?/.exec(line);
    if (m) {
      section =
        m[1] === 'audio' || m[1] === 'video'
          ? { mid: '', kind: m[1], payloadType: m[2] === '0' || m[3] === undefined ? undefined : Number(m[3]), ssrcs: [], extensions: [], rtcpFeedback: [] }
          : undefined;
      if (section !== undefined) sections.push(section);
    } else if (line.startsWith('a=mid:')) {
      if (section !== undefined) section.mid = line.slice(6);
    } else if (line.startsWith('a=ice-ufrag:')) iceUfrag ??= line.slice(12);
    else if (line.startsWith('a=ice-pwd:')) icePwd ??= line.slice(10);
    else if (line.startsWith('a=fingerprint:') && fingerprint === undefined) {
      const [algorithm, value] = line.slice(14).split(' ');
      if (algorithm && value) fingerprint = { algorithm: algorithm.toLowerCase(), value: value.toUpperCase() };
    } else if (line.startsWith('a=candidate:')) {
      const c = /^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ (\S+)/.exec(line);
      if (c && c[1]!.toLowerCase() === 'udp' && isIP(c[2]!) === 4 && Number(c[3]) > 0 && Number(c[3]) < 65536)
        candidates.push({ ip: c[2]!, port: Number(c[3]) });
    } else if (line.startsWith('a=extmap:')) {
      const e = /^a=extmap:(\d+)(?:\/\S+)? (\S+)/.exec(line);
      if (e && section !== undefined) section.extensions.push({ id: Number(e[1]), uri: e[2]! });
    } else if (line.startsWith('a=rtcp-fb:')) {
      const f = /^a=rtcp-fb:(\d+|\*) (.+)$/.exec(line);
      if (f && section !== undefined && (f[1] === '*' || Number(f[1]) === section.payloadType)) section.rtcpFeedback.push(f[2]!.trim());
    } else if (line.startsWith('a=ssrc:')) {
      const n = Number(/^a=ssrc:(\d+)/.exec(line)?.[1]);
      if (Number.isInteger(n) && section !== undefined && !section.ssrcs.includes(n)) section.ssrcs.push(n);
    }
  }
  for (const s of sections) if (s.ssrcs.length > 0) ssrcs.set(s.mid, s.ssrcs);
  if (!iceUfrag || !icePwd) throw new Error('the answer has no a=ice-ufrag / a=ice-pwd');
  if (!fingerprint) throw new Error('the answer has no a=fingerprint');
  if (candidates.length === 0) throw new Error('the answer has no udp IPv4 host candidate');
  return { iceUfrag, icePwd, fingerprint, candidates, ssrcs, sections };
}
