// Per-room stream keys (STREAM_KEYS): a key publishes to the rooms its entry names, and
// nowhere else. The file is read at start-up (a file that cannot be read or parsed stops
// start-up) and again whenever it changes: fs.watch on its folder (editors and config
// tools replace a file rather than write it in place, which a watch on the file itself
// would lose), and a stat every few seconds for the file systems where fs.watch says
// nothing (network mounts, some containers). A changed file that does not parse keeps the
// previous keys, with one warn line naming the line at fault.
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../configError';
import type { Logger } from '../log';
import { digest, matchingDigests } from './constantTime';
import { UNKNOWN, type Mode, type Verdict } from './mode';
import { roomMatcher, type RoomMatcher } from './roomPattern';
import { parseStreamKeys, StreamKeysError } from './streamKeysFile';
import type { AuthRequest } from './types';

/** How often the file is stat'ed besides fs.watch. */
const POLL_MS = 2_000;
/** Editors write in steps (truncate, write, rename): read once they have settled. */
const SETTLE_MS = 100;

interface Keys {
  /** Every key's digest, and the rooms of the entry it belongs to (a key in two entries appears twice). */
  digests: Buffer[];
  rooms: RoomMatcher[];
  /** For log lines: how many entries and keys. */
  entries: number;
}

export class StreamKeys implements Mode {
  readonly covers = ['publish'] as const;
  private keys: Keys;
  /** What the file looked like when last read (stat fields), to read it again only when it changed. */
  private seen: string;
  private lastText: string;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;

  /** Reads `file` now; a file that cannot be read or parsed is a ConfigError. */
  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {
    this.seen = signature(file);
    try {
      this.lastText = readFileSync(file, 'utf8');
      this.keys = compile(this.lastText);
    } catch (error) {
      throw new ConfigError(`STREAM_KEYS: cannot use ${file}: ${reason(error)}`);
    }
  }

  /** Publishing only: a key grants the rooms of its entries; a known key for other rooms is a 403. */
  judge(request: AuthRequest): Verdict {
    if (request.token === undefined || request.action !== 'publish' || request.room === undefined) return UNKNOWN;
    const room = request.room;
    const matches = matchingDigests(digest(request.token), this.keys.digests);
    if (matches.length === 0) return UNKNOWN;
    if (matches.some((i) => this.keys.rooms[i]!(room))) return { kind: 'grant' };
    return {
      kind: 'refuse',
      status: 403,
      detail: `This stream key does not publish to room "${room}": each key publishes only to the rooms the STREAM_KEYS file gives it.`,
    };
  }

  /** Starts following the file: fs.watch on its folder, and a periodic stat. */
  watch(): void {
    const schedule = () => {
      clearTimeout(this.settle);
      this.settle = setTimeout(() => this.reloadIfChanged(), SETTLE_MS).unref();
    };
    try {
      this.watcher = watch(path.dirname(this.file), (_event, name) => {
        if (name === null || name === path.basename(this.file)) schedule();
      });
      this.watcher.on('error', () => this.watcher?.close());
      // Like the timers: following the file never keeps the process alive.
      this.watcher.unref();
    } catch {
      // No inotify (or out of watches): the periodic stat alone notices changes.
    }
    this.poll = setInterval(() => this.reloadIfChanged(), POLL_MS).unref();
  }

  /** Reads the file again if it changed; keeps the previous keys (with one warn line) if it no longer parses; a file gone revokes every key. Returns whether the keys changed. */
  reloadIfChanged(): boolean {
    const now = signature(this.file);
    if (now === this.seen) return false;
    this.seen = now;
    let text: string;
    let keys: Keys;
    try {
      text = readFileSync(this.file, 'utf8');
      if (text === this.lastText) return false;
      keys = compile(text);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        // Deleting the file is how an operator would revoke every key: none stays valid.
        this.log.warn(`STREAM_KEYS: ${this.file} is gone: no stream key publishes until it is back`);
        text = '';
        keys = compile(text);
      } else {
        this.log.warn(`STREAM_KEYS: ${this.file} not reloaded, the previous keys stay: ${reason(error)}`);
        return false;
      }
    }
    this.lastText = text;
    this.keys = keys;
    this.log.info('STREAM_KEYS reloaded', { file: this.file, entries: keys.entries, keys: keys.digests.length });
    return true;
  }

  close(): void {
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.settle);
  }
}

function compile(text: string): Keys {
  const keys: Keys = { digests: [], rooms: [], entries: 0 };
  for (const entry of parseStreamKeys(text)) {
    const matcher = roomMatcher(entry.rooms);
    for (const key of entry.keys) {
      keys.digests.push(digest(key));
      keys.rooms.push(matcher);
    }
    keys.entries++;
  }
  return keys;
}

function signature(file: string): string {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch (error) {
    return `missing:${(error as NodeJS.ErrnoException).code ?? ''}`;
  }
}

function reason(error: unknown): string {
  if (error instanceof StreamKeysError) return error.message;
  const e = error as NodeJS.ErrnoException;
  return e.code === 'EACCES' ? 'no permission to read it' : String(e.message ?? e);
}
