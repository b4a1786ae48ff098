// Parses and validates a WHIP/WHEP offer, and (publish role) picks the codec, header
// extensions and RTCP feedback onecast will use for each section. Pure functions.
//
// werift's SessionDescription.parse does the codec/extension/SSRC bookkeeping, but it is fed
// a cleaned copy of the offer: on its own it accepts any text (garbage parses to "no media"),
// throws TypeErrors on lines without a value or an a=fmtp without a=rtpmap, always reports
// extmap-allow-mixed, looks up BUNDLE ICE credentials by m-line index instead of mid and drops
// session-level fingerprints when no a=setup is present. So the lines are checked here first,
// and ICE/DTLS attributes, bundle-only, candidates and directions come from our own line scan.
import { SessionDescription } from 'werift';
import { isUsableH264 } from './h264';
import {
  OfferError,
  type Codec,
  EXTENSION_URI,
  type HeaderExtension,
  type NegotiatedMedia,
  type OfferedMedia,
  type ParsedOffer,
  type Role,
} from './types';
import type { MediaKind } from '../rtp/mediaKind';

/** Header extensions onecast answers (with the offer's ids) when offered. */
export const ACCEPTED_EXTENSIONS: readonly string[] = [
  EXTENSION_URI.mid,
  EXTENSION_URI.absSendTime,
  EXTENSION_URI.transportCc,
  EXTENSION_URI.audioLevel,
];

/** RTCP feedback onecast answers when offered for the chosen codec. */
export const ACCEPTED_FEEDBACK: readonly string[] = ['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc'];

const DIRECTIONS = ['sendrecv', 'sendonly', 'recvonly', 'inactive'] as const;
type Direction = (typeof DIRECTIONS)[number];

// RFC 3551 static payload types, for naming codecs offered without a=rtpmap.
const STATIC_PAYLOAD_NAMES: Record<number, string> = {
  0: 'PCMU', 3: 'GSM', 4: 'G723', 5: 'DVI4', 6: 'DVI4', 7: 'LPC', 8: 'PCMA', 9: 'G722', 10: 'L16', 11: 'L16',
  12: 'QCELP', 13: 'CN', 14: 'MPA', 15: 'G728', 16: 'DVI4', 17: 'DVI4', 18: 'G729', 25: 'CelB', 26: 'JPEG',
  28: 'nv', 31: 'H261', 32: 'MPV', 33: 'MP2T', 34: 'H263',
};

// Codecs that are not media formats of their own: left out of "the section offers ..." messages.
export const NOT_MEDIA_CODECS: ReadonlySet<string> = new Set(['rtx', 'red', 'ulpfec', 'flexfec', 'flexfec-03', 'cn', 'telephone-event']);

const ACCEPTS: Record<MediaKind, string> = {
  audio: 'opus',
  video: 'H264 (packetization-mode=1), VP8',
};

// Value syntax of the attributes onecast (or werift) reads. A line that fails here is malformed SDP.
const ATTRIBUTE_SYNTAX: Record<string, RegExp> = {
  rtpmap: /^\d{1,3} [^\s/]+\/\d+(\/\d+)?$/,
  fmtp: /^\d{1,3}( .*)?$/,
  'rtcp-fb': /^(\d{1,3}|\*) \S+( .*)?$/,
  extmap: /^\d+(\/\w+)? \S+( .*)?$/,
  ssrc: /^\d+( .*)?$/,
  'ssrc-group': /^\S+( \d+)+$/,
  group: /^\S+( \S+)*$/,
  fingerprint: /^\S+ [0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})+$/,
  setup: /^\S+$/,
  mid: /^\S+$/,
};

// RFC 8839 §5.4: ice-char is ALPHA / DIGIT / "+" / "/"; a ufrag has 4-256 of them, a password 22-256.
// Trickle/restart fragments (sdpfrag.ts) carry the same attributes and are checked against the same syntax.
export const ICE_CREDENTIALS: Record<'ice-ufrag' | 'ice-pwd', { syntax: RegExp; rule: string }> = {
  'ice-ufrag': { syntax: /^[A-Za-z0-9+/]{4,256}$/, rule: 'an ICE ufrag is 4 to 256 characters of A-Z a-z 0-9 + /' },
  'ice-pwd': { syntax: /^[A-Za-z0-9+/]{22,256}$/, rule: 'an ICE password is 22 to 256 characters of A-Z a-z 0-9 + /' },
};

