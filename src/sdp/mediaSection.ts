// Reads one m-section of an offer into OfferedMedia: its payload types, the codecs onecast can carry,
// the codec names offered, header extensions, media and repair SSRCs.
//
// werift's SessionDescription.parse does the codec/extension/SSRC bookkeeping, but it is fed a
// cleaned copy of the offer (weriftInput): on its own it always reports extmap-allow-mixed, throws
// TypeErrors on an a=fmtp without a=rtpmap, looks up BUNDLE ICE credentials by m-line index instead
// of mid and drops session-level fingerprints when no a=setup is present. So werift sees only the
// lines it is used for; ICE/DTLS attributes, bundle-only and directions come from our own line scan.
import { SessionDescription } from 'werift';
import { parseFmtp } from './fmtp';
import { isUsableH264 } from './h264';
import { attrOf, attrs, bad, directionOf, first, hasFlag, quote, type Direction, type Section } from './sdpLines';
import type { Codec, HeaderExtension, OfferedMedia } from './types';
import type { MediaKind } from '../rtp/mediaKind';

// RFC 3551 static payload types, for naming codecs offered without a=rtpmap.
const STATIC_PAYLOAD_NAMES: Record<number, string> = {
  0: 'PCMU',
  3: 'GSM',
  4: 'G723',
  5: 'DVI4',
  6: 'DVI4',
  7: 'LPC',
  8: 'PCMA',
  9: 'G722',
  10: 'L16',
  11: 'L16',
  12: 'QCELP',
  13: 'CN',
  14: 'MPA',
  15: 'G728',
  16: 'DVI4',
  17: 'DVI4',
  18: 'G729',
  25: 'CelB',
  26: 'JPEG',
  28: 'nv',
  31: 'H261',
  32: 'MPV',
  33: 'MP2T',
  34: 'H263',
};

/**
 * The copy of the offer werift gets: only the lines it is used for (codecs, extensions, SSRCs,
 * groups), with normalised m-lines and without a=fmtp lines whose payload type has no a=rtpmap.
 */
export function weriftInput(session: string[], sections: Section[]): string {
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

/** werift's reading of the cleaned copy; a throw from werift becomes a malformed-offer error. */
export function parseWithWerift(text: string): SessionDescription {
  try {
    return SessionDescription.parse(text);
  } catch (err) {
    const why = err instanceof Error && err.message ? ` (${err.message})` : '';
    throw bad(`The SDP offer could not be parsed${why}; send the offer exactly as the WebRTC stack produced it.`);
  }
}

/** The section at index of the offer, read from its lines and werift's reading of the same section. */
export function offeredMedia(s: Section, index: number, parsed: SessionDescription, sessionDirection: Direction | undefined): OfferedMedia {
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
