// The names onecast accepts and makes: room names, a room's part of an ICE ufrag, and
// recording ids. No imports, so that the browser pages (common/, whip/, whep/) check a
// room name by the same rule as the server.

/**
 * A room name's characters and length, written so that it also works as an HTML
 * `pattern` attribute: browsers compile those with the `v` flag, where a `-` inside
 * a character class must be escaped.
 */
export const ROOM_NAME_PATTERN = '[A-Za-z0-9_\\-]{1,64}';

/** A room name: 1 to 64 characters of A-Z a-z 0-9 _ - (it is a URL path segment and a folder name). */
export const ROOM_NAME = new RegExp(`^${ROOM_NAME_PATTERN}$`);

/** The room name rule in words, for people (form field titles, problem details). */
export const ROOM_NAME_RULE = '1–64 characters of A–Z a–z 0–9 _ -';

export function isRoomName(s: unknown): s is string {
  return typeof s === 'string' && ROOM_NAME.test(s);
}

/**
 * A room's name as it goes before the slash in an ICE ufrag. ICE ufrags allow only
 * A-Z a-z 0-9 + / (RFC 8839 ice-char); room names may hold '-' and '_', so those
 * become '+2D' and '+5F': '+' never occurs in a room name, which keeps the mapping
 * one-to-one and readable.
 */
export function iceRoomName(room: string): string {
  return room.replace(/[-_]/g, (c) => `+${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A recording id, which names the recording's folder inside its room's: 1 to 64 of
 * A-Z a-z 0-9 - (no dots, no slashes). The ids onecast makes are the start time in
 * UTC to the second and 32 random bits, e.g. `20261124T101500Z-3fa9c2d1`
 * (recordingId); any other id matching the rule is read too.
 */
const RECORDING_ID = /^[A-Za-z0-9-]{1,64}$/;

export function isRecordingId(s: unknown): s is string {
  return typeof s === 'string' && RECORDING_ID.test(s);
}

/**
 * The id of a recording started at `date`, with `random` (8 hex digits) after the
 * time: ids sort by time, and cannot be guessed.
 */
export function recordingId(date: Date, random: string): string {
  const stamp = date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${stamp}-${random}`;
}
