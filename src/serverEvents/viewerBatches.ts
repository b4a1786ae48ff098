// Viewer changes as the server's 'viewer' events: a room's joins and leaves are counted,
// and the room gets at most one event a second however many come and go. The first change
// after a quiet second is told at once; those that follow within the second wait for its
// end and are told together, with the room's viewer count then, or earlier, just before
// another event of the room (a publish ending), so that a listener hears them in order.
import type { ViewerEvent } from '../events';
import type { Clock, Timer } from '../recorder/clock';

/** At most one 'viewer' event per room in this interval. */
export const VIEWER_EVENT_INTERVAL_MS = 1000;

interface Batch {
  joined: number;
  left: number;
  viewers: number;
  /** Running for a second after each event: changes meanwhile wait for it. */
  timer: Timer | undefined;
}

export class ViewerBatches {
  /** By room name, not by Room: a room that empties and comes back within the second is one room to a listener. */
  private readonly batches = new Map<string, Batch>();

  constructor(
    private readonly clock: Clock,
    private readonly tell: (event: ViewerEvent) => void,
  ) {}

  /** A viewer joined (+1) or left (-1) `room`, which has `viewers` now. */
  changed(room: string, change: 1 | -1, viewers: number): void {
    let batch = this.batches.get(room);
    if (batch === undefined) {
      batch = { joined: 0, left: 0, viewers, timer: undefined };
      this.batches.set(room, batch);
    }
    if (change === 1) batch.joined++;
    else batch.left++;
    batch.viewers = viewers;
    if (batch.timer === undefined) this.send(room, batch);
  }

  /**
   * Tells `room`'s changes held back now, before another event of the room: a listener then
   * learns them in the order they happened. The second still runs for the changes after.
   */
  tellHeldBack(room: string): void {
    const batch = this.batches.get(room);
    if (batch === undefined || batch.joined + batch.left === 0) return;
    this.tell(this.take(room, batch));
  }

  /** Tells every change still waiting now, and forgets every room (the server is stopping). */
  flush(): void {
    for (const [room, batch] of this.batches) {
      this.clock.clearTimeout(batch.timer);
      this.batches.delete(room);
      if (batch.joined + batch.left > 0) this.tell(this.take(room, batch));
    }
  }

  /** The batch's counts as an event, the batch starting again from zero. */
  private take(room: string, batch: Batch): ViewerEvent {
    const event: ViewerEvent = { room, joined: batch.joined, left: batch.left, viewers: batch.viewers };
    batch.joined = 0;
    batch.left = 0;
    return event;
  }

  private send(room: string, batch: Batch): void {
    const event = this.take(room, batch);
    batch.timer = this.clock.setTimeout(() => {
      batch.timer = undefined;
      if (batch.joined + batch.left > 0) this.send(room, batch);
      else this.batches.delete(room);
    }, VIEWER_EVENT_INTERVAL_MS);
    this.tell(event);
  }
}
