// Closing a recording's playlist on disk: what the Recorder does when a recording ends,
// and what start-up does for one a crash left open (src/recordings/repair.ts).
import { promises as fs } from 'node:fs';
import { playlistFile, segmentFile, segmentIndex } from '../recordings/layout';
import { parsePlaylist, withEndList, withoutSegments, type Playlist } from './playlist';

/** What a recording that ended before its first segment gets: a valid, closed, empty playlist. */
const EMPTY_CLOSED_PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-ENDLIST\n';

/** Writes `text` to `file` through a temporary file and a rename: readers see the old text or the new, never a part. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/**
 * Closes dir/index.m3u8, given as `text`: segment files after the last listed one (writes
 * that never made it into the playlist: cut short by a full disk, a stop or a crash) are
 * removed, which also frees the room the playlist and meta.json need on a full disk;
 * listed segments that are empty or missing are left out; #EXT-X-ENDLIST goes at the end.
 * A text that is no playlist becomes an empty closed one when `emptyIfInvalid`, and is
 * left alone otherwise. Returns the playlist as written.
 */
export async function closePlaylist(dir: string, text: string, emptyIfInvalid: boolean): Promise<Playlist> {
  const original = text;
  const p = parsePlaylist(text);
  const listed = new Set(p.segments.map((seg) => seg.uri));
  const lastListed = p.segments.reduce((m, seg) => Math.max(m, segmentIndex(seg.uri) ?? -1), -1);
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const index = segmentIndex(name);
    if (index !== undefined && index > lastListed && !listed.has(name)) await fs.rm(segmentFile(dir, name), { force: true }).catch(() => {});
  }
  if (p.valid) {
    // A segment ffmpeg could not finish writing (empty or missing) is left out.
    const drop = new Set<string>();
    for (const seg of p.segments) {
      const size = await fs
        .stat(segmentFile(dir, seg.uri))
        .then((s) => s.size)
        .catch(() => 0);
      if (size === 0 || seg.duration === 0) drop.add(seg.uri);
    }
    if (drop.size > 0) {
      text = withoutSegments(text, drop);
      for (const uri of drop) await fs.rm(segmentFile(dir, uri), { force: true }).catch(() => {});
    }
    text = withEndList(text);
  } else if (emptyIfInvalid) {
    text = EMPTY_CLOSED_PLAYLIST;
  }
  if (text !== original) await writeAtomic(playlistFile(dir), text);
  return parsePlaylist(text);
}
