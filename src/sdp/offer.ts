// Parses and validates a WHIP/WHEP offer as a whole: the lines (sdpLines.ts), each m-section
// (mediaSection.ts), then what onecast needs of the session: ICE credentials, a DTLS fingerprint
// it can check, a=setup, one audio and one video section at most, directions that fit the role,
// BUNDLE, rtcp-mux, DTLS-SRTP. Malformed SDP is told apart from SDP onecast cannot accept, and
// every malformed check runs before any acceptability check. Pure functions. Which codec,
// extensions and feedback to answer is negotiate.ts's job.
import { offeredMedia, parseWithWerift, weriftInput } from './mediaSection';
import { attrOf, attrs, bad, checkSessionLines, directionOf, first, hasFlag, splitLines, splitSections, unacceptable } from './sdpLines';
import { type OfferedMedia, type ParsedOffer, type Role } from './types';

/** Digest sizes of the RFC 8122 hash functions; onecast can check the DTLS certificate with the SHA ones. */
const FINGERPRINT_BYTES: Record<string, number> = { md2: 16, md5: 16, 'sha-1': 20, 'sha-224': 28, 'sha-256': 32, 'sha-384': 48, 'sha-512': 64 };
const VERIFIABLE_FINGERPRINTS = ['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512'];

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
      throw unacceptable(
        'The offer has a data channel (m=application); onecast carries audio and video only, so create the connection without a data channel.',
      );
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
      throw bad(
        `The offer's a=fingerprint:${fp.algorithm} is ${bytes} bytes long, but ${fp.algorithm} digests are ${expected} bytes; send the fingerprint of the DTLS certificate unchanged.`,
      );
    }
  }
  const setupRaw = (pick('setup') ?? 'actpass').toLowerCase();
  if (setupRaw !== 'actpass' && setupRaw !== 'active' && setupRaw !== 'passive' && setupRaw !== 'holdconn') {
    throw bad(`The offer has an unknown a=setup:${setupRaw}; it must be actpass, active or passive.`);
  }

  // From here on the offer is well-formed; what follows is what onecast can or cannot accept.
  if (!fingerprints.some((fp) => VERIFIABLE_FINGERPRINTS.includes(fp.algorithm))) {
    throw unacceptable(
      `The offer's a=fingerprint uses ${[...new Set(fingerprints.map((fp) => fp.algorithm))].join(', ')}; onecast checks the DTLS certificate with ${VERIFIABLE_FINGERPRINTS.join(', ')}, so offer a sha-256 fingerprint.`,
    );
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
    throw unacceptable(
      'The offer does not use BUNDLE; onecast needs all media on one transport, so offer a=group:BUNDLE with every media section (bundlePolicy "max-bundle").',
    );
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
