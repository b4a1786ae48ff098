// Trickle ICE and ICE restart bodies (RFC 8840 application/trickle-ice-sdpfrag,
// as WHIP §4.3.1 and WHEP use them): read the client's fragment, write ours.
import { OfferError } from './types';
import { hostCandidateLines } from './answer';
import { ICE_CREDENTIALS } from './sdpLines';

export interface SdpFrag {
  /** The ICE credentials the fragment carries; new ones mean an ICE restart. */
  iceUfrag: string | undefined;
  icePwd: string | undefined;
  /** a=candidate lines as sent (onecast is ICE-lite and does not use them). */
  candidates: string[];
  mids: string[];
  endOfCandidates: boolean;
}

/** Parses a fragment; throws OfferError (malformed) with a reason when it is not one. */
export function parseSdpFrag(text: string): SdpFrag {
  const frag: SdpFrag = { iceUfrag: undefined, icePwd: undefined, candidates: [], mids: [], endOfCandidates: false };
  const lines = text.split(/\r\n|\n|\r/).filter((l) => l !== '');
  if (lines.length === 0) throw new OfferError('malformed', 'The PATCH body is empty; send an SDP fragment with a=ice-ufrag / a=candidate lines.');
  for (const line of lines) {
    if (!/^[a-z]=/.test(line))
      throw new OfferError('malformed', `"${line.slice(0, 40)}" is not an SDP line; send an application/trickle-ice-sdpfrag body (RFC 8840).`);
    if (line.startsWith('a=ice-ufrag:')) frag.iceUfrag = line.slice(12).trim();
    else if (line.startsWith('a=ice-pwd:')) frag.icePwd = line.slice(10).trim();
    else if (line.startsWith('a=candidate:')) frag.candidates.push(line.slice(2));
    else if (line.startsWith('a=mid:')) frag.mids.push(line.slice(6).trim());
    else if (line === 'a=end-of-candidates') frag.endOfCandidates = true;
  }
  if (frag.iceUfrag !== undefined && !ICE_CREDENTIALS['ice-ufrag'].syntax.test(frag.iceUfrag)) {
    throw new OfferError('malformed', 'a=ice-ufrag must be 4 to 256 ICE characters (A-Z a-z 0-9 + /).');
  }
  if (frag.icePwd !== undefined && !ICE_CREDENTIALS['ice-pwd'].syntax.test(frag.icePwd)) {
    throw new OfferError('malformed', 'a=ice-pwd must be 22 to 256 ICE characters (A-Z a-z 0-9 + /).');
  }
  return frag;
}

/** The server's fragment after an ICE restart: its new credentials and its candidates. */
export function buildRestartFrag(p: {
  iceUfrag: string;
  icePwd: string;
  mids: readonly string[];
  candidates: readonly { ip: string; port: number }[];
}): string {
  const lines = ['a=ice-lite', `a=ice-ufrag:${p.iceUfrag}`, `a=ice-pwd:${p.icePwd}`];
  // With BUNDLE every section shares one transport: its candidates go under the first mid.
  const [first] = p.mids;
  if (first !== undefined) lines.push('m=audio 9 UDP/TLS/RTP/SAVPF 0', `a=mid:${first}`);
  lines.push(...hostCandidateLines(p.candidates), 'a=end-of-candidates');
  return lines.join('\r\n') + '\r\n';
}
