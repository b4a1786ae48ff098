// Recordings on disk: RECORDINGS_DIR/{room}/{id}/ holds index.m3u8, seg_00000.ts…
// and meta.json. This module is the only place where names from a URL become
// paths: every name is checked against a strict pattern, and every path is
// checked, before and after following symlinks, to lie inside RECORDINGS_DIR.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ROOM_NAME } from '../sfu/rooms';
import type { RecordingInfo, RecordingStatus } from './recordingInfo';

export type { RecordingInfo, RecordingStatus } from './recordingInfo';

/** Recording ids: what newRecordingId makes, or any 1–64 of A–Z a–z 0–9 - (no dots, no slashes). */
const ID = /^[A-Za-z0-9-]{1,64}$/;
/** The files served over HTTP: the playlist and its MPEG-TS segments. */
const SERVED_FILE = /^(?:index\.m3u8|seg_\d{5}\.ts)$/;

export const PLAYLIST = 'index.m3u8';
export const META = 'meta.json';
/** The MP4 made from the HLS on the first download, kept beside the playlist. */
export const MP4_CACHE = 'recording.mp4';

export function isRoomName(s: unknown): s is string {
  return typeof s === 'string' && ROOM_NAME.test(s);
}

export function isRecordingId(s: unknown): s is string {
  return typeof s === 'string' && ID.test(s);
}

export function isRecordingFile(s: unknown): s is string {
  return typeof s === 'string' && SERVED_FILE.test(s);
}

/**
 * A new recording id: the start time in UTC, to the second (so ids sort by
 * time), and 32 random bits (so ids cannot be guessed), e.g. `20261124T101500Z-3fa9c2d1`.
 */