/** Digest sizes of the RFC 8122 hash functions; onecast can check the DTLS certificate with the SHA ones. */
const FINGERPRINT_BYTES: Record<string, number> = { md2: 16, md5: 16, 'sha-1': 20, 'sha-224': 28, 'sha-256': 32, 'sha-384': 48, 'sha-512': 64 };
const VERIFIABLE_FINGERPRINTS = ['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512'];

/** Attributes whose value starts with an RTP payload type (or "*" for rtcp-fb). */
const PAYLOAD_TYPE_ATTRIBUTES: ReadonlySet<string> = new Set(['rtpmap', 'fmtp', 'rtcp-fb']);

interface Section {
  /** 1-based line number of the m= line, for messages */
  lineNo: number;
  kind: string;
  port: number;
  proto: string;
  fmts: string[];
  /** the lines after the m= line */
  lines: string[];
}

interface Attr {
  name: string;
  value: string | undefined;
}

function bad(message: string): OfferError {
  return new OfferError('malformed', message);
}

function unacceptable(message: string): OfferError {
  return new OfferError('unacceptable', message);
}

function quote(line: string): string {
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line);
}

function attrOf(line: string): Attr | undefined {
  if (!line.startsWith('a=')) return undefined;
  const body = line.slice(2);
  const colon = body.indexOf(':');
  if (colon < 0) return { name: body.trim(), value: undefined };
  return { name: body.slice(0, colon).trim(), value: body.slice(colon + 1).trim() };
}

function attrs(lines: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const a = attrOf(line);
    if (a && a.name === name) out.push(a.value ?? '');
  }
  return out;
}

function hasFlag(lines: readonly string[], name: string): boolean {
  return lines.some((line) => attrOf(line)?.name === name);
}

function first(lines: readonly string[], name: string): string | undefined {
  return attrs(lines, name)[0];
}

function directionOf(lines: readonly string[]): Direction | undefined {
  let dir: Direction | undefined;
  for (const line of lines) {
    const a = attrOf(line);
    if (a && a.value === undefined && (DIRECTIONS as readonly string[]).includes(a.name)) dir = a.name as Direction;
  }
  return dir;
}

/** Parses a=fmtp parameters ("a=1;B=2;flag") into { a: '1', b: '2', flag: '' } (keys lower-case). */
export function parseFmtp(params: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!params) return out;
  for (const part of params.split(';')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq < 0) out[item.toLowerCase()] = '';
    else out[item.slice(0, eq).trim().toLowerCase()] = item.slice(eq + 1).trim();
  }
  return out;
}

/** Writes fmtp parameters back as "k=v;k2=v2" (a key with value "" is written alone). */
export function formatFmtp(fmtp: Record<string, string>): string {
  return Object.entries(fmtp)
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`))
    .join(';');
}

function splitLines(sdp: string): string[] {
  return sdp
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

function checkSyntax(line: string, lineNo: number): void {
  if (!/^[a-z]=/.test(line)) {
    throw bad(`Line ${lineNo} of the offer, ${quote(line)}, is not an SDP line ("x=value"); send the SDP offer unchanged.`);
  }
  // SDP is text (RFC 8866 §9): a NUL or other control character means a corrupted or binary body.
  const control = /[\x00-\x08\x0a-\x1f\x7f]/.exec(line);
  if (control) {
    const code = `U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw bad(`Line ${lineNo} of the offer, ${quote(line)}, contains the control character ${code}; SDP is text, so send the offer unchanged.`);
  }
  if (line.startsWith('c=') && !/^c=IN IP[46] \S+$/.test(line)) {
    throw bad(`Line ${lineNo} of the offer, ${quote(line)}, is not a valid c= line ("c=IN IP4 <address>").`);
  }
  const a = attrOf(line);
  if (!a) return;
  const syntax = ATTRIBUTE_SYNTAX[a.name];
  if (syntax && (a.value === undefined || !syntax.test(a.value))) {
    throw bad(`Line ${lineNo} of the offer, ${quote(line)}, is a malformed a=${a.name} attribute.`);
  }
  if (a.name === 'ice-ufrag' || a.name === 'ice-pwd') {
    const credential = ICE_CREDENTIALS[a.name];
    if (a.value === undefined || !credential.syntax.test(a.value)) throw bad(`Line ${lineNo} of the offer, ${quote(line)}, is not a valid a=${a.name}: ${credential.rule} (RFC 8839).`);
  }
  if (PAYLOAD_TYPE_ATTRIBUTES.has(a.name)) {
    const pt = a.value!.split(' ')[0]!;
    if (pt !== '*' && Number(pt) > 127) throw bad(`Line ${lineNo} of the offer, ${quote(line)}, names payload type ${pt}; payload types are numbers from 0 to 127.`);
  }
}

