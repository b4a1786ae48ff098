// The recordings on disk, indexed in memory for the API, downloads and retention. Where
// their files are, and how a name from a URL becomes a path, is recordings/layout.ts's.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isRecordingId, isRoomName } from '../names';
import { parsePlaylist, playlistDuration } from '../recorder/playlist';
import { filesIn, metaFile, playlistFile, recordingPaths, RecordingsLayout, type RecordingMeta } from './layout';
import type { RecordingInfo, RecordingStatus } from './recordingInfo';

export type { RecordingInfo, RecordingStatus } from './recordingInfo';

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
  /** The recordings being written now: each is listed as soon as its meta.json is on disk. */
  activeRecordings?: () => Iterable<{ room: string; id: string }>;
}

/** Where a page of the list starts: after the entry with this sort key (see cursorOf). */
export interface RecordingCursor {
  /** startedAt in ms (0 when meta.json's startedAt is no date). */
  time: number;
  room: string;
  id: string;
}

/**
 * A recording still being written is read again from disk when it is listed and its
 * last reading is older than this (its duration and size grow), or at once when the
 * recorder has stopped writing it since.
 */
const UNFINISHED_REREAD_MS = 2_000;
/** Recordings read at once while the index loads. */
const LOAD_CONCURRENCY = 8;

/** One recording as the index holds it. */
interface Entry {
  room: string;
  id: string;
  dir: string;
  meta: RecordingMeta;
  /** The playlist's EXTINF sum and whether it ends with #EXT-X-ENDLIST, when read. */
  playlistSeconds: number;
  endList: boolean;
  /** Every regular file in the recording's directory (segments, playlist, meta.json, the MP4). */
  bytes: number;
  time: number;
  readAt: number;
  /** The recorder was writing it when it was read. */
  readWhileActive: boolean;
  /** While meta.json says it has not ended: file sizes, so that a re-read stats only what can still change. */
  sizes: Map<string, number> | undefined;
}

/**
 * The recordings on disk, indexed in memory: read from RECORDINGS_DIR once (load, on
 * first use), then kept current by whoever changes them — refresh() after the recorder
 * finishes one or an MP4 is written, remove() — and, for recordings being written, by
 * re-reading them as they are listed. Listing is then a walk over a sorted array.
 */
export class RecordingStore {
  /** Where the recordings are on disk. */
  readonly layout: RecordingsLayout;
  private readonly entries = new Map<string, Entry>();
  /** The entries, newest first; undefined after a change of membership or order. */
  private sorted: Entry[] | undefined;
  private loading: Promise<void> | undefined;
  /** Per recording, the last refresh or removal: they run one after another. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(dir: string, private readonly options: RecordingStoreOptions = {}) {
    this.layout = new RecordingsLayout(dir);
  }

  /** Reads every recording on disk into the index (once; later calls wait for the same reading). */
  load(): Promise<void> {
    this.loading ??= (async () => {
      const names = await this.layout.recordingNames();
      let next = 0;
      const worker = async () => {
        while (next < names.length) {
          const { room, id } = names[next++]!;
          const entry = await this.read(room, id, undefined);
          if (entry !== undefined) this.entries.set(keyOf(room, id), entry);
        }
      };
      await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
      this.sorted = undefined;
    })();
    return this.loading;
  }

  /**
   * Readable recordings (of one room, when given), newest first: at most `page.limit`
   * of them (all without), starting after `page.before`, of the rooms `page.visible`
   * lets the asker see (every room without).
   */
  async list(room?: string, page: { limit?: number; before?: RecordingCursor; visible?: (room: string) => boolean } = {}): Promise<RecordingInfo[]> {
    await this.freshen();
    if (room !== undefined && !isRoomName(room)) return [];
    const sorted = this.order();
    const limit = page.limit ?? Infinity;
    const found: RecordingInfo[] = [];
    for (let i = page.before === undefined ? 0 : firstAfter(sorted, page.before); i < sorted.length && found.length < limit; i++) {
      const entry = sorted[i]!;
      if ((room === undefined || entry.room === room) && (page.visible?.(entry.room) ?? true)) found.push(this.recording(entry).info);
    }
    return found;
  }

  /** Every recording, with whether it is being written (for retention). */
  async recordings(): Promise<Recording[]> {
    await this.freshen();
    return this.order().map((entry) => this.recording(entry));
  }

