// The live rooms' thumbnails on the home page: each room's JPEG fetched every few seconds
// with the page's token (an <img> cannot send an Authorization header) and shown through
// an object URL. A room's rows are redrawn as its counts change: each new row's image
// starts from the picture already fetched.
import { authorization } from '../common/http';
import { element } from '../common/dom';
import { repeat } from '../common/poll';

/** The server keeps a thumbnail 5 s; asking more often gets the same picture. */
const REFRESH_MS = 5000;

interface Shown {
  /** The thumbnail's path, as /api/rooms gives it. */
  path: string;
  /** The object URL of the last picture fetched. */
  url?: string;
  /** The image in the room's current row. */
  image?: HTMLImageElement;
  /** A fetch is under way (rows redrawn meanwhile do not start another). */
  fetching?: boolean;
}

export class RoomThumbnails {
  private readonly rooms = new Map<string, Shown>();

  constructor(private readonly token: () => string) {
    repeat(REFRESH_MS, () => this.refresh());
  }

  /** An image for `room`'s row, showing its last picture; '' for a room with no thumbnail (no video). */
  image(room: string, path: string | null): HTMLImageElement | '' {
    if (path === null) return '';
    const shown = this.rooms.get(room) ?? { path };
    this.rooms.set(room, shown);
    shown.image = element('img', { className: 'thumbnail', alt: `${room} now`, ...(shown.url !== undefined ? { src: shown.url } : {}) });
    if (shown.url === undefined) void this.fetch(room, shown);
    return shown.image;
  }

  /** The rooms live now: the others' pictures are let go. */
  keep(live: ReadonlySet<string>): void {
    for (const [room, shown] of this.rooms) {
      if (live.has(room)) continue;
      if (shown.url !== undefined) URL.revokeObjectURL(shown.url);
      this.rooms.delete(room);
    }
  }

  private async refresh(): Promise<void> {
    await Promise.all([...this.rooms].map(([room, shown]) => this.fetch(room, shown)));
  }

  /** The room's picture now; on a failure (a 503 while the server is busy or waits for a keyframe) the last one stays. */
  private async fetch(room: string, shown: Shown): Promise<void> {
    if (shown.fetching === true) return;
    shown.fetching = true;
    const blob = await fetch(shown.path, { headers: authorization(this.token()) })
      .then((res) => (res.ok ? res.blob() : undefined))
      .catch(() => undefined)
      .finally(() => (shown.fetching = false));
    if (blob === undefined || this.rooms.get(room) !== shown) return;
    const url = URL.createObjectURL(blob);
    if (shown.url !== undefined) URL.revokeObjectURL(shown.url);
    shown.url = url;
    if (shown.image !== undefined) shown.image.src = url;
  }
}
