// The rooms a grant names: a room name, or a pattern in which `*` stands for any run of
// room-name characters ("team-*" covers "team-a" and "team-", "*" every room). Stream
// keys files and JWT claims name rooms the same way.

/** A room name with `*` where any run of room-name characters may stand. */
const PATTERN = /^[A-Za-z0-9_*-]{1,128}$/;

/** The rule in words, for the lines that refuse a pattern. */
export const ROOM_PATTERN_RULE = 'a room name (A–Z a–z 0–9 _ -) in which * stands for any run of those characters';

export type RoomMatcher = (room: string) => boolean;

export function isRoomPattern(s: unknown): s is string {
  return typeof s === 'string' && PATTERN.test(s);
}

/** Whether `room` is covered by `pattern` (already checked with isRoomPattern). */
export function roomMatcher(pattern: string): RoomMatcher {
  if (!pattern.includes('*')) return (room) => room === pattern;
  // Room-name characters are not special in a regular expression outside a class; '*' is the only one rewritten.
  const re = new RegExp(`^${pattern.replace(/\*+/g, '[A-Za-z0-9_-]*')}$`);
  return (room) => re.test(room);
}

/** Whether any of `matchers` covers `room`. */
export function anyMatches(matchers: readonly RoomMatcher[], room: string): boolean {
  return matchers.some((m) => m(room));
}