/** RFC 8866 §5: a description opens with v=, o=, s= and t= before its first m= line. */
function checkSessionLines(session: readonly string[]): void {
  for (const [type, what] of [['o', 'origin'], ['s', 'session name'], ['t', 'timing']] as const) {
    if (!session.some((line) => line.startsWith(`${type}=`))) {
      throw bad(`The SDP offer has no ${type}= (${what}) line before its first m= line; an SDP offer begins with v=, o=, s= and t= lines, so send it as the WebRTC stack produced it.`);
    }
  }
  const origin = session.find((line) => line.startsWith('o='))!;
  if (!/^o=\S+ \d+ \d+ IN IP[46] \S+$/.test(origin)) {
    throw bad(`The offer's origin line ${quote(origin)} is malformed; it must read "o=<username> <session id> <version> IN IP4 <address>".`);
  }
}

function splitSections(lines: string[]): { session: string[]; sections: Section[] } {
  const session: string[] = [];
  const sections: Section[] = [];
  lines.forEach((line, i) => {
    checkSyntax(line, i + 1);
    if (line.startsWith('m=')) {
      const m = /^m=(\S+) (\d+)(?:\/\d+)? (\S+) (\S.*)$/.exec(line);
      if (!m) throw bad(`Line ${i + 1} of the offer, ${quote(line)}, is not a valid m= line ("m=<media> <port> <proto> <formats>").`);
      const port = Number(m[2]);
      if (port > 65535) throw bad(`Line ${i + 1} of the offer, ${quote(line)}, has an invalid port.`);
      sections.push({ lineNo: i + 1, kind: m[1]!, port, proto: m[3]!, fmts: m[4]!.split(/\s+/), lines: [] });
    } else if (sections.length > 0) {
      sections[sections.length - 1]!.lines.push(line);
    } else {
      session.push(line);
    }
  });
  return { session, sections };
}

/**
 * The copy of the offer werift gets: only the lines it is used for (codecs, extensions, SSRCs,
 * groups), with normalised m-lines and without a=fmtp lines whose payload type has no a=rtpmap.
 */
function weriftInput(session: string[], sections: Section[]): string {
  // Session-level ICE credentials (placeholders: the real ones come from our own scan) keep werift
  // away from its BUNDLE fallback, which indexes media by mid and crashes on mids "0 1" when the
  // first section has none.
  const out = ['v=0', 'o=- 0 0 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=ice-ufrag:none', 'a=ice-pwd:none'];
  for (const line of session) if (attrOf(line)?.name === 'group') out.push(line);
  const keep = new Set(['mid', 'rtpmap', 'rtcp-fb', 'extmap', 'ssrc', 'ssrc-group']);
  for (const s of sections) {
    out.push(`m=${s.kind} ${s.port} UDP/TLS/RTP/SAVPF ${s.fmts.join(' ')}`);
    const mapped = new Set(attrs(s.lines, 'rtpmap').map((v) => v.split(' ')[0]));
    for (const line of s.lines) {
      const a = attrOf(line);
      if (!a) continue;
      if (keep.has(a.name)) out.push(line);
      else if (a.name === 'fmtp' && mapped.has(a.value?.split(' ')[0] ?? '')) out.push(line);
    }
  }
  return out.join('\r\n') + '\r\n';
}

function parseWithWerift(text: string): SessionDescription {
  try {
    return SessionDescription.parse(text);
  } catch (err) {
    const why = err instanceof Error && err.message ? ` (${err.message})` : '';
    throw bad(`The SDP offer could not be parsed${why}; send the offer exactly as the WebRTC stack produced it.`);
  }
}

function parseCandidate(value: string): { ip: string; port: number; protocol: string } | undefined {
  const m = /^(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)/.exec(value);
  if (!m) return undefined;
  const port = Number(m[6]);
  if (port > 65535) return undefined;
  return { ip: m[5]!, port, protocol: m[3]!.toLowerCase() };
}

