// The recordings on disk, as one place knows them: RECORDINGS_DIR/{room}/{id}/ holds the
// HLS playlist index.m3u8 and its segments seg_NNNNN.ts (written by ffmpeg), meta.json
// (written by the recorder, closed by the start-up repair) and recording.mp4 (made from
// the playlist on the first download). The recorder, the recordings index, the HTTP
// routes, the start-up repair and retention all find their files here.
//
// It is also the only place where names from a URL become paths: every name is checked
// against its rule (src/names.ts), and every path is checked, before and after following
// symlinks, to lie inside RECORDINGS_DIR.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isRecordingId, isRoomName, recordingId } from '../names';
import type { RecordingStatus } from './recordingInfo';

/** meta.json: written by the recorder (src/recorder/playlistGuard.ts), read by the index and the start-up repair. */
export interface RecordingMeta {
  room: string;
  id: string;
  /** When recording started (ISO 8601). */
  startedAt: string;
  endedAt: string | null;
  /** The sum of the playlist's EXTINF durations, once finished. */
  durationSeconds: number | null;
  /** Codec names as published: 'H264' | 'VP8' | null, 'opus' | null. */
  video: string | null;
  audio: string | null;
  /** Older recordings may lack these two. 'interrupted': onecast died while recording (closed at the next start, src/recordings/repair.ts). */
  status?: RecordingStatus;
  /** Why it failed, when status is 'failed'. */
  error?: string | null;
}

export const PLAYLIST_NAME = 'index.m3u8';
const META_NAME = 'meta.json';
/** The MP4 made from the HLS on the first download, kept beside the playlist. */
const MP4_NAME = 'recording.mp4';
/** The segment file name pattern given to ffmpeg (-hls_segment_filename). */
const SEGMENT_PATTERN = 'seg_%05d.ts';
/** The names SEGMENT_PATTERN produces (more digits once 99999 is passed). */
const SEGMENT_NAME = /^seg_(\d+)\.ts$/;
/** The files served over HTTP: the playlist and its MPEG-TS segments. */
const SERVED_FILE = /^(?:index\.m3u8|seg_\d{5}\.ts)$/;

/** A file of a recording that may be served over HTTP: its playlist or one of its segments. */
export function isRecordingFile(s: unknown): s is string {
  return typeof s === 'string' && SERVED_FILE.test(s);
}

/** The index in a segment file name written with SEGMENT_PATTERN, or undefined. */
export function segmentIndex(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** A new recording id (src/names.ts's recordingId with 32 random bits). */
export function newRecordingId(date: Date = new Date()): string {
  return recordingId(date, randomBytes(4).toString('hex'));
}

/** The files of the recording in `dir`. */
export function playlistFile(dir: string): string {
  return path.join(dir, PLAYLIST_NAME);
}

export function metaFile(dir: string): string {
  return path.join(dir, META_NAME);
}

export function mp4File(dir: string): string {
  return path.join(dir, MP4_NAME);
}

/** Where a recording is served over HTTP (src/http/recordings.ts): its HLS playlist and its MP4 download. */
export function recordingPaths(room: string, id: string): { playlist: string; download: string } {
  const base = `/recordings/${room}/${id}`;
  return { playlist: `${base}/${PLAYLIST_NAME}`, download: `${base}.mp4` };
}

/** A segment the playlist in `dir` lists (playlist URIs are relative to the playlist). */
export function segmentFile(dir: string, uri: string): string {
  return path.join(dir, uri);
}

/** What ffmpeg is told to write the segments of the recording in `dir` as. */
export function segmentFilePattern(dir: string): string {
  return path.join(dir, SEGMENT_PATTERN);
}

/** The recordings folder (RECORDINGS_DIR) and the rooms' and recordings' folders in it. */
export class RecordingsLayout {
  /** Absolute. */
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /**
   * Where a new recording of `room` with id `id` is written. Throws on a malformed name:
   * the caller made them (a room that was admitted, newRecordingId), so that is a bug.
   */
  recordingDir(room: string, id: string): string {
    if (!isRoomName(room) || !isRecordingId(id)) throw new Error(`not a recording's room and id: ${JSON.stringify([room, id])}`);
    return path.join(this.root, room, id);
  }

  /**
   * The absolute path of a room's folder, a recording's folder, or one of a recording's
   * served files (index.m3u8, seg_NNNNN.ts) — or undefined when a name is malformed, the
   * path does not exist, or it (or a symlink on the way) leads outside the recordings folder.
   */
  async resolve(room: string, id?: string, file?: string): Promise<string | undefined> {
    if (!isRoomName(room)) return undefined;
    if (id !== undefined && !isRecordingId(id)) return undefined;
    if (file !== undefined && (id === undefined || !isRecordingFile(file))) return undefined;
    const parts = [room, id, file].filter((p): p is string => p !== undefined);
    return this.inside(path.resolve(this.root, ...parts));
  }

  /** `candidate` when it exists and lies inside the recordings folder both as written and with symlinks followed. */
  async inside(candidate: string): Promise<string | undefined> {
    const resolved = path.resolve(candidate);
    if (!isWithin(this.root, resolved)) return undefined;
    try {
      const [realRoot, realTarget] = await Promise.all([fs.realpath(this.root), fs.realpath(resolved)]);
      if (!isWithin(realRoot, realTarget)) return undefined;
    } catch {
      return undefined;
    }
    return resolved;
  }

  /**
   * The room and id of everything named like a recording id inside a folder named like a
   * room (whether or not it is a recording; resolve() vets the recording's own folder).
   */
  async recordingNames(): Promise<{ room: string; id: string }[]> {
    const found: { room: string; id: string }[] = [];
    for (const room of (await filesIn(this.root)).filter(isRoomName)) {
      const roomDir = await this.resolve(room);
      if (roomDir === undefined) continue;
      for (const id of (await filesIn(roomDir)).filter(isRecordingId)) found.push({ room, id });
    }
    return found;
  }
}

/** Strictly inside: `root` itself does not count. */
export function isWithin(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) && !rel.includes('\0');
}

/** The names in a folder of the recordings tree; none when it is gone (deleted meanwhile) or unreadable. */
export async function filesIn(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch {
    return [];
  }
}
