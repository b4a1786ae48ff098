// The STREAM_KEYS file: which keys publish to which rooms. Either JSON,
//   {"studio-a": "k3y", "team-*": ["key-1", "key-2"]}
// or one `room:key` a line (a room may have several lines; # starts a comment line):
//   studio-a:k3y
//   team-*:key-1
// A room may be a pattern (roomPattern.ts). Keys must fit in "Authorization: Bearer …"
// (RFC 6750 b64token), since that is how OBS's Bearer Token field sends them.
import { isRoomPattern, ROOM_PATTERN_RULE } from './roomPattern';

export interface StreamKeyEntry {
  /** A room or a pattern of rooms. */
  rooms: string;
  keys: string[];
}

/** A file that does not read as stream keys; the message names the line. */
export class StreamKeysError extends Error {}

const KEY = /^[A-Za-z0-9\-._~+/]{1,512}=*$/;
const KEY_RULE = '1–512 characters of A–Z a–z 0–9 - . _ ~ + / (and trailing =), as a Bearer token must be';

export function parseStreamKeys(text: string): StreamKeyEntry[] {
  return text.trimStart().startsWith('{') ? parseJson(text) : parseLines(text);
}

function parseLines(text: string): StreamKeyEntry[] {
  const byRooms = new Map<string, string[]>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    // Not quoted: a line without its colon may well be a bare key.
    if (colon === -1) throw new StreamKeysError(`line ${index + 1}: expected room:key, and the line has no colon`);
    const rooms = line.slice(0, colon).trim();
    const key = line.slice(colon + 1).trim();
    check(rooms, key, `line ${index + 1}`);
    byRooms.set(rooms, [...(byRooms.get(rooms) ?? []), key]);
  });
  return [...byRooms].map(([rooms, keys]) => ({ rooms, keys }));
}

function parseJson(text: string): StreamKeyEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // Where, never what: V8's message quotes the text around the mistake, which may be a key.
    const position = /at position (\d+)/.exec((error as Error).message);
    throw new StreamKeysError(position === null ? 'the file is not valid JSON' : `line ${lineAt(text, Number(position[1]))}: not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new StreamKeysError('line 1: the JSON must be an object of "room or pattern": "key" or ["key", …]');
  }
  return Object.entries(parsed).map(([rooms, value]) => {
    const where = `line ${lineAt(text, text.indexOf(JSON.stringify(rooms)))}`;
    const keys: unknown[] = Array.isArray(value) ? value : [value];
    if (keys.length === 0 || !keys.every((k): k is string => typeof k === 'string')) {
      throw new StreamKeysError(`${where}: "${rooms.slice(0, 80)}" must have a key or a list of keys (strings)`);
    }
    for (const key of keys) check(rooms, key, where);
    return { rooms, keys };
  });
}

function check(rooms: string, key: string, where: string): void {
  if (!isRoomPattern(rooms)) throw new StreamKeysError(`${where}: "${String(rooms).slice(0, 80)}" is not ${ROOM_PATTERN_RULE}`);
  if (!KEY.test(key)) throw new StreamKeysError(`${where}: the key for "${rooms}" must be ${KEY_RULE}`);
}

/** The 1-based line of character `position` (the first line when it is not found). */
function lineAt(text: string, position: number): number {
  if (position < 0) return 1;
  let line = 1;
  for (let i = 0; i < position && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
