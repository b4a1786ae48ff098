// The lite client's SDP: the offer it sends (what a browser or OBS would offer, minus the
// codecs it never uses) and the few answer fields it needs to run ICE and DTLS.
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { MediaKind } from '../../../src/rtp/mediaKind';

export const PUBLISH_VIDEO_PT = 96;
export const PLAY_VIDEO_PT = 102;
export const AUDIO_PT = 111;

export interface OfferParams {
  role: 'publish' | 'play';
  kinds: MediaKind[];
  ufrag: string;
  pwd: string;
  fingerprint: string;
  videoSsrc: number;
  audioSsrc: number;
  cname: string;
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
  p.kinds.forEach((kind, i) => {
    const pt = kind === 'audio' ? AUDIO_PT : p.role === 'publish' ? PUBLISH_VIDEO_PT : PLAY_VIDEO_PT;
    lines.push(
      `m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}`,
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
    if (kind === 'audio') {
      lines.push(`a=rtpmap:${pt} opus/48000/2`, `a=rtcp-fb:${pt} transport-cc`, `a=fmtp:${pt} minptime=10;useinbandfec=1`);
    } else {
      lines.push(
        `a=rtpmap:${pt} H264/90000`,
        `a=rtcp-fb:${pt} goog-remb`,
        `a=rtcp-fb:${pt} nack`,
        `a=rtcp-fb:${pt} nack pli`,
        `a=rtcp-fb:${pt} ccm fir`,
        `a=fmtp:${pt} profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1`,
      );
    }
    if (p.role === 'publish') {
      const ssrc = kind === 'audio' ? p.audioSsrc : p.videoSsrc;
      lines.push(`a=msid:${streamId} ${streamId}-${kind}`, `a=ssrc:${ssrc} cname:${p.cname}`, `a=ssrc:${ssrc} msid:${streamId} ${streamId}-${kind}`);
    }
  });
  return lines.join('\r\n') + '\r\n';
}

export interface ParsedAnswer {
  iceUfrag: string;
  icePwd: string;
  fingerprint: { algorithm: string; value: string };
  candidates: { ip: string; port: number }[];
  /** a=ssrc values per mid (play role: what the server will send) */
  ssrcs: Map<string, number[]>;
}

export function parseAnswer(sdp: string): ParsedAnswer {
  let iceUfrag: string | undefined;
  let icePwd: string | undefined;
  let fingerprint: ParsedAnswer['fingerprint'] | undefined;
  const candidates: ParsedAnswer['candidates'] = [];
  const ssrcs = new Map<string, number[]>();
  let mid = '';
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) mid = '';
    else if (line.startsWith('a=mid:')) mid = line.slice(6);
    else if (line.startsWith('a=ice-ufrag:')) iceUfrag ??= line.slice(12);
    else if (line.startsWith('a=ice-pwd:')) icePwd ??= line.slice(10);
    else if (line.startsWith('a=fingerprint:') && fingerprint === undefined) {
      const [algorithm, value] = line.slice(14).split(' ');
      if (algorithm && value) fingerprint = { algorithm: algorithm.toLowerCase(), value: value.toUpperCase() };
    } else if (line.startsWith('a=candidate:')) {
      const m = /^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ (\S+)/.exec(line);
      if (m && m[1]!.toLowerCase() === 'udp' && isIP(m[2]!) === 4) candidates.push({ ip: m[2]!, port: Number(m[3]) });
    } else if (line.startsWith('a=ssrc:')) {
      const n = Number(/^a=ssrc:(\d+)/.exec(line)?.[1]);
      if (Number.isInteger(n)) {
        const list = ssrcs.get(mid) ?? [];
        if (!list.includes(n)) list.push(n);
        ssrcs.set(mid, list);
      }
    }
  }
  if (!iceUfrag || !icePwd) throw new Error('the answer has no a=ice-ufrag / a=ice-pwd');
  if (!fingerprint) throw new Error('the answer has no a=fingerprint');
  if (candidates.length === 0) throw new Error('the answer has no udp IPv4 host candidate');
  return { iceUfrag, icePwd, fingerprint, candidates, ssrcs };
}