  /** One recording, or undefined when the names are malformed, it is absent, or its meta.json is unreadable. */
  async get(room: string, id: string): Promise<Recording | undefined> {
    if (!isRoomName(room) || !isRecordingId(id)) return undefined;
    await this.load();
    const entry = this.entries.get(keyOf(room, id));
    // Not indexed: put there by something other than onecast since; one directory to look at.
    if (entry === undefined || this.stale(entry)) await this.refresh(room, id);
    const current = this.entries.get(keyOf(room, id));
    return current === undefined ? undefined : this.recording(current);
  }

  /** Reads one recording from disk again (it started, finished, gained an MP4), or drops it from the index when it is gone. */
  refresh(room: string, id: string): Promise<void> {
    return this.serially(room, id, async () => {
      const key = keyOf(room, id);
      const previous = this.entries.get(key);
      const entry = await this.read(room, id, previous);
      if (entry === undefined) {
        if (this.entries.delete(key)) this.sorted = undefined;
      } else if (previous !== undefined && previous.time === entry.time) {
        // Same place in the order: updated where it stands.
        Object.assign(previous, entry);
      } else {
        this.entries.set(key, entry);
        this.sorted = undefined;
      }
    });
  }

  /**
   * Deletes a recording's directory (its MP4 with it). Returns false when there is
   * no such recording; callers check that it is not in progress first.
   */
  remove(room: string, id: string): Promise<boolean> {
    return this.serially(room, id, async () => {
      const dir = await this.layout.resolve(room, id);
      if (dir === undefined) return false;
      // fs.rm unlinks symlinks inside the directory; it never follows them.
      await fs.rm(dir, { recursive: true, force: true });
      if (this.entries.delete(keyOf(room, id))) this.sorted = undefined;
      return true;
    });
  }

  /** Runs `task` after every earlier refresh or removal of the same recording, once the index has loaded. */
  private serially<T>(room: string, id: string, task: () => Promise<T>): Promise<T> {
    const key = keyOf(room, id);
    const run = Promise.all([this.load(), this.pending.get(key)?.catch(() => undefined)]).then(task);
    const settled = run.catch(() => undefined);
    this.pending.set(key, settled);
    void settled.then(() => {
      if (this.pending.get(key) === settled) this.pending.delete(key);
    });
    return run;
  }

  /** Recordings being written are read again when stale, and listed as soon as their meta.json exists. */
  private async freshen(): Promise<void> {
    await this.load();
    const due: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      // Listings at the same moment share one re-read.
      if (this.stale(entry)) due.push(this.pending.get(keyOf(entry.room, entry.id))?.then(() => undefined) ?? this.refresh(entry.room, entry.id));
    }
    for (const { room, id } of this.options.activeRecordings?.() ?? []) {
      if (!this.entries.has(keyOf(room, id))) due.push(this.refresh(room, id));
    }
    await Promise.all(due);
  }

  /** meta.json said it had not ended, and that reading is old or the recorder has stopped writing it since. */
  private stale(entry: Entry): boolean {
    if (entry.meta.endedAt !== null) return false;
    return performance.now() - entry.readAt >= UNFINISHED_REREAD_MS || entry.readWhileActive !== this.isActive(entry.room, entry.id);
  }

  private isActive(room: string, id: string): boolean {
    return this.options.isActive?.(room, id) ?? false;
  }

  private order(): Entry[] {
    this.sorted ??= [...this.entries.values()].sort(newestFirst);
    return this.sorted;
  }

  private recording(entry: Entry): Recording {
    const { room, id, meta } = entry;
    const inProgress = this.options.isActive ? this.options.isActive(room, id) : meta.endedAt === null && !entry.endList;
    const durationSeconds = !inProgress && meta.durationSeconds !== null ? meta.durationSeconds : entry.playlistSeconds;
    const { playlist, download } = recordingPaths(room, id);
    const info: RecordingInfo = {
      room,
      id,
      startedAt: meta.startedAt,
      endedAt: meta.endedAt,
      durationSeconds,
      bytes: entry.bytes,
      playlist,
      download,
      // A meta.json still saying 'recording' with no recorder behind it was cut off.
      status: inProgress ? 'recording' : meta.status === undefined ? 'finished' : meta.status === 'recording' ? 'interrupted' : meta.status,
      ...(meta.error ? { error: meta.error } : {}),
    };
    return { info, meta, inProgress, dir: entry.dir };
  }

  /** One recording from disk; undefined when it is absent, outside, or its meta.json is unreadable. */
  private async read(room: string, id: string, previous: Entry | undefined): Promise<Entry | undefined> {
    const active = this.isActive(room, id);
    const readAt = performance.now();
    const dir = await this.layout.resolve(room, id);
    if (dir === undefined) return undefined;
    const metaPath = await this.layout.inside(metaFile(dir));
    if (metaPath === undefined) return undefined;
    const meta = parseMeta(await readText(metaPath));
    if (meta === undefined) return undefined;
    const playlistPath = await this.layout.inside(playlistFile(dir));
    const playlist = parsePlaylist(playlistPath === undefined ? '' : ((await readText(playlistPath)) ?? ''));
    const unfinished = meta.endedAt === null;
    const sizes = await fileSizes(dir, unfinished ? previous?.sizes : undefined, new Set(playlist.segments.map((s) => s.uri)));
    let bytes = 0;
    for (const size of sizes.values()) bytes += size;
    return {
      room,
      id,
      dir,
      meta,
      playlistSeconds: playlistDuration(playlist),
      endList: playlist.endList,
      bytes,
      time: timeOf(meta.startedAt),
      readAt,
      readWhileActive: active,
      sizes: unfinished ? sizes : undefined,
    };
  }
}

