// Offers and answers for the SDP tests: the committed offers of test/fixtures/sdp (re-captured by
// test/tools/captureSdpFixtures.ts), answers built as the server builds them, and the helpers
// that read an answer's sections.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { buildAnswer } from '../../src/sdp/answer';
import { negotiate } from '../../src/sdp/negotiate';
import { parseOffer } from '../../src/sdp/offer';
import { negotiatePlay, sourceTracks } from '../../src/sdp/play';
import type { NegotiatedMedia, ParsedOffer, PlayMedia, Role, SourceTrack } from '../../src/sdp/types';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'sdp');
export const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

export const UFRAG = 'myroom/3fa9c1d2+Ab';
export const PWD = 'Zx8v/QwErTy+UiOpAsDfGh12';
export const CANDIDATES = [
  { ip: '127.0.0.1', port: 8189 },
  { ip: '192.0.2.10', port: 8189 },
  { ip: '::1', port: 8189 },
];

export function randomFingerprint(): string {
  return `sha-256 ${[...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':')}`;
}

export function answerFor(
  offer: ParsedOffer,
  media: NegotiatedMedia[],
  role: Role = 'publish',
  extra: Partial<Parameters<typeof buildAnswer>[0]> = {},
): string {
  return buildAnswer({
    offer,
    role,
    media,
    iceUfrag: UFRAG,
    icePwd: PWD,
    fingerprint: randomFingerprint(),
    candidates: CANDIDATES,
    ...extra,
  });
}

export function publishAnswer(sdp: string): { offer: ParsedOffer; media: NegotiatedMedia[]; answer: string } {
  const offer = parseOffer(sdp, 'publish');
  const media = negotiate(offer, 'publish');
  return { offer, media, answer: answerFor(offer, media) };
}

/** The answer's media sections, each as its list of lines (m= line first). */
export function sections(sdp: string): string[][] {
  const out: string[][] = [];
  for (const line of sdp.split('\r\n')) {
    if (line.startsWith('m=')) out.push([line]);
    else if (out.length > 0 && line) out[out.length - 1]!.push(line);
  }
  return out;
}

export function sessionPart(sdp: string): string[] {
  const lines = sdp.split('\r\n');
  return lines.slice(
    0,
    lines.findIndex((l) => l.startsWith('m=')),
  );
}

// A minimal valid offer to build the bad cases from: one section per entry, bundled.
export function offerWith(sectionsText: string[], session = 'a=group:BUNDLE 0 1'): string {
  const head = [
    'v=0',
    'o=- 123 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    session,
    'a=fingerprint:sha-256 48:E3:2B:9D:03:4C:8E:1D:1A:D1:4E:B3:1C:E1:FB:D1:9F:CE:28:3D:8E:30:1F:54:CD:7E:3A:C5:4E:EF:58:D1',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  ];
  return [...head, ...sectionsText].join('\r\n') + '\r\n';
}

export const OPUS_SECTION = [
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendonly',
  'a=setup:actpass',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
].join('\r\n');

export function videoSection(mid: string, fmts: string, codecLines: string[], extra: string[] = []): string {
  return [
    `m=video 9 UDP/TLS/RTP/SAVPF ${fmts}`,
    'c=IN IP4 0.0.0.0',
    `a=mid:${mid}`,
    'a=sendonly',
    'a=setup:actpass',
    'a=rtcp-mux',
    ...codecLines,
    ...extra,
  ].join('\r\n');
}

/** The OBS publisher's tracks: obs.sdp through parseOffer + negotiate (publish). */
export const obsSources = (): SourceTrack[] => sourceTracks(negotiate(parseOffer(fixture('obs.sdp'), 'publish'), 'publish'));
/** The Chromium publisher's tracks: chromium.sdp through parseOffer + negotiate (publish). */
export const chromiumSources = (): SourceTrack[] => sourceTracks(negotiate(parseOffer(fixture('chromium.sdp'), 'publish'), 'publish'));

export function sendSsrcsFor(media: PlayMedia[]): Map<string, { ssrc: number; cname: string; msid: string; trackId: string }> {
  return new Map(media.map((m, i) => [m.mid, { ssrc: 0x10000 + i, cname: 'onecast', msid: 'room1', trackId: `room1-${m.kind}` }] as const));
}

/** A play offer answered for `sources`, as the server answers a WHEP POST. */
export function playAnswer(sdp: string, sources: SourceTrack[]): { offer: ParsedOffer; media: PlayMedia[]; answer: string } {
  const offer = parseOffer(sdp, 'play');
  const media = negotiatePlay(offer, sources);
  return { offer, media, answer: answerFor(offer, media, 'play', { sendSsrcs: sendSsrcsFor(media) }) };
}
