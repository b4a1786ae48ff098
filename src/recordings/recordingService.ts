// Decides what is recorded and keeps those recordings going. A publish is recorded when
// RECORD=on or its WHIP POST asked (?record=1), unless MAX_RECORDINGS recordings are
// being written already. The service follows every room: a recording starts when its
// publisher connects, as one more sink of the room's media, and ends (EXT-X-ENDLIST)
// when the publisher leaves. The rooms know nothing of it. Each recording's end, and why,
// is its 'ended' event (the index, retention and the server's events follow it).
import { EventEmitter } from 'node:events';
import type { RecordingEndReason } from '../events';
import type { Logger } from '../log';
import { Recorder } from '../recorder/recorder';
import type { Publisher } from '../sfu/publisher';
import type { Room } from '../sfu/room';
import type { Rooms } from '../sfu/rooms';
import { newRecordingId, RecordingsLayout } from './layout';

export interface RecordingOptions {
  dir: string;
  ffmpegPath: string;
  /** RECORD=on: every publish; otherwise only those that ask with ?record=1. */
  always: boolean;
  /** MAX_RECORDINGS: past it a publish streams live but is not recorded; 0: no limit. */
  maxRecordings: number;
}

/** A recording that has ended (finished or failed), its meta.json final. */
export interface EndedRecording {
  room: string;
  id: string;
  reason: RecordingEndReason;
  /** The playlist's duration (the sum of its segments'). */
  durationSeconds: number;
  /** Why it failed, when it did. */
  error?: string;
}

export interface RecordingServiceEvents {
  ended: [recording: EndedRecording];
}

export interface RecordingServiceOptions {
  /** Undefined when recording is off (no usable ffmpeg). */
  recording: RecordingOptions | undefined;
  /** Sends one plain RTP/RTCP datagram to ffmpeg at 127.0.0.1:port. */
  send(packet: Buffer, port: number): void;
  log: Logger;
}

/** A recording being written; `stopping`: why it was told to stop, once it was. */
interface Writing {
  room: string;
  id: string;
  recorder: Recorder;
  stopping?: Exclude<RecordingEndReason, 'failed'>;
}

export class RecordingService extends EventEmitter<RecordingServiceEvents> {
  /** Recordings being written now, by "room/id": until they finish or fail, which may be after their publish ended. */
  private readonly recorders = new Map<string, Writing>();
  /** The recording of each room's current publish, by room name. */
  private readonly byRoom = new Map<string, { publisher: Publisher; writing: Writing }>();
  /** Publishes to record once their publisher connects. */
  private readonly wanted = new WeakSet<Publisher>();
  /** close() has begun: no recording starts any more. */
  private closing = false;

  constructor(
    rooms: Rooms,
    private readonly options: RecordingServiceOptions,
  ) {
    super();
    rooms.on('created', (room) => this.follow(room));
  }

  /**
   * A WHIP POST made `publisher` the publisher of `room`; `asked`: it asked for a
   * recording (?record=1). Whether it is recorded is decided here.
   */
  published(room: string, publisher: Publisher, asked: boolean): void {
    const recording = this.options.recording;
    if (asked && recording === undefined) this.options.log.warn('recording requested but recording is off', { room });
    if (recording !== undefined && (recording.always || asked)) this.wanted.add(publisher);
  }

  /** Recordings being written now (for tests and metrics). */
  get recordingCount(): number {
    return this.recorders.size;
  }

  /** Whether room/id is being recorded right now (its playlist still grows). */
  isRecording(room: string, id: string): boolean {
    return this.recorders.has(`${room}/${id}`);
  }

  /** The recordings being written right now. */
  activeRecordings(): { room: string; id: string }[] {
    return [...this.recorders.values()].map(({ room, id }) => ({ room, id }));
  }

  /** Whether the current publish in `room` is being recorded (not failed, not stopping). */
  recordsRoom(room: string): boolean {
    return this.byRoom.get(room)?.writing.recorder.active === true;
  }

  /** The recorder of the current publish in `room`, if it is recorded (for tests and diagnostics). */
  recorderOf(room: string): Recorder | undefined {
    return this.byRoom.get(room)?.writing.recorder;
  }

  /** Resolves once every recording is finalized (EXT-X-ENDLIST, meta.json); none starts from here on. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      [...this.recorders.values()].map((writing) => {
        writing.stopping ??= 'shutdown';
        return writing.recorder.close();
      }),
    );
  }

  private follow(room: Room): void {
    room.on('publisherConnected', (publisher) => {
      if (this.wanted.has(publisher)) this.start(room, publisher);
    });
    room.on('publisherLeft', (publisher, why) => {
      const current = this.byRoom.get(room.name);
      if (current?.publisher !== publisher) return;
      this.byRoom.delete(room.name);
      room.removeSink(current.writing.recorder);
      current.writing.stopping = why === 'server-shutdown' ? 'shutdown' : 'unpublished';
      // The recording ends with the publish: the playlist gets its EXT-X-ENDLIST.
      void current.writing.recorder.close();
    });
  }

  private start(room: Room, publisher: Publisher): void {
    const options = this.options.recording;
    if (options === undefined || this.closing) return;
    const log = this.options.log;
    if (options.maxRecordings > 0 && this.recorders.size >= options.maxRecordings) {
      // The broadcast matters more than its archive: it goes on, live only, and says so.
      log.warn('not recording: MAX_RECORDINGS recordings are being written already; the publish streams live only', { room: room.name, maxRecordings: options.maxRecordings });
      return;
    }
    const id = newRecordingId();
    const key = `${room.name}/${id}`;
    const video = publisher.track('video');
    const audio = publisher.track('audio');
    const recorder = new Recorder({
      room: room.name,
      id,
      dir: new RecordingsLayout(options.dir).recordingDir(room.name, id),
      ffmpegPath: options.ffmpegPath,
      ...(video !== undefined ? { video: video.codec } : {}),
      ...(audio !== undefined ? { audio: audio.codec } : {}),
      send: this.options.send,
      requestKeyframe: () => publisher.requestKeyframe(),
      log,
    });
    const writing: Writing = { room: room.name, id, recorder };
    this.recorders.set(key, writing);
    const done = (ended: Pick<EndedRecording, 'reason' | 'error'>) => {
      this.recorders.delete(key);
      this.emit('ended', { room: room.name, id, durationSeconds: recorder.metadata.durationSeconds ?? 0, ...ended });
    };
    // A recorder finishes only when told to stop, so `stopping` says why by then.
    recorder.once('finished', () => done({ reason: writing.stopping ?? 'unpublished' }));
    recorder.once('failed', (reason) => {
      done({ reason: 'failed', error: reason });
      log.error('recording failed', { room: room.name, id, reason });
    });
    log.info('recording', { room: room.name, id });
    this.byRoom.set(room.name, { publisher, writing });
    room.addSink(recorder);
    void recorder.start();
  }
}
