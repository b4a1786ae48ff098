// Writes the SDP answer onecast returns to a WHIP publisher or a WHEP player: ICE-lite,
// DTLS server (a=setup:passive), BUNDLE, rtcp-mux, one codec per section, every host
// candidate in every live section. The text is written here, not by werift's serializer.
import { randomBytes } from 'node:crypto';
import { formatFmtp } from './fmtp';
import type { AnswerParams, NegotiatedMedia, OfferedMedia } from './types';

const PROFILE = 'UDP/TLS/RTP/SAVPF';

/** RFC 8445 §5.1.2.1 priority of a host candidate: type preference 126, component 1. */
export function hostCandidatePriority(index: number): number {
  const typePreference = 126;
  const localPreference = Math.max(0, 65535 - index);
  const component = 1;
  return typePreference * 2 ** 24 + localPreference * 2 ** 8 + (256 - component);
}

function bareAddress(ip: string): string {
  return ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
}

function sessionId(): string {
  // 62 random bits: fits the signed 64-bit integers some parsers use for o= session ids.
  return (randomBytes(8).readBigUInt64BE() >> 2n).toString();
}

function rtpmap(m: NegotiatedMedia): string {
  const c = m.codec;
  const encoding = c.name === 'opus' ? `opus/48000/2` : `${c.name}/${c.clockRate}`;
  return `a=rtpmap:${c.payloadType} ${encoding}`;
}

function disabledSection(o: OfferedMedia): string[] {
  const pt = o.payloadTypes[0] ?? 0;
  const lines = [`m=${o.kind} 0 ${PROFILE} ${pt}`, 'c=IN IP4 0.0.0.0'];
  if (o.mid) lines.push(`a=mid:${o.mid}`);
  return lines;
}

/** The a=candidate lines for onecast's host candidates (the same in answers and ICE-restart fragments). */
export function hostCandidateLines(candidates: readonly { ip: string; port: number }[]): string[] {
  return candidates.map((c, i) => `a=candidate:${i + 1} 1 udp ${hostCandidatePriority(i)} ${bareAddress(c.ip)} ${c.port} typ host`);
}

/**
 * The answer text, CRLF line endings. Publish role: a=recvonly sections. Play role (media from
 * negotiatePlay): a=sendonly sections with a=msid and a=ssrc from sendSsrcs (throws when a sending
 * section has none), a=inactive for sections the publisher has no track for, a=msid-semantic.
 */
export function buildAnswer(p: AnswerParams): string {
  const negotiated = new Map(p.media.map((m) => [m.mid, m] as const));
  const sections = p.offer.media.map((o) => ({ offered: o, negotiated: o.disabled ? undefined : negotiated.get(o.mid) }));
  const liveMids = sections.filter((s) => s.negotiated).map((s) => s.offered.mid);

  const lines = ['v=0', `o=- ${sessionId()} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=ice-lite'];
  if (liveMids.length > 0) lines.push(`a=group:BUNDLE ${liveMids.join(' ')}`);
  if (p.offer.extmapAllowMixed) lines.push('a=extmap-allow-mixed');
  if (p.role === 'play') lines.push('a=msid-semantic: WMS *');

  const candidateLines = hostCandidateLines(p.candidates);

  for (const { offered, negotiated: m } of sections) {
    if (!m) {
      lines.push(...disabledSection(offered));
      continue;
    }
    const pt = m.codec.payloadType;
    // Play role: a viewer section the publisher has no track for (PlayMedia.sourceKind undefined) stays
    // in the bundle, inactive; every other play section sends and must say which SSRC it sends on.
    const inactive = p.role === 'play' && 'sourceKind' in m && m.sourceKind === undefined;
    const send = p.role === 'play' && !inactive ? p.sendSsrcs?.get(offered.mid) : undefined;
    if (p.role === 'play' && !inactive && !send) {
      throw new Error(`buildAnswer: play role needs sendSsrcs for mid ${JSON.stringify(offered.mid)} (a=ssrc is required by libdatachannel players).`);
    }
    lines.push(
      `m=${offered.kind} 9 ${PROFILE} ${pt}`,
      'c=IN IP4 0.0.0.0',
      `a=mid:${offered.mid}`,
      `a=ice-ufrag:${p.iceUfrag}`,
      `a=ice-pwd:${p.icePwd}`,
      `a=fingerprint:${p.fingerprint}`,
      'a=setup:passive',
      p.role === 'publish' ? 'a=recvonly' : inactive ? 'a=inactive' : 'a=sendonly',
      'a=rtcp-mux',
      'a=rtcp-mux-only',
    );
    if (offered.rtcpRsize) lines.push('a=rtcp-rsize');
    lines.push(rtpmap(m));
    const fmtp = formatFmtp(m.codec.fmtp);
    if (fmtp) lines.push(`a=fmtp:${pt} ${fmtp}`);
    for (const fb of m.rtcpFeedback) lines.push(`a=rtcp-fb:${pt} ${fb}`);
    for (const e of m.extensions) lines.push(`a=extmap:${e.id} ${e.uri}`);
    if (send) {
      lines.push(`a=msid:${send.msid} ${send.trackId}`, `a=ssrc:${send.ssrc} cname:${send.cname}`, `a=ssrc:${send.ssrc} msid:${send.msid} ${send.trackId}`);
    }
    lines.push(...candidateLines, 'a=end-of-candidates');
  }
  return lines.join('\r\n') + '\r\n';
}
