// Reads SDP text as lines before anything interprets it: splits the text into session lines and
// m-sections, and checks every line's syntax. werift's parser accepts any text and throws TypeErrors
// on some malformed lines, so each line is checked here first and a malformed offer gets a message
// naming the line. The attribute lookups (attrs, first, hasFlag, directionOf) are shared by the
// modules that read an offer further (offer.ts, mediaSection.ts).
import { OfferError } from './types';

const DIRECTIONS = ['sendrecv', 'sendonly', 'recvonly', 'inactive'] as const;
export type Direction = (typeof DIRECTIONS)[number];

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

/** Attributes whose value starts with an RTP payload type (or "*" for rtcp-fb). */
const PAYLOAD_TYPE_ATTRIBUTES: ReadonlySet<string> = new Set(['rtpmap', 'fmtp', 'rtcp-fb']);

/** One m-section of an offer, as written. */
export interface Section {
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

/** A malformed-offer error: not (well-formed) SDP. */
export function bad(message: string): OfferError {
  return new OfferError('malformed', message);
}

/** An offer onecast cannot serve, though it is well-formed SDP. */
export function unacceptable(message: string): OfferError {
  return new OfferError('unacceptable', message);
}

/** A line as it goes into a message: JSON-quoted, long lines shortened. */
export function quote(line: string): string {
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line);
}

export function attrOf(line: string): Attr | undefined {
  if (!line.startsWith('a=')) return undefined;
  const body = line.slice(2);
  const colon = body.indexOf(':');
  if (colon < 0) return { name: body.trim(), value: undefined };
  return { name: body.slice(0, colon).trim(), value: body.slice(colon + 1).trim() };
}

export function attrs(lines: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const a = attrOf(line);
    if (a && a.name === name) out.push(a.value ?? '');
  }
  return out;
}

export function hasFlag(lines: readonly string[], name: string): boolean {
  return lines.some((line) => attrOf(line)?.name === name);
}

export function first(lines: readonly string[], name: string): string | undefined {
  return attrs(lines, name)[0];
}

export function directionOf(lines: readonly string[]): Direction | undefined {
  let dir: Direction | undefined;
  for (const line of lines) {
    const a = attrOf(line);
    if (a && a.value === undefined && (DIRECTIONS as readonly string[]).includes(a.name)) dir = a.name as Direction;
  }
  return dir;
}

export function splitLines(sdp: string): string[] {
  return sdp
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** C0 controls but tab, and DEL: never in SDP text (lines are already split at CR and LF). */
function isControlCode(code: number): boolean {
  return code <= 0x08 || (code >= 0x0a && code <= 0x1f) || code === 0x7f;
}

function checkSyntax(line: string, lineNo: number): void {
  if (!/^[a-z]=/.test(line)) {
    throw bad(`Line ${lineNo} of the offer, ${quote(line)}, is not an SDP line ("x=value"); send the SDP offer unchanged.`);
  }
  // SDP is text (RFC 8866 §9): a NUL or other control character means a corrupted or binary body.
  const control = [...line].map((ch) => ch.charCodeAt(0)).find(isControlCode);
  if (control !== undefined) {
    const code = `U+${control.toString(16).toUpperCase().padStart(4, '0')}`;
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
    if (a.value === undefined || !credential.syntax.test(a.value))
      throw bad(`Line ${lineNo} of the offer, ${quote(line)}, is not a valid a=${a.name}: ${credential.rule} (RFC 8839).`);
  }
  if (PAYLOAD_TYPE_ATTRIBUTES.has(a.name)) {
    const pt = a.value!.split(' ')[0]!;
    if (pt !== '*' && Number(pt) > 127)
      throw bad(`Line ${lineNo} of the offer, ${quote(line)}, names payload type ${pt}; payload types are numbers from 0 to 127.`);
  }
}

/** RFC 8866 §5: a description opens with v=, o=, s= and t= before its first m= line. */
export function checkSessionLines(session: readonly string[]): void {
  for (const [type, what] of [
    ['o', 'origin'],
    ['s', 'session name'],
    ['t', 'timing'],
  ] as const) {
    if (!session.some((line) => line.startsWith(`${type}=`))) {
      throw bad(
        `The SDP offer has no ${type}= (${what}) line before its first m= line; an SDP offer begins with v=, o=, s= and t= lines, so send it as the WebRTC stack produced it.`,
      );
    }
  }
  const origin = session.find((line) => line.startsWith('o='))!;
  if (!/^o=\S+ \d+ \d+ IN IP[46] \S+$/.test(origin)) {
    throw bad(`The offer's origin line ${quote(origin)} is malformed; it must read "o=<username> <session id> <version> IN IP4 <address>".`);
  }
}

/** Session lines and m-sections of an offer, every line syntax-checked on the way. */
export function splitSections(lines: string[]): { session: string[]; sections: Section[] } {
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
