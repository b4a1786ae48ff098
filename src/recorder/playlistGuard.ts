// Guards a recording's files while ffmpeg writes them. ffmpeg 5.1 does not report a full
// disk at all (it writes an empty playlist and carries on), so the playlist is polled (it
// only ever grows: growth is progress, anything else a failed write) and the free space
// checked; before a restart the last good playlist is put back if ffmpeg's was lost, and
// at the end the playlist is closed and meta.json finalized. Owns meta.json.
import { promises as fs } from 'node:fs';
import { errorText, type Logger } from '../log';
import type { Clock, Timer } from './clock';
import { closePlaylist, writeAtomic } from './closePlaylist';
import { metaFile, playlistFile, type RecordingMeta as StoredMeta } from '../recordings/layout';
import { extendsPlaylist, parsePlaylist, playlistDuration, type Playlist } from './playlist';

/** The recorder writes every field, status and error included. */
export type RecordingMeta = Required<StoredMeta>;

/** After a failed write, less free space than this means the disk is full. */
const FULL_DISK_BYTES = 1024 * 1024;
const PLAYLIST_POLL_MS = 500;
const DISK_CHECK_EVERY_POLLS = 4;
const DEFAULT_MIN_FREE_BYTES = 32 * 1024 * 1024;

export interface PlaylistGuardOptions {
  dir: string;
  /** Below this much free space the recording stops. */
  minFreeBytes?: number | undefined;
  clock: Clock;
  /** The recording's logger: its lines carry the room and id. */
  log: Logger;
  /** Whether the recording goes on, and whether an ffmpeg run is there to watch. */
  isActive(): boolean;
  hasRun(): boolean;
  /** The playlist grew (`playlist` is the new last good one). */
  progress(playlist: Playlist): void;
  /** The recording must stop: gracefully (ffmpeg may finish) when the disk is merely low. */
  fail(reason: string, graceful: boolean): void;
}

export class PlaylistGuard {
  readonly playlistFile: string;
  private readonly metaFile: string;
  /** The last playlist that extended every one before it, and its text. */
  private good: Playlist = parsePlaylist('');
  private goodText = '';
  private pollTimer: Timer | undefined;
  private polls = 0;
  private polling = false;

  constructor(
    private readonly opts: PlaylistGuardOptions,
    /** meta.json as it stands (written by open() and finalize()). */
    public meta: RecordingMeta,
  ) {
    this.playlistFile = playlistFile(opts.dir);
    this.metaFile = metaFile(opts.dir);
  }

  get lastGood(): Playlist {
    return this.good;
  }

  /** Takes up a playlist already there (the same recording id started again) and writes meta.json. */
  async open(): Promise<void> {
    const text = await fs.readFile(this.playlistFile, 'utf8').catch(() => '');
    const p = parsePlaylist(text);
    if (p.valid) {
      this.good = p;
      this.goodText = text;
    }
    await this.writeMeta();
  }

  startPolling(): void {
    this.pollTimer = this.opts.clock.setInterval(() => void this.poll(), PLAYLIST_POLL_MS);
  }

  stopPolling(): void {
    this.opts.clock.clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  private async poll(): Promise<void> {
    const { opts } = this;
    if (this.polling || !opts.isActive()) return;
    this.polling = true;
    try {
      this.polls++;
      if (this.polls % DISK_CHECK_EVERY_POLLS === 0) {
        const low = await this.lowDiskSpace();
        if (low && opts.isActive()) {
          opts.fail(low, true);
          return;
        }
      }
      if (!opts.hasRun()) return;
      let text: string;
      try {
        text = await fs.readFile(this.playlistFile, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && this.good.segments.length === 0) return;
        throw e;
      }
      if (text === this.goodText || !opts.isActive()) return;
      const p = parsePlaylist(text);
      if (extendsPlaylist(this.good, p)) {
        this.good = p;
        this.goodText = text;
        opts.progress(p);
        return;
      }
      // ffmpeg only ever appends: an empty or shorter playlist means its write failed.
      const low = await this.lowDiskSpace(true);
      opts.fail(low ?? `writing the recording failed: ffmpeg wrote an ${text.length === 0 ? 'empty' : 'incomplete'} playlist`, false);
    } catch (e) {
      if (opts.isActive()) opts.fail(`cannot read the recording's playlist: ${errorText(e)}`, false);
    } finally {
      this.polling = false;
    }
  }

  /**
   * A reason when the disk holding the recording has less than minFreeBytes free; or,
   * after a write failed (`afterFailedWrite`), less than FULL_DISK_BYTES.
   */
  async lowDiskSpace(afterFailedWrite = false): Promise<string | undefined> {
    const { dir } = this.opts;
    const min = Math.max(1, afterFailedWrite ? FULL_DISK_BYTES : (this.opts.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES));
    try {
      const s = await fs.statfs(dir);
      const free = Number(s.bavail) * Number(s.bsize);
      if (free < min) {
        const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
        return `the disk is full: ${mib(free)} MiB free for "${dir}"${afterFailedWrite ? '' : ` (recording stops below ${mib(min)} MiB)`}`;
      }
    } catch {
      // statfs unsupported: the playlist check still catches failed writes
    }
    return undefined;
  }

  /**
   * Before a restart: the playlist on disk must list everything the last good one did
   * (ffmpeg appends to it). What it lists beyond that (segments the ended run finished
   * after the last poll) is progress too, so that they are not replayed and recorded twice.
   */
  async restoreIfNeeded(): Promise<void> {
    const text = await fs.readFile(this.playlistFile, 'utf8').catch(() => '');
    const p = parsePlaylist(text);
    if (extendsPlaylist(this.good, p)) {
      if (text !== this.goodText) {
        this.good = p;
        this.goodText = text;
        this.opts.progress(p);
      }
      return;
    }
    if (!this.good.valid) return; // nothing to put back
    this.opts.log.warn('recorder: putting back the last good playlist');
    await writeAtomic(this.playlistFile, this.goodText);
  }

  /**
   * Closes the playlist (ENDLIST; the last good one if ffmpeg's final write failed) and
   * writes the final meta.json. `emptyIfInvalid`: a playlist that never became valid is
   * written as an empty closed one.
   */
  async finalize(status: 'finished' | 'failed', error: string | null, emptyIfInvalid: boolean): Promise<void> {
    const { log } = this.opts;
    let duration: number | null;
    try {
      let text = await fs.readFile(this.playlistFile, 'utf8').catch(() => '');
      const p = parsePlaylist(text);
      if (!extendsPlaylist(this.good, p) || (!p.valid && this.good.valid)) text = this.goodText;
      const final = await closePlaylist(this.opts.dir, text, emptyIfInvalid);
      duration = final.valid ? playlistDuration(final) : null;
    } catch (e) {
      log.warn('recorder: could not close the playlist', { error: errorText(e) });
      duration = this.good.valid ? playlistDuration(this.good) : null;
    }
    this.meta = { ...this.meta, endedAt: new Date(this.opts.clock.now()).toISOString(), durationSeconds: duration ?? 0, status, error };
    try {
      await this.writeMeta();
    } catch (e) {
      log.warn('recorder: could not write meta.json', { error: errorText(e) });
    }
  }

  private async writeMeta(): Promise<void> {
    await writeAtomic(this.metaFile, JSON.stringify(this.meta, null, 2) + '\n');
  }
}
