// Reading the HLS media playlist ffmpeg writes (RFC 8216 §4.3), enough to check it,
// repair it and continue it after an ffmpeg restart. Pure.
import { segmentIndex } from '../recordings/layout';

export interface PlaylistSegment {
  uri: string;
  /** EXTINF seconds. */
  duration: number;
  /** An #EXT-X-DISCONTINUITY precedes this segment. */
  discontinuity: boolean;
}

export interface Playlist {
  /** Starts with #EXTM3U (an empty or truncated file does not). */
  valid: boolean;
  playlistType: string | undefined;
  mediaSequence: number;
  segments: PlaylistSegment[];
  endList: boolean;
}

export function parsePlaylist(text: string): Playlist {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const out: Playlist = { valid: lines[0] === '#EXTM3U', playlistType: undefined, mediaSequence: 0, segments: [], endList: false };
  if (!out.valid) return out;
  let duration: number | undefined;
  let discontinuity = false;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    if (line.startsWith('#EXTINF:')) {
      const d = Number.parseFloat(line.slice(8));
      duration = Number.isFinite(d) && d >= 0 ? d : 0;
    } else if (line === '#EXT-X-DISCONTINUITY') {
      discontinuity = true;
    } else if (line === '#EXT-X-ENDLIST') {
      out.endList = true;
    } else if (line.startsWith('#EXT-X-PLAYLIST-TYPE:')) {
      out.playlistType = line.slice(21);
    } else if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) {
      out.mediaSequence = Number.parseInt(line.slice(22), 10) || 0;
    } else if (!line.startsWith('#')) {
      if (duration !== undefined) out.segments.push({ uri: line, duration, discontinuity });
      duration = undefined;
      discontinuity = false;
    }
  }
  return out;
}

/** Sum of the EXTINF durations, in seconds (rounded to the millisecond). */
export function playlistDuration(p: Playlist): number {
  return Math.round(p.segments.reduce((s, seg) => s + seg.duration, 0) * 1000) / 1000;
}

/**
 * The first segment index that neither the playlist nor any file in the directory uses,
 * so that a restarted ffmpeg overwrites nothing.
 */
export function nextFreeSegmentIndex(p: Playlist, fileNames: readonly string[]): number {
  let next = 0;
  for (const name of [...p.segments.map((s) => s.uri), ...fileNames]) {
    const i = segmentIndex(name);
    if (i !== undefined && i + 1 > next) next = i + 1;
  }
  return next;
}

/**
 * The -start_number that makes ffmpeg's hls muxer write its first new segment at
 * `nextFree`. With append_list, ffmpeg 5.1 numbers the next segment start_number + the
 * number of segments it read from the old playlist (and writes start_number as
 * EXT-X-MEDIA-SEQUENCE), so passing the next free index itself would skip that many.
 */
export function startNumberFor(nextFree: number, listedSegments: number, append: boolean): number {
  return Math.max(0, append ? nextFree - listedSegments : nextFree);
}

/** Whether `now` lists every segment `before` did, in the same order (ffmpeg only appends). */
export function extendsPlaylist(before: Playlist, now: Playlist): boolean {
  if (!now.valid || now.segments.length < before.segments.length) return false;
  return before.segments.every((s, i) => now.segments[i]!.uri === s.uri);
}

/** The playlist text with #EXT-X-ENDLIST at the end (unchanged when it is there already). */
export function withEndList(text: string): string {
  if (/^#EXT-X-ENDLIST\s*$/m.test(text)) return text;
  return text.replace(/\s*$/, '\n') + '#EXT-X-ENDLIST\n';
}

/** The playlist text without the segments whose URIs are in `drop`; a discontinuity they carried moves to the next segment. */
export function withoutSegments(text: string, drop: ReadonlySet<string>): string {
  if (drop.size === 0) return text;
  const out: string[] = [];
  let pending: string[] = [];
  let carryDiscontinuity = false;
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t.startsWith('#EXTINF:') || t === '#EXT-X-DISCONTINUITY' || t.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      pending.push(line);
    } else if (t !== '' && !t.startsWith('#')) {
      const hasDiscontinuity = pending.some((l) => l.trim() === '#EXT-X-DISCONTINUITY');
      if (drop.has(t)) {
        carryDiscontinuity ||= hasDiscontinuity;
      } else {
        if (carryDiscontinuity && !hasDiscontinuity) out.push('#EXT-X-DISCONTINUITY');
        carryDiscontinuity = false;
        out.push(...pending, line);
      }
      pending = [];
    } else {
      out.push(...pending, line);
      pending = [];
    }
  }
  out.push(...pending);
  return out.join('\n');
}
