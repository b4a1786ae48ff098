// What the server tells whoever embeds it or listens for webhooks: a stream went live or
// ended, viewers came or went, a recording was finished. One typed map, so the library's
// events and the webhook payloads are the same facts under the same names.

/**
 * Why a publish ended: the client's DELETE, a new WHIP POST taking the room from an idle
 * publisher, the client gone quiet (no ICE consent for 30 s), its connection failed or
 * closed (a DTLS alert), or the server stopping.
 */
export type UnpublishReason = 'deleted' | 'replaced' | 'timeout' | 'disconnected' | 'shutdown';

/** Why a recording ended: its publish ended, the server stopped, or it failed (ffmpeg, the disk). */
export type RecordingEndReason = 'unpublished' | 'shutdown' | 'failed';

export interface PublishEvent {
  room: string;
  /** The WHIP session's id (the last part of its Location). */
  sessionId: string;
  /** When its media started flowing (ICE and DTLS done). */
  startedAt: Date;
}

export interface UnpublishEvent {
  room: string;
  sessionId: string;
  reason: UnpublishReason;
  startedAt: Date;
  durationMs: number;
}

export interface ViewerEvent {
  room: string;
  /** How many joined and left since the last event of this room (events are batched, never one per packet). */
  joined: number;
  left: number;
  /** Viewers in the room now. */
  viewers: number;
}

export interface RecordingEvent {
  room: string;
  /** The recording's id (its folder under RECORDINGS_DIR/{room}/). */
  id: string;
  reason: RecordingEndReason;
  /** What the playlist holds (the sum of its segments' durations). */
  durationMs: number;
  /** Paths on this server: the HLS playlist and the MP4 download. */
  playlist: string;
  mp4: string;
  /** Why it failed, when reason is 'failed'. */
  error?: string;
}

export interface ServerEventMap {
  publish: [PublishEvent];
  unpublish: [UnpublishEvent];
  viewer: [ViewerEvent];
  recording: [RecordingEvent];
}
