// What a WHEP player can follow about its room (the WHEP server-sent-events
// extension): whether a publisher is live in it, and how many viewers it has.
// However many watch a room, the room carries one set of listeners; and a burst of
// joins or leaves sends one viewer count, not one per viewer to every viewer.
import type { Room } from './room';

export type RoomChange = { name: 'active' } | { name: 'inactive' } | { name: 'viewercount'; viewercount: number };
export type RoomWatcher = (change: RoomChange) => void;

/** How long a changed viewer count may wait while it keeps changing (the draft lets it lag). */
const VIEWERCOUNT_INTERVAL_MS = 1000;

interface Watch {
  readonly watchers: Set<RoomWatcher>;
  /** What the watchers were last told. */
  live: boolean;
  viewercount: number;
  /** Running while viewer-count changes are being held back. */
  timer: NodeJS.Timeout | undefined;
  changedMeanwhile: boolean;
  /** Takes the watch's listeners off the room and stops its timer. */
  release(): void;
}

export class RoomWatch {
  private readonly watches = new Map<Room, Watch>();

  /** The room's state now, as the changes a new watcher starts from. */
  static current(room: Room): RoomChange[] {
    return [{ name: room.live ? 'active' : 'inactive' }, { name: 'viewercount', viewercount: room.viewers.size }];
  }

  /** Tells `watcher` every change of `room` until the returned function is called or the room closes. */
  watch(room: Room, watcher: RoomWatcher): () => void {
    const watch = this.watches.get(room) ?? this.open(room);
    watch.watchers.add(watcher);
    return () => {
      watch.watchers.delete(watcher);
      if (watch.watchers.size === 0) this.close(room, watch);
    };
  }

  private open(room: Room): Watch {
    const tell = (change: RoomChange) => {
      for (const watcher of [...watch.watchers]) watcher(change);
    };
    const connected = () => {
      if (watch.live) return;
      watch.live = true;
      tell({ name: 'active' });
    };
    const left = () => {
      if (!watch.live || room.live) return;
      watch.live = false;
      tell({ name: 'inactive' });
    };
    const viewersChanged = () => {
      if (watch.timer !== undefined) {
        watch.changedMeanwhile = true;
        return;
      }
      if (room.viewers.size !== watch.viewercount) {
        watch.viewercount = room.viewers.size;
        tell({ name: 'viewercount', viewercount: watch.viewercount });
      }
      watch.timer = setTimeout(() => {
        watch.timer = undefined;
        if (!watch.changedMeanwhile) return;
        watch.changedMeanwhile = false;
        viewersChanged();
      }, VIEWERCOUNT_INTERVAL_MS);
    };
    const closed = () => this.close(room, watch);
    room.on('publisherConnected', connected);
    room.on('publisherLeft', left);
    room.on('viewerJoined', viewersChanged);
    room.on('viewerLeft', viewersChanged);
    room.on('closed', closed);
    const watch: Watch = {
      watchers: new Set(),
      live: room.live,
      viewercount: room.viewers.size,
      timer: undefined,
      changedMeanwhile: false,
      release: () => {
        room.off('publisherConnected', connected);
        room.off('publisherLeft', left);
        room.off('viewerJoined', viewersChanged);
        room.off('viewerLeft', viewersChanged);
        room.off('closed', closed);
        clearTimeout(watch.timer);
        watch.timer = undefined;
      },
    };
    this.watches.set(room, watch);
    return watch;
  }

  private close(room: Room, watch: Watch): void {
    if (this.watches.get(room) !== watch) return;
    this.watches.delete(room);
    watch.release();
  }
}
