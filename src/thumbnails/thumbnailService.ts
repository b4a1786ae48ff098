// Thumbnails of live rooms: a JPEG of the latest picture of the keyframe group the room's
// video track caches for joining viewers (its last whole frame: a frame or so behind live,
// however old the keyframe), made by ffmpeg off the media path and kept a few seconds. One run per room at a time (requests meanwhile share it), a few runs
// server-wide, each bounded in time and size; a publish that ends takes its thumbnail
// with it.
import { canDepacketize, elementaryStream, type ElementaryStream } from '../rtp/depacketize/elementaryStream';
import type { PayloadPacket } from '../rtp/depacketize/frames';
import type { Logger } from '../log';
import type { Publisher } from '../sfu/publisher';
import type { Room } from '../sfu/room';
import type { Rooms } from '../sfu/rooms';
import type { SnapshotLimits, SnapshotResult } from './snapshot';

/** How a thumbnail request is answered. */
export type ThumbnailAnswer =
  | { kind: 'image'; jpeg: Buffer; /** seconds it stays current */ maxAge: number }
  | { kind: 'not-live' }
  | { kind: 'no-video' }
  | { kind: 'unsupported-codec'; codec: string }
  /** No whole keyframe cached yet; one has been asked of the publisher. */
  | { kind: 'no-keyframe' }
  /** maxRuns runs are under way for other rooms. */
  | { kind: 'busy'; maxRuns: number }
  | { kind: 'unavailable'; reason: string };

export type RunResult = SnapshotResult['result'];

export interface ThumbnailOptions extends SnapshotLimits {
  /** How long a thumbnail is served before the next request makes a new one. */
  cacheMs: number;
  /** ffmpeg thumbnail runs at once, server-wide. */
  maxRuns: number;
  log: Logger;
  /** Makes the JPEG (snapshot with FFMPEG_PATH; tests give a stand-in). */
  run: (stream: ElementaryStream, limits: SnapshotLimits, signal: AbortSignal) => Promise<SnapshotResult>;
}

export const THUMBNAIL_DEFAULTS = { cacheMs: 5000, maxRuns: 2, timeoutMs: 5000, maxBytes: 4 * 1024 * 1024 };

interface CachedThumbnail {
  publisher: Publisher;
  jpeg: Buffer;
  madeAt: number;
}

export class ThumbnailService {
  /** Runs so far, by how they ended (onecast_thumbnail_runs_total). */
  readonly runs: Record<RunResult, number> = { ok: 0, 'not-found': 0, timeout: 0, 'too-large': 0, failed: 0 };
  private readonly cache = new Map<string, CachedThumbnail>();
  private readonly inFlight = new Map<string, Promise<ThumbnailAnswer>>();
  private running = 0;
  /** Aborted by close(): the runs under way are killed. */
  private readonly closing = new AbortController();

  constructor(
    private readonly rooms: Rooms,
    private readonly opts: ThumbnailOptions,
  ) {
    rooms.on('created', (room) => this.follow(room));
  }

  /** The thumbnail of `roomName` now: from the cache, from the run under way, or from a new run. */
  thumbnail(roomName: string, now = Date.now()): Promise<ThumbnailAnswer> {
    const room = this.rooms.get(roomName);
    const publisher = room?.live === true ? room.publisher : undefined;
    if (publisher === undefined) return Promise.resolve({ kind: 'not-live' });
    const cached = this.cache.get(roomName);
    if (cached !== undefined && cached.publisher === publisher && now - cached.madeAt < this.opts.cacheMs) {
      return Promise.resolve({ kind: 'image', jpeg: cached.jpeg, maxAge: Math.ceil((cached.madeAt + this.opts.cacheMs - now) / 1000) });
    }
    const running = this.inFlight.get(roomName);
    if (running !== undefined) return running;
    const track = publisher.track('video');
    if (track === undefined) return Promise.resolve({ kind: 'no-video' });
    if (!canDepacketize(track.codec.name)) return Promise.resolve({ kind: 'unsupported-codec', codec: track.codec.name });
    if (this.running >= this.opts.maxRuns) return Promise.resolve({ kind: 'busy', maxRuns: this.opts.maxRuns });
    const packets: PayloadPacket[] = track.cache.keyframeGroup().map(({ packet, view }) => ({
      sequenceNumber: view.sequenceNumber,
      timestamp: view.timestamp,
      marker: view.marker,
      payload: packet.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength),
    }));
    const stream = elementaryStream(track.codec.name, packets);
    if (stream === undefined) {
      // As for a joining viewer: the publisher is asked (at most every 500 ms), OBS may ignore it.
      publisher.requestKeyframe(now);
      return Promise.resolve({ kind: 'no-keyframe' });
    }
    const answer = this.make(roomName, publisher, stream);
    this.inFlight.set(roomName, answer);
    void answer.finally(() => this.inFlight.delete(roomName));
    return answer;
  }

  private async make(roomName: string, publisher: Publisher, stream: ElementaryStream): Promise<ThumbnailAnswer> {
    this.running++;
    const started = Date.now();
    let outcome: SnapshotResult;
    try {
      outcome = await this.opts.run(stream, { timeoutMs: this.opts.timeoutMs, maxBytes: this.opts.maxBytes }, this.closing.signal);
    } catch (error) {
      outcome = { result: 'failed', reason: String((error as Error)?.message ?? error) };
    } finally {
      this.running--;
    }
    this.runs[outcome.result]++;
    const ms = Date.now() - started;
    if (outcome.result !== 'ok') {
      this.opts.log.warn('thumbnail failed', { room: roomName, result: outcome.result, reason: outcome.reason, ms });
      return { kind: 'unavailable', reason: outcome.reason };
    }
    this.opts.log.debug('thumbnail made', { room: roomName, format: stream.format, bytes: outcome.jpeg.length, ms });
    // A publish that ended during the run leaves nothing behind.
    const madeAt = Date.now();
    if (this.rooms.get(roomName)?.publisher === publisher) this.cache.set(roomName, { publisher, jpeg: outcome.jpeg, madeAt });
    return { kind: 'image', jpeg: outcome.jpeg, maxAge: Math.ceil(this.opts.cacheMs / 1000) };
  }

  /** Kills the runs under way (a closing server does not wait up to their time limit) and resolves when they have ended. */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private follow(room: Room): void {
    const forget = (): void => {
      if (this.rooms.get(room.name) === room || this.rooms.get(room.name) === undefined) this.cache.delete(room.name);
    };
    room.on('publisherLeft', forget);
    room.on('closed', forget);
  }
}
