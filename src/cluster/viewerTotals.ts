// The cluster-wide viewer count of the rooms players on this node follow (the WHEP events'
// viewercount): one read of the directory per watched room each interval, however many
// players watch it, and a listener hears a count only when it changed. A read that fails
// (Redis down) gives the room's count on this node, so a player is never left without one.

/** Counts are read this often: the draft lets viewercount lag, and each node batches its own writes as often. */
export const VIEWER_TOTALS_INTERVAL_MS = 1_000;

type Listener = (viewers: number) => void;

interface Watched {
  readonly listeners: Set<Listener>;
  last: number | undefined;
  readonly timer: NodeJS.Timeout;
}

export class ViewerTotals {
  private readonly watched = new Map<string, Watched>();

  /** `read`: the room's count over the cluster; `local`: its count on this node. */
  constructor(
    private readonly read: (room: string) => Promise<number>,
    private readonly local: (room: string) => number,
    private readonly intervalMs = VIEWER_TOTALS_INTERVAL_MS,
  ) {}

  /** Tells `listener` the room's count now (as soon as it is read) and each change, until the returned function is called. */
  watch(room: string, listener: Listener): () => void {
    let watched = this.watched.get(room);
    if (watched === undefined) {
      watched = { listeners: new Set(), last: undefined, timer: setInterval(() => this.poll(room), this.intervalMs) };
      this.watched.set(room, watched);
    }
    watched.listeners.add(listener);
    if (watched.last !== undefined) listener(watched.last);
    else if (watched.listeners.size === 1) this.poll(room);
    const own = watched;
    return () => {
      own.listeners.delete(listener);
      if (own.listeners.size > 0 || this.watched.get(room) !== own) return;
      clearInterval(own.timer);
      this.watched.delete(room);
    };
  }

  private poll(room: string): void {
    this.read(room).then(
      (viewers) => this.tell(room, viewers),
      () => this.tell(room, this.local(room)),
    );
  }

  private tell(room: string, viewers: number): void {
    const watched = this.watched.get(room);
    if (watched === undefined || watched.last === viewers) return;
    watched.last = viewers;
    for (const listener of [...watched.listeners]) listener(viewers);
  }
}
