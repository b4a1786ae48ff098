// Recordings a crash left open. When onecast dies without closing its recordings
// (SIGKILL, power loss, a crash), each keeps a playlist without #EXT-X-ENDLIST and a
// meta.json saying 'recording'; its ffmpeg ends by itself (src/recorder/ffmpeg.ts,
// INPUT_TIMEOUT_S). At start-up, before any recorder runs, every such recording is
// closed as the Recorder would have closed it, and marked 'interrupted'.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log';
import { closePlaylist, writeAtomic } from '../recorder/closePlaylist';
import { playlistDuration, PLAYLIST_NAME } from '../recorder/playlist';
import { isRecordingId, isRoomName, META, type RecordingStore } from './store';

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
 * while no recorder runs (at start-up, before HTTP listens). One warning line per repaired
 * recording; a recording that cannot be repaired is logged and left as it is.
 */
export async function repairInterrupted(store: RecordingStore, log: Logger): Promise<RepairedRecording[]> {
  const repaired: RepairedRecording[] = [];
  for (const room of (await fs.readdir(store.dir).catch(() => [] as string[])).filter(isRoomName)) {
    const roomDir = await store.resolve(room);
    if (roomDir === undefined) continue;
    for (const id of (await fs.readdir(roomDir).catch(() => [] as string[])).filter(isRecordingId)) {
      try {
        const done = await repairOne(store, room, id);
        if (done === undefined) continue;
        repaired.push(done);
        log.warn('recording interrupted: onecast stopped without closing it; closed at start-up', { ...done });
      } catch (e) {
        log.error('recording interrupted, and it could not be closed', { room, id, error: (e as Error)?.message ?? String(e) });
      }
    }
  }
  return repaired;
}

async function repairOne(store: RecordingStore, room: string, id: string): Promise<RepairedRecording | undefined> {
  const dir = await store.resolve(room, id);
  if (dir === undefined) return undefined;
  const metaFile = path.join(dir, META);
  let meta: Record<string, unknown>;
  try {
    const raw: unknown = JSON.parse(await fs.readFile(metaFile, 'utf8'));
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
    meta = raw as Record<string, unknown>;
  } catch {
    return undefined; // no readable meta.json: not a recording the store lists either
  }
  const startedAt = meta['startedAt'];
  const unfinished = meta['status'] === 'recording' || (meta['status'] === undefined && (meta['endedAt'] ?? null) === null);
  if (!unfinished || typeof startedAt !== 'string') return undefined;
  const text = await fs.readFile(path.join(dir, PLAYLIST_NAME), 'utf8').catch(() => '');
  const playlist = await closePlaylist(dir, text, true);
  const last = playlist.segments[playlist.segments.length - 1];
  const lastWrite = last === undefined ? undefined : await fs.stat(path.join(dir, last.uri)).then((s) => s.mtime.toISOString());
  const done: RepairedRecording = {
    room,
    id,
    durationSeconds: playlistDuration(playlist),
    endedAt: lastWrite ?? startedAt,
    segments: playlist.segments.length,
  };
  await writeAtomic(metaFile, JSON.stringify({ ...meta, endedAt: done.endedAt, durationSeconds: done.durationSeconds, status: 'interrupted', error: null }, null, 2) + '\n');
  return done;
}
