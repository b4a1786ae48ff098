// What the server tells whoever embeds it or listens for webhooks: a stream went live or
// ended, viewers came or went, a recording was finished. One typed map, so the library's
// events and the webhook payloads are the same facts under the same names.

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
  /** Why it ended: deleted (the client's DELETE), replaced, timeout (no media or no consent), shutdown, … */
  reason: string;
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
  /** Why it ended: unpublished, shutdown, failed, … */
  reason: string;
  durationMs: number;
  /** Paths on this server: the HLS playlist and the MP4 download. */
  playlist: string;
  mp4: string;
}

export interface ServerEventMap {
  publish: [PublishEvent];
  unpublish: [UnpublishEvent];
  viewer: [ViewerEvent];
  recording: [RecordingEvent];
}
