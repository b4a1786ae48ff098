// Recordings a crash left open. When onecast dies without closing its recordings
// (SIGKILL, power loss, a crash), each keeps a playlist without #EXT-X-ENDLIST and a
// meta.json saying 'recording'; its ffmpeg ends by itself (src/recorder/ffmpeg.ts,
// INPUT_TIMEOUT_S). At start-up, before any recorder runs, every such recording is
// closed as the Recorder would have closed it, and marked 'interrupted'. Started again
// at once (a supervisor's restart), onecast may find that ffmpeg still finishing: its
// last segment and playlist are still to come, so the repair waits for it (Linux: found
// in /proc by the playlist it writes).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorText, type Logger } from '../log';
import { closePlaylist, writeAtomic } from '../recorder/closePlaylist';
import { INPUT_TIMEOUT_S } from '../recorder/ffmpeg';
import { playlistDuration } from '../recorder/playlist';
import { metaFile, PLAYLIST_NAME, playlistFile, segmentFile } from './layout';
import type { RecordingStore } from './store';

export interface RepairedRecording {
  room: string;
  id: string;
  /** The EXTINF sum of the closed playlist. */
  durationSeconds: number;
  /** The last segment's modification time; the start when there is none. */
  endedAt: string;
  segments: number;
}

/**
 * Closes every recording under the store's directory that meta.json says is still
 * recording (or, written before meta.json had a status, has no end time): ENDLIST, status
 * 'interrupted', the duration of its segments, the end time of its last one. Call it only
 * while no recorder runs (at start-up, before HTTP listens). An ffmpeg of the last run
 * still writing one is waited for (at most 2 x INPUT_TIMEOUT_S + 2 s); one still written
 * after that is left open. One warning line per repaired recording; a recording that
 * cannot be repaired is logged and left as it is.
 */
export async function repairInterrupted(store: RecordingStore, log: Logger): Promise<RepairedRecording[]> {
  const open: Unfinished[] = [];
  for (const { room, id } of await store.layout.recordingNames()) {
    const found = await unfinished(store, room, id);
    if (found) open.push(found);
  }
  const stillWritten = await waitForWriters(open, log);
  const repaired: RepairedRecording[] = [];
  for (const rec of open) {
    const { room, id } = rec;
    if (stillWritten.has(rec.dir)) {
      log.warn('recording left open: an ffmpeg still writes it (is another onecast recording into the same RECORDINGS_DIR?)', { room, id });
      continue;
    }
    try {
      const done = await repair(rec);
      repaired.push(done);
      log.warn('recording interrupted: onecast stopped without closing it; closed at start-up', { ...done });
    } catch (e) {
      log.error('recording interrupted, and it could not be closed', { room, id, error: errorText(e) });
    }
  }
  return repaired;
}

interface Unfinished {
  room: string;
  id: string;
  /** Vetted, absolute. */
  dir: string;
  meta: Record<string, unknown>;
  startedAt: string;
}

/** The recording, if meta.json says it is still being written. */
async function unfinished(store: RecordingStore, room: string, id: string): Promise<Unfinished | undefined> {
  const dir = await store.layout.resolve(room, id);
  if (dir === undefined) return undefined;
  let meta: Record<string, unknown>;
  try {
    const raw: unknown = JSON.parse(await fs.readFile(metaFile(dir), 'utf8'));
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
    meta = raw as Record<string, unknown>;
  } catch {
    return undefined; // no readable meta.json: not a recording the store lists either
  }
  const startedAt = meta['startedAt'];
  const open = meta['status'] === 'recording' || (meta['status'] === undefined && (meta['endedAt'] ?? null) === null);
  return open && typeof startedAt === 'string' ? { room, id, dir, meta, startedAt } : undefined;
}

/**
 * Waits while an ffmpeg still writes one of the recordings (one of the run that died
 * ends within 2 x INPUT_TIMEOUT_S of its last datagram); returns the directories still
 * written after that (something feeds their ffmpeg: not ours to close).
 */
async function waitForWriters(open: readonly Unfinished[], log: Logger): Promise<Set<string>> {
  const deadline = Date.now() + 2 * INPUT_TIMEOUT_S * 1000 + 2000;
  let written = await writtenDirs(open);
  if (written.size > 0) log.info('waiting for the ffmpeg of the last run to finish its recordings', { recordings: written.size });
  while (written.size > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    written = await writtenDirs(open);
  }
  return written;
}

/**
 * Those of the recordings' directories whose playlist a running ffmpeg writes as HLS: its
 * last argument (as src/recorder/ffmpeg.ts passes it), taken from its working directory.
 * Linux /proc; elsewhere none.
 */
async function writtenDirs(open: readonly Unfinished[]): Promise<Set<string>> {
  const found = new Set<string>();
  if (open.length === 0) return found;
  const wanted = new Map<string, string>();
  for (const rec of open) wanted.set(await fs.realpath(rec.dir).catch(() => rec.dir), rec.dir);
  for (const pid of (await fs.readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name))) {
    try {
      const args = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
      const output = args[args.length - 1] ?? '';
      if (!args.includes('-hls_segment_filename') || path.basename(output) !== PLAYLIST_NAME) continue;
      if (/^\d+ \(.*\) [ZX]/.test(await fs.readFile(`/proc/${pid}/stat`, 'utf8'))) continue;
      const cwd = await fs.readlink(`/proc/${pid}/cwd`);
      const dir = wanted.get(await fs.realpath(path.dirname(path.resolve(cwd, output))).catch(() => ''));
      if (dir !== undefined) found.add(dir);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

async function repair({ room, id, dir, meta, startedAt }: Unfinished): Promise<RepairedRecording> {
  const text = await fs.readFile(playlistFile(dir), 'utf8').catch(() => '');
  const playlist = await closePlaylist(dir, text, true);
  const last = playlist.segments[playlist.segments.length - 1];
  const lastWrite = last === undefined ? undefined : await fs.stat(segmentFile(dir, last.uri)).then((s) => s.mtime.toISOString());
  const done: RepairedRecording = {
    room,
    id,
    durationSeconds: playlistDuration(playlist),
    endedAt: lastWrite ?? startedAt,
    segments: playlist.segments.length,
  };
  await writeAtomic(metaFile(dir), JSON.stringify({ ...meta, endedAt: done.endedAt, durationSeconds: done.durationSeconds, status: 'interrupted', error: null }, null, 2) + '\n');
  return done;
}
