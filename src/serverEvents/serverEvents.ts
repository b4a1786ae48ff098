// The server's outward events (src/events.ts), read off the rooms and the recordings
// service: a publisher's media started ('publish') and ended ('unpublish', with why and
// how long), viewers came and went ('viewer', batched per room), a recording ended
// ('recording'). Emitted on one EventEmitter that the library's users and the webhooks
// listen to; nothing here runs per packet.
import type { EventEmitter } from 'node:events';
import { safeEmit } from '../engine/safeEmit';
import type { CloseReason } from '../engine/session';
import type { ServerEventMap, UnpublishReason } from '../events';
import type { Logger } from '../log';
import { systemClock, type Clock } from '../recorder/clock';
import { recordingPaths } from '../recordings/layout';
import type { EndedRecording, RecordingService } from '../recordings/recordingService';
import type { Publisher } from '../sfu/publisher';
import type { Room } from '../sfu/room';
import type { Rooms } from '../sfu/rooms';
import { ViewerBatches } from './viewerBatches';

/** A session's close reason, as the short set an 'unpublish' says (README, Webhooks). */
const UNPUBLISH_REASONS: Record<CloseReason, UnpublishReason> = {
  deleted: 'deleted',
  replaced: 'replaced',
  'consent-expired': 'timeout',
  'ice-timeout': 'timeout',
  'dtls-timeout': 'timeout',
  'dtls-failed': 'disconnected',
  'dtls-closed': 'disconnected',
  'server-shutdown': 'shutdown',
};

export interface ServerEventsOptions {
  rooms: Rooms;
  recordings: Pick<RecordingService, 'on'>;
  log: Logger;
  clock?: Clock;
}

export class ServerEvents {
  private readonly viewers: ViewerBatches;
  /** Publishers whose 'publish' was told, with when their media started: only they get an 'unpublish'. */
  private readonly live = new WeakMap<Publisher, Date>();

  constructor(
    private readonly events: EventEmitter<ServerEventMap>,
    private readonly options: ServerEventsOptions,
  ) {
    const clock = options.clock ?? systemClock;
    this.viewers = new ViewerBatches(clock, (event) => this.tell('viewer', event));
    options.rooms.on('created', (room) => this.follow(room, clock));
    options.recordings.on('ended', (recording) => this.recordingEnded(recording));
  }

  /** Tells the viewer changes still held back (the server is stopping: after its sessions have ended). */
  flush(): void {
    this.viewers.flush();
  }

  private follow(room: Room, clock: Clock): void {
    room.on('publisherConnected', (publisher) => {
      // A relay is not a publish: the node the room is published on tells that one.
      if (publisher.session.relayedFrom !== undefined) return;
      const startedAt = new Date(publisher.session.connectedAt ?? clock.now());
      this.live.set(publisher, startedAt);
      this.tell('publish', { room: room.name, sessionId: publisher.session.id, startedAt });
    });
    room.on('publisherLeft', (publisher, why) => {
      const startedAt = this.live.get(publisher);
      if (startedAt === undefined) return;
      this.live.delete(publisher);
      const durationMs = Math.max(0, clock.now() - startedAt.getTime());
      this.tell('unpublish', { room: room.name, sessionId: publisher.session.id, reason: UNPUBLISH_REASONS[why], startedAt, durationMs });
    });
    // The room counts a viewer from its WHEP POST to its session's end, as /api/rooms and the WHEP event stream do.
    room.on('viewerJoined', () => this.viewers.changed(room.name, 1, room.viewers.size));
    room.on('viewerLeft', () => this.viewers.changed(room.name, -1, room.viewers.size));
  }

  private recordingEnded({ room, id, reason, durationSeconds, error }: EndedRecording): void {
    const { playlist, download } = recordingPaths(room, id);
    this.tell('recording', {
      room,
      id,
      reason,
      durationMs: Math.round(durationSeconds * 1000),
      playlist,
      mp4: download,
      ...(error !== undefined ? { error } : {}),
    });
  }

  /**
   * Emits to every listener even when one throws: a listener's bug must not reach the
   * room or the session whose change this is. It is logged instead.
   */
  private tell<K extends keyof ServerEventMap & string>(name: K, ...args: ServerEventMap[K]): void {
    // Viewer changes that happened before this event are told before it.
    if (name !== 'viewer') this.viewers.tellHeldBack(args[0].room);
    try {
      safeEmit(this.events, name, ...args);
    } catch (error) {
      this.options.log.error('a listener of the server events threw', { event: name, error: String(error) });
    }
  }
}