function sectionName(s: { kind: string; mid?: string }, index: number): string {
  return s.mid ? `The ${s.kind} section (mid ${s.mid})` : `The ${s.kind} section (m-line ${index + 1})`;
}

/**
 * Parses and validates an offer. Throws OfferError: malformed when it is not (well-formed) SDP or lacks
 * ICE credentials or a fingerprint, unacceptable when onecast cannot accept it as a whole: data channel or other
 * non-audio/video section, a=setup:passive, more than one audio or video section, a direction that
 * does not fit the role, no BUNDLE group holding every live section, no rtcp-mux, no DTLS-SRTP profile.
 * Codec choice (and "no usable codec") is negotiate()'s job.
 */
export function parseOffer(sdp: string, role: Role): ParsedOffer {
  if (typeof sdp !== 'string') {
    throw bad('The request body is not text; send the SDP offer as the body, Content-Type application/sdp.');
  }
  if (sdp.trim() === '') {
    throw bad('The request body is empty; send the SDP offer as the body.');
  }
  const lines = splitLines(sdp);
  if (lines[0] !== 'v=0') {
    throw bad('The request body is not an SDP offer (SDP starts with the line "v=0").');
  }
  const { session, sections } = splitSections(lines);
  checkSessionLines(session);
  if (sections.length === 0) {
    throw bad('The SDP offer has no media sections (m= lines); add an audio or video track before creating the offer.');
  }

  const parsed = parseWithWerift(weriftInput(session, sections));
  if (parsed.media.length !== sections.length) {
    throw bad('The SDP offer could not be parsed (its media sections are inconsistent); send the offer exactly as the WebRTC stack produced it.');
  }

  // Kinds: only audio and video, whatever the port.
  sections.forEach((s) => {
    if (s.kind === 'application') {
      throw unacceptable('The offer has a data channel (m=application); onecast carries audio and video only, so create the connection without a data channel.');
    }
    if (s.kind !== 'audio' && s.kind !== 'video') {
      throw unacceptable(`The offer has an m=${s.kind} section; onecast carries audio and video only.`);
    }
  });

  const sessionDirection = directionOf(session);
  const media: OfferedMedia[] = sections.map((s, i) => offeredMedia(s, i, parsed, sessionDirection));
  const live = media.filter((m) => !m.disabled);
  const liveSections = sections.filter((_, i) => !media[i]!.disabled);
  if (live.length === 0) {
    throw unacceptable('Every media section of the offer is disabled (port 0); offer at least one active audio or video track.');
  }
  const seenMids = new Set<string>();
  for (const m of media) {
    if (!m.mid) continue;
    if (seenMids.has(m.mid)) throw bad(`The offer uses a=mid:${m.mid} for two media sections; every mid must be unique.`);
    seenMids.add(m.mid);
  }

  // BUNDLE group holding the live sections (checked below, after the malformed ones).
  const bundleGroups = parsed.group.filter((g) => g.semantic === 'BUNDLE');
  const bundle = bundleGroups.find((g) => live.some((m) => m.mid && g.items.includes(m.mid)));

  // ICE and DTLS: media level of the first bundled section, else session level, else any live section.
  const tagged = (bundle && live.find((m) => m.mid === bundle.items[0])) ?? live[0]!;
  const taggedLines = sections[media.indexOf(tagged)]!.lines;
  const pick = (name: string): string | undefined =>
    first(taggedLines, name) ?? first(session, name) ?? liveSections.map((s) => first(s.lines, name)).find((v) => v !== undefined);
  const iceUfrag = pick('ice-ufrag');
  const icePwd = pick('ice-pwd');
  if (!iceUfrag || !icePwd) {
    throw bad('The SDP offer has no ICE credentials (a=ice-ufrag and a=ice-pwd); send the offer as the WebRTC stack produced it.');
  }
  let fingerprintLines = attrs(taggedLines, 'fingerprint');
  if (fingerprintLines.length === 0) fingerprintLines = attrs(session, 'fingerprint');
  if (fingerprintLines.length === 0) {
    fingerprintLines = liveSections.map((s) => attrs(s.lines, 'fingerprint')).find((f) => f.length > 0) ?? [];
  }
  if (fingerprintLines.length === 0) {
    throw bad('The SDP offer has no a=fingerprint; DTLS-SRTP needs the certificate fingerprint, so send the offer as the WebRTC stack produced it.');
  }
  const fingerprints = fingerprintLines.map((v) => {
    const [algorithm, value] = v.split(' ') as [string, string];
    return { algorithm: algorithm.toLowerCase(), value: value.toUpperCase() };
  });
  for (const fp of fingerprints) {
    const bytes = (fp.value.length + 1) / 3;
    const expected = FINGERPRINT_BYTES[fp.algorithm];
    if (expected !== undefined && bytes !== expected) {
      throw bad(`The offer's a=fingerprint:${fp.algorithm} is ${bytes} bytes long, but ${fp.algorithm} digests are ${expected} bytes; send the fingerprint of the DTLS certificate unchanged.`);
    }
  }
  const setupRaw = (pick('setup') ?? 'actpass').toLowerCase();
  if (setupRaw !== 'actpass' && setupRaw !== 'active' && setupRaw !== 'passive' && setupRaw !== 'holdconn') {
    throw bad(`The offer has an unknown a=setup:${setupRaw}; it must be actpass, active or passive.`);
  }

  // From here on the offer is well-formed; what follows is what onecast can or cannot accept.
  if (!fingerprints.some((fp) => VERIFIABLE_FINGERPRINTS.includes(fp.algorithm))) {
    throw unacceptable(`The offer's a=fingerprint uses ${[...new Set(fingerprints.map((fp) => fp.algorithm))].join(', ')}; onecast checks the DTLS certificate with ${VERIFIABLE_FINGERPRINTS.join(', ')}, so offer a sha-256 fingerprint.`);
  }
  if (setupRaw === 'passive' || setupRaw === 'holdconn') {
    throw unacceptable(`The offer has a=setup:${setupRaw}; onecast is always the DTLS server, so offer a=setup:actpass (or active).`);
  }
  const setup = setupRaw;

  for (const kind of ['audio', 'video'] as const) {
    const n = live.filter((m) => m.kind === kind).length;
    if (n > 1) {
      throw unacceptable(`The offer has ${n} ${kind} sections; onecast takes at most one audio and one video track per session.`);
    }
  }

  live.forEach((m) => {
    const i = media.indexOf(m);
    if (role === 'publish' && (m.direction === 'recvonly' || m.direction === 'inactive')) {
      throw unacceptable(`${sectionName(m, i)} is ${m.direction}; a WHIP publisher must offer sendonly (or sendrecv) media.`);
    }
    if (role === 'play' && (m.direction === 'sendonly' || m.direction === 'inactive')) {
      throw unacceptable(`${sectionName(m, i)} is ${m.direction}; a WHEP player must offer recvonly (or sendrecv) media.`);
    }
  });

  if (!bundle) {
    throw unacceptable('The offer does not use BUNDLE; onecast needs all media on one transport, so offer a=group:BUNDLE with every media section (bundlePolicy "max-bundle").');
  }
  live.forEach((m) => {
    const i = media.indexOf(m);
    if (!m.mid) {
      throw unacceptable(`${sectionName(m, i)} has no a=mid; onecast needs every media section in the BUNDLE group.`);
    }
    if (!bundle.items.includes(m.mid)) {
      throw unacceptable(`${sectionName(m, i)} is not in the BUNDLE group; onecast needs every media section bundled on one transport.`);
    }
  });
  live.forEach((m) => {
    if (!m.rtcpMux) {
      throw unacceptable(`${sectionName(m, media.indexOf(m))} has no a=rtcp-mux; onecast needs RTP and RTCP multiplexed on one port.`);
    }
  });
  liveSections.forEach((s, i) => {
    if (!/SAVP/i.test(s.proto)) {
      throw unacceptable(`${sectionName(live[i]!, media.indexOf(live[i]!))} uses the profile ${s.proto}; onecast needs DTLS-SRTP (UDP/TLS/RTP/SAVPF).`);
    }
  });

  const candidates: ParsedOffer['candidates'] = [];
  const seen = new Set<string>();
  for (const line of [...session, ...sections.flatMap((s) => s.lines)]) {
    const a = attrOf(line);
    if (a?.name !== 'candidate' || !a.value) continue;
    const c = parseCandidate(a.value);
    if (!c) continue;
    const key = `${c.protocol} ${c.ip} ${c.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    candidates.push(c);
  }

  return {
    iceUfrag,
    icePwd,
    fingerprints,
    setup,
    bundleMids: [...bundle.items],
    media,
    candidates,
    extmapAllowMixed: hasFlag(session, 'extmap-allow-mixed') || sections.some((s) => hasFlag(s.lines, 'extmap-allow-mixed')),
  };
}

function offeredMedia(
  s: Section,
  index: number,
  parsed: SessionDescription,
  sessionDirection: Direction | undefined,
): OfferedMedia {
  const w = parsed.media[index]!;
  const kind = s.kind as MediaKind;
  const bundleOnly = hasFlag(s.lines, 'bundle-only');
  const disabled = s.port === 0 && !bundleOnly;

  const payloadTypes: number[] = [];
  for (const f of s.fmts) {
    if (!/^\d{1,3}$/.test(f) || Number(f) > 127) {
      throw bad(`Line ${s.lineNo} of the offer lists ${quote(f)} as an RTP payload type; payload types are numbers from 0 to 127.`);
    }
    if (!payloadTypes.includes(Number(f))) payloadTypes.push(Number(f));
  }

  const codecs: Codec[] = [];
  const offeredCodecNames: string[] = [];
  for (const pt of payloadTypes) {
    const wc = w.rtp.codecs.find((c) => c.payloadType === pt);
    const name = wc ? wc.mimeType.slice(wc.mimeType.indexOf('/') + 1) : STATIC_PAYLOAD_NAMES[pt];
    if (!name) continue;
    if (!offeredCodecNames.some((n) => n.toLowerCase() === name.toLowerCase())) offeredCodecNames.push(name);
    if (!wc) continue;
    const fmtp = parseFmtp(wc.parameters);
    const rtcpFeedback: string[] = [];
    for (const fb of wc.rtcpFeedback) {
      const text = fb.parameter ? `${fb.type} ${fb.parameter}` : fb.type;
      if (!rtcpFeedback.includes(text)) rtcpFeedback.push(text);
    }
    const lower = name.toLowerCase();
    if (kind === 'video' && lower === 'h264' && wc.clockRate === 90000 && isUsableH264(fmtp)) {
      codecs.push({ payloadType: pt, name: 'H264', clockRate: 90000, fmtp, rtcpFeedback });
    } else if (kind === 'video' && lower === 'vp8' && wc.clockRate === 90000) {
      codecs.push({ payloadType: pt, name: 'VP8', clockRate: 90000, fmtp, rtcpFeedback });
    } else if (kind === 'audio' && lower === 'opus' && wc.clockRate === 48000) {
      codecs.push({ payloadType: pt, name: 'opus', clockRate: 48000, channels: 2, fmtp, rtcpFeedback });
    }
  }

  const extensions: HeaderExtension[] = [];
  for (const e of w.rtp.headerExtensions) {
    if (Number.isInteger(e.id) && e.id > 0 && !extensions.some((x) => x.id === e.id)) extensions.push({ id: e.id, uri: e.uri });
  }

  const repair = new Set<number>();
  const rtxSsrcs: number[] = [];
  for (const g of w.ssrcGroup) {
    if (g.semantic !== 'FID' && g.semantic !== 'FEC-FR') continue;
    for (const item of g.items.slice(1)) {
      const n = Number(item);
      if (!isSsrc(n)) continue;
      repair.add(n);
      if (g.semantic === 'FID' && !rtxSsrcs.includes(n)) rtxSsrcs.push(n);
    }
  }
  const ssrcs = w.ssrc.map((d) => d.ssrc).filter((n) => isSsrc(n) && !repair.has(n));
  const cname = w.ssrc.find((d) => d.cname)?.cname;

  return {
    mid: first(s.lines, 'mid') ?? '',
    kind,
    port: s.port,
    bundleOnly,
    disabled,
    direction: directionOf(s.lines) ?? sessionDirection ?? 'sendrecv',
    payloadTypes,
    codecs,
    offeredCodecNames,
    extensions,
    ssrcs: [...new Set(ssrcs)],
    rtxSsrcs,
    ...(cname !== undefined ? { cname } : {}),
    rtcpMux: hasFlag(s.lines, 'rtcp-mux'),
    rtcpRsize: hasFlag(s.lines, 'rtcp-rsize'),
  };
}

function isSsrc(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

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
    throw new Error('negotiate() handles the publish role; a play offer is matched against the publisher\'s codecs.');
  }
  const out: NegotiatedMedia[] = [];
  for (const m of offer.media) {
    if (m.disabled) continue;
    const codec = m.codecs[0];
    if (!codec) throw unacceptable(noCodecMessage(m));
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