export function newRecordingId(date: Date = new Date()): string {
  const stamp = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/** meta.json: written by the recorder (src/recorder/recorder.ts), read here. */
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

/** What the HTTP layer needs to know about one recording. */
export interface Recording {
  info: RecordingInfo;
  meta: RecordingMeta;
  /** Still being written: no MP4 download, no deleting. */
  inProgress: boolean;
  /** The recording's directory, vetted. */
  dir: string;
}

export interface RecordingStoreOptions {
  /**
   * The recorder's word on whether a recording is still being written. Without
   * it a recording is in progress while meta.json has no endedAt and the
   * playlist has no #EXT-X-ENDLIST.
   */
  isActive?: (room: string, id: string) => boolean;
}

export class RecordingStore {
  /** The recordings directory, absolute. */
  readonly dir: string;

  constructor(dir: string, private readonly options: RecordingStoreOptions = {}) {
    this.dir = path.resolve(dir);
  }

  /** Every readable recording (of one room, when given), newest first. */
  async list(room?: string): Promise<RecordingInfo[]> {
    let rooms: string[];
    if (room !== undefined) rooms = isRoomName(room) ? [room] : [];
    else rooms = (await readdir(this.dir)).filter(isRoomName);
    const found: Recording[] = [];
    for (const r of rooms) {
      const roomDir = await this.resolve(r);
      if (roomDir === undefined) continue;
      for (const id of (await readdir(roomDir)).filter(isRecordingId)) {
        const recording = await this.get(r, id);
        if (recording !== undefined) found.push(recording);
      }
    }
    return found.sort(newestFirst).map((rec) => rec.info);
  }

  /** One recording, or undefined when the names are malformed, it is absent, or its meta.json is unreadable. */
  async get(room: string, id: string): Promise<Recording | undefined> {
    const dir = await this.resolve(room, id);
    if (dir === undefined) return undefined;
    const metaPath = await this.inside(path.join(dir, META));
    if (metaPath === undefined) return undefined;
    const meta = parseMeta(await readText(metaPath));
    if (meta === undefined) return undefined;
    const playlistPath = await this.inside(path.join(dir, PLAYLIST));
    const playlist = playlistPath === undefined ? '' : ((await readText(playlistPath)) ?? '');
    const ended = /^#EXT-X-ENDLIST\s*$/m.test(playlist);
    const inProgress = this.options.isActive ? this.options.isActive(room, id) : meta.endedAt === null && !ended;
    const durationSeconds = !inProgress && meta.durationSeconds !== null ? meta.durationSeconds : sumExtinf(playlist);
    const base = `/recordings/${room}/${id}`;
    const info: RecordingInfo = {
      room,
      id,
      startedAt: meta.startedAt,
      endedAt: meta.endedAt,
      durationSeconds,
      playlist: `${base}/${PLAYLIST}`,
      download: `${base}.mp4`,
      // A meta.json still saying 'recording' with no recorder behind it was cut off.
      status: inProgress ? 'recording' : meta.status === undefined ? 'finished' : meta.status === 'recording' ? 'interrupted' : meta.status,
      ...(meta.error ? { error: meta.error } : {}),
    };
    return { info, meta, inProgress, dir };
  }

  /**
   * The absolute path of a room's directory, a recording's directory, or one of
   * a recording's served files (index.m3u8, seg_NNNNN.ts) — or undefined when a
   * name is malformed, the path does not exist, or it (or a symlink on the way)
   * leads outside the recordings directory.
   */
  async resolve(room: string, id?: string, file?: string): Promise<string | undefined> {
    if (!isRoomName(room)) return undefined;
    if (id !== undefined && !isRecordingId(id)) return undefined;
    if (file !== undefined && (id === undefined || !isRecordingFile(file))) return undefined;
    const parts = [room, id, file].filter((p): p is string => p !== undefined);
    return this.inside(path.resolve(this.dir, ...parts));
  }

  /**
   * Deletes a recording's directory. Returns false when there is no such
   * recording; callers check that it is not in progress first.
   */
  async remove(room: string, id: string): Promise<boolean> {
    const dir = await this.resolve(room, id);
    if (dir === undefined) return false;
    // fs.rm unlinks symlinks inside the directory; it never follows them.
    await fs.rm(dir, { recursive: true, force: true });
    return true;
  }

  /** `candidate` when it exists and lies inside the recordings directory both as written and with symlinks followed. */
  private async inside(candidate: string): Promise<string | undefined> {
    const resolved = path.resolve(candidate);
    if (!isWithin(this.dir, resolved)) return undefined;
    try {
      const [realRoot, realTarget] = await Promise.all([fs.realpath(this.dir), fs.realpath(resolved)]);
      if (!isWithin(realRoot, realTarget)) return undefined;
    } catch {
      return undefined;
    }
    return resolved;
  }
}

/** Strictly inside: `root` itself does not count. */
function isWithin(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) && !rel.includes('\0');
}

function newestFirst(a: Recording, b: Recording): number {
  const ta = Date.parse(a.info.startedAt);
  const tb = Date.parse(b.info.startedAt);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return tb - ta;
  return a.info.id < b.info.id ? 1 : a.info.id > b.info.id ? -1 : a.info.room < b.info.room ? 1 : -1;
}

function sumExtinf(playlist: string): number {
  let total = 0;
  for (const m of playlist.matchAll(/^#EXTINF:\s*([0-9.]+)/gm)) {
    const v = Number(m[1]);
    if (Number.isFinite(v)) total += v;
  }
  return Math.round(total * 1000) / 1000;
}

const STATUSES: readonly RecordingStatus[] = ['recording', 'finished', 'interrupted', 'failed'];

function parseMeta(text: string | undefined): RecordingMeta | undefined {
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (typeof m['startedAt'] !== 'string') return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    room: String(m['room'] ?? ''),
    id: String(m['id'] ?? ''),
    startedAt: m['startedAt'],
    endedAt: str(m['endedAt']),
    durationSeconds: num(m['durationSeconds']),
    video: str(m['video']),
    audio: str(m['audio']),
    ...(STATUSES.includes(m['status'] as RecordingStatus) ? { status: m['status'] as RecordingStatus } : {}),
    error: str(m['error']),
  };
}

async function readdir(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch {
    return [];
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}
