// The rooms a grant names: a room name, or a pattern in which `*` stands for any run of
// room-name characters ("team-*" covers "team-a" and "team-", "*" every room). Stream
// keys files and JWT claims name rooms the same way.

/** A room name with `*` where any run of room-name characters may stand. */
const PATTERN = /^[A-Za-z0-9_*-]{1,128}$/;

/** The rule in words, for the lines that refuse a pattern. */
export const ROOM_PATTERN_RULE = 'a room name (A–Z a–z 0–9 _ -) in which * stands for any run of those characters';

const ROOM_CHARACTERS = /^[A-Za-z0-9_-]*$/;

export type RoomMatcher = (room: string) => boolean;

export function isRoomPattern(s: unknown): s is string {
  return typeof s === 'string' && PATTERN.test(s);
}

/** Whether `room` is covered by `pattern` (already checked with isRoomPattern). */
export function roomMatcher(pattern: string): RoomMatcher {
  if (!pattern.includes('*')) return (room) => room === pattern;
  // Pieces between the stars, matched left to right, each at its first place: a glob with
  // only '*' needs nothing more, and unlike a regular expression it cannot backtrack (a
  // pattern like "*-*-*" against a long name of '-' took a regex 1.6 s).
  const pieces = pattern.split(/\*+/);
  const head = pieces[0]!;
  const tail = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((p) => p !== '');
  return (room) => {
    if (!ROOM_CHARACTERS.test(room)) return false;
    if (room.length < head.length + tail.length || !room.startsWith(head) || !room.endsWith(tail)) return false;
    let at = head.length;
    const end = room.length - tail.length;
    for (const piece of middle) {
      const found = room.indexOf(piece, at);
      if (found < 0 || found + piece.length > end) return false;
      at = found + piece.length;
    }
    return true;
  };
}

/** Whether any of `matchers` covers `room`. */
export function anyMatches(matchers: readonly RoomMatcher[], room: string): boolean {
  return matchers.some((m) => m(room));
}