/**
 * The `before` of the page after `info`: `{startedAt in ms}.{room}.{id}` (neither
 * names nor numbers hold a dot), e.g. `1795947300000.studio.20261124T101500Z-3fa9c2d1`.
 */
export function cursorOf(info: RecordingInfo): string {
  return `${timeOf(info.startedAt)}.${info.room}.${info.id}`;
}

/** The list's order (newest first) between two listed recordings, wherever they are held. */
export function newestFirstInfo(a: RecordingInfo, b: RecordingInfo): number {
  return compare({ time: timeOf(a.startedAt), room: a.room, id: a.id }, { time: timeOf(b.startedAt), room: b.room, id: b.id });
}

/** A cursor as cursorOf writes it, or undefined. */
export function parseCursor(text: unknown): RecordingCursor | undefined {
  if (typeof text !== 'string') return undefined;
  const [time, room, id, ...rest] = text.split('.');
  if (rest.length > 0 || !/^-?\d{1,16}$/.test(time ?? '') || !isRoomName(room) || !isRecordingId(id)) return undefined;
  return { time: Number(time), room, id };
}

function keyOf(room: string, id: string): string {
  return `${room}/${id}`;
}

function timeOf(startedAt: string): number {
  const t = Date.parse(startedAt);
  return Number.isNaN(t) ? 0 : t;
}

/** Newest first: by start time, then id, then room, all descending. */
function compare(a: RecordingCursor, b: RecordingCursor): number {
  if (a.time !== b.time) return b.time - a.time;
  if (a.id !== b.id) return a.id < b.id ? 1 : -1;
  return a.room === b.room ? 0 : a.room < b.room ? 1 : -1;
}

function newestFirst(a: Entry, b: Entry): number {
  return compare(a, b);
}

/** The index of the first entry that comes after `cursor` in the order. */
function firstAfter(sorted: readonly Entry[], cursor: RecordingCursor): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compare(sorted[mid]!, cursor) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The size of every regular file in `dir` (symlinks are not followed). Sizes in
 * `known` of segments the playlist lists are taken as they are: ffmpeg lists a
 * segment once it is written, and never writes it again.
 */
async function fileSizes(dir: string, known: Map<string, number> | undefined, listed: Set<string>): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  await Promise.all(
    (await filesIn(dir)).map(async (name) => {
      const size = listed.has(name) ? known?.get(name) : undefined;
      if (size !== undefined) return void sizes.set(name, size);
      const stat = await fs.lstat(path.join(dir, name)).catch(() => undefined);
      if (stat?.isFile()) sizes.set(name, stat.size);
    }),
  );
  return sizes;
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
  // Fields this reader does not know stay (a newer recorder's), as do status and error;
  // a status it does not know is left out (listed as finished).
  const { status: _status, ...known } = m;
  return {
    ...known,
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

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}
