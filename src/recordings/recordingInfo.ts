// One entry of GET /api/recordings (README "HTTP API"). Its own module, with no imports, so
// that the browser pages (common/api.ts) can take the type from here: a type-only
// import that esbuild erases, with nothing of the server in the bundle.

/** 'interrupted': onecast stopped without closing it (a crash); closed at its next start with what was written. */
export type RecordingStatus = 'recording' | 'finished' | 'interrupted' | 'failed';

export interface RecordingInfo {
  room: string;
  id: string;
  startedAt: string;
  endedAt: string | null;
  durationSeconds: number | null;
  /** What it takes on disk: segments, playlist, meta.json and the MP4 once downloaded. */
  bytes: number;
  /** URL of the HLS playlist. */
  playlist: string;
  /** URL of the whole recording as one MP4 (409 until it has ended). */
  download: string;
  status: RecordingStatus;
  /** Why it failed, when it did. */
  error?: string;
}
