// The relays of this node: for a room published on another node, ONE WHEP pull (whepPull.ts)
// whose media enters the local room as its publisher's would, so fan-out, the cached keyframe
// group, NACK/PLI/RR/REMB toward the upstream and SR translation work unchanged, and nothing
// is recorded here (recordings are written at the origin: only a WHIP publish asks for one).
// A relay closes RELAY_GRACE_MS after its room's last local viewer left; when it ends by
// itself (the upstream closed it, stopped answering) while viewers remain, it is pulled
// again from wherever the directory then says the room is, so they stay connected.
import { performance } from 'node:perf_hooks';
import type { CloseReason } from '../engine/session';
import type { Logger } from '../log';
import type { Room } from '../sfu/room';
import type { Rooms } from '../sfu/rooms';
import type { RelayOpener, Upstream, UpstreamDirectory } from '../signaling/upstream';
import { PullError, WhepPull } from './whepPull';

/** A relay stays this long after its room's last local viewer left: a viewer who reloads the page finds it still up. */
export const RELAY_GRACE_MS = 15_000;
/** The POST, ICE and DTLS of a pull must be done within this. */
const CONNECT_TIMEOUT_MS = 10_000;
/** While viewers wait in a room whose relay ended by itself, the directory is asked again this often. */
const REPULL_INTERVAL_MS = 2_000;

export interface RelaysOptions {
  log: Logger;
  /** Where rooms are published: asked again when a relay with waiting viewers ended. */
  upstreams: UpstreamDirectory;
  graceMs?: number;
  /** A test's loss on every relay's socket (see WhepPull). */
  dropDatagram?: (datagram: Buffer) => boolean;
}

interface Relay {
  pull: WhepPull;
  upstream: Upstream;
  ready: Promise<void>;
  /** We closed it (the grace ran out, shutdown): its viewers are not waiting for it. */
  ownClose: boolean;
  graceTimer: NodeJS.Timeout | undefined;
  /** Undoes its listeners on the room. */
  unwatch: () => void;
}

export class Relays implements RelayOpener {
  private readonly relays = new Map<string, Relay>();
  private readonly repulls = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly rooms: Rooms,
    private readonly options: RelaysOptions,
  ) {}

  ensure(room: string, upstream: Upstream): Promise<void> {
    const existing = this.relays.get(room);
    if (existing !== undefined) return existing.ready;
    if (this.closed) return Promise.reject(new Error('the relays are closed'));
    const pull = new WhepPull({
      upstream,
      log: this.options.log.child({ room }),
      ...(this.options.dropDatagram ? { dropDatagram: this.options.dropDatagram } : {}),
    });
    const relay: Relay = { pull, upstream, ready: Promise.resolve(), ownClose: false, graceTimer: undefined, unwatch: () => {} };
    this.relays.set(room, relay);
    relay.ready = this.open(room, relay);
    // A failure reaches every caller through `ready`; this one only keeps it from being unhandled.
    relay.ready.catch(() => {});
    return relay.ready;
  }

  relaying(room: string): { ready: Promise<void>; upstream: Upstream } | undefined {
    return this.relays.get(room);
  }

  /** The relay's pull of a room (tests and diagnostics). */
  pullOf(room: string): WhepPull | undefined {
    return this.relays.get(room)?.pull;
  }

  get size(): number {
    return this.relays.size;
  }

  /** Closes every relay (DELETEs their upstream sessions) and stops re-pulling. */
  close(): void {
    this.closed = true;
    for (const timer of this.repulls.values()) clearTimeout(timer);
    this.repulls.clear();
    for (const relay of [...this.relays.values()]) {
      relay.ownClose = true;
      relay.pull.close('server-shutdown');
    }
  }

  private async open(roomName: string, relay: Relay): Promise<void> {
    const { pull } = relay;
    const deadline = performance.now() + CONNECT_TIMEOUT_MS;
    pull.once('closed', (reason) => this.ended(roomName, relay, reason));
    try {
      const { media, answer } = await pull.request(CONNECT_TIMEOUT_MS);
      // A WHIP publisher came here meanwhile: the room is local now, the WHEP POST plays it.
      if (this.rooms.get(roomName)?.publisher !== undefined || pull.state === 'closed') {
        relay.ownClose = true;
        pull.close('replaced');
        return;
      }
      const room = this.rooms.getOrCreate(roomName);
      room.attachPublisher(pull, media);
      relay.unwatch = this.watch(room, relay);
      await pull.connect(answer, deadline);
      // Unless it ended meanwhile: the tree's record would outlive it.
      if (this.relays.get(roomName) === relay) this.options.upstreams.relayed?.(roomName, relay.upstream);
    } catch (error) {
      pull.close(error instanceof PullError && error.step === 'dtls' ? 'dtls-failed' : 'ice-timeout', (error as Error).message);
      throw error;
    }
  }

  /** The grace timer follows the room's local viewers: it runs while there are none. */
  private watch(room: Room, relay: Relay): () => void {
    const graceMs = this.options.graceMs ?? RELAY_GRACE_MS;
    const startGrace = (): void => {
      if (room.viewers.size > 0 || relay.graceTimer !== undefined) return;
      relay.graceTimer = setTimeout(() => {
        relay.ownClose = true;
        relay.pull.close('deleted');
      }, graceMs);
      relay.graceTimer.unref();
    };
    const stopGrace = (): void => {
      clearTimeout(relay.graceTimer);
      relay.graceTimer = undefined;
    };
    // Also with no viewer yet: the WHEP POST that opened it may still be refused (a limit).
    startGrace();
    room.on('viewerJoined', stopGrace);
    room.on('viewerLeft', startGrace);
    return () => {
      stopGrace();
      room.off('viewerJoined', stopGrace);
      room.off('viewerLeft', startGrace);
    };
  }

  private ended(roomName: string, relay: Relay, reason: CloseReason): void {
    relay.unwatch();
    if (this.relays.get(roomName) === relay) {
      this.relays.delete(roomName);
      this.options.upstreams.unrelayed?.(roomName);
    }
    if (relay.ownClose || this.closed) return;
    this.options.log.info('relay ended by its upstream', { room: roomName, upstream: relay.upstream.nodeId, reason });
    this.repullLater(roomName);
  }

  /** While the room has viewers and no publisher: ask the directory again, pull again (the viewers keep their sessions). */
  private repullLater(roomName: string): void {
    if (this.closed || this.repulls.has(roomName)) return;
    const timer = setTimeout(() => {
      this.repulls.delete(roomName);
      const room = this.rooms.get(roomName);
      if (room === undefined || room.viewers.size === 0 || room.publisher !== undefined || this.relays.has(roomName)) return;
      this.options.upstreams
        .upstreamOf(roomName)
        .then((upstream) => (upstream === undefined ? Promise.reject(new Error('published nowhere')) : this.ensure(roomName, upstream)))
        .catch((error: unknown) => {
          this.options.log.info('relay: pulling again failed, will retry', { room: roomName, error: String(error) });
          this.repullLater(roomName);
        });
    }, REPULL_INTERVAL_MS);
    timer.unref();
    this.repulls.set(roomName, timer);
  }
}
