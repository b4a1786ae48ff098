// Recordings over HTTP: the list (a page at a time), the HLS files as the recorder
// wrote them, one MP4 per recording (remuxed by ffmpeg on first download, at most
// maxRemuxes at once server-wide, then cached beside the recording), and deleting. Every name from the URL goes through the recordings layout
// (src/recordings/layout.ts), which alone turns names into paths.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { Logger } from '../log';
import { remuxToMp4 } from '../recorder/ffmpeg';
import { isRecordingId, isRoomName, ROOM_NAME_RULE } from '../names';
import { isRecordingFile, mp4File, PLAYLIST_NAME, playlistFile } from '../recordings/layout';
import { cursorOf, parseCursor, type Recording, type RecordingStore } from '../recordings/store';
import { checkBearer, visibleRooms } from './auth';
import { clusterRecordingsPage, NODE_SCOPE } from './clusterRecordings';
import { CLUSTER_VIEW_HEADER, type ClusterServices } from './clusterServices';
import { sendProblem } from './problem';

export interface RecordingsRouterOptions {
  /** When set, DELETE needs `Authorization: Bearer <token>`. */
  publishToken?: string | undefined;
  /** The ffmpeg binary that turns a recording's HLS into one MP4. */
  ffmpegPath: string;
  /** ffmpeg remuxes running at once, at most (MAX_MP4_REMUXES): each is a process of its own. */
  maxRemuxes: number;
  log: Logger;
  /** In a cluster: the list is every node's (clusterRecordings.ts). */
  cluster?: Pick<ClusterServices, 'nodeUrl' | 'nodes' | 'credential'>;
}

/** A remux copies packets; if it runs longer than this, something is wrong. */
const REMUX_TIMEOUT_MS = 10 * 60_000;
/** What a download refused for want of a remux slot is told to wait before trying again. */
const REMUX_RETRY_AFTER_SECONDS = 5;
/** GET /api/recordings: entries per page unless ?limit= says, and at most. */
export const LIST_DEFAULT_LIMIT = 100;
export const LIST_MAX_LIMIT = 1000;

/** Every remux slot is taken. */
class RemuxBusy extends Error {}

class RemuxError extends Error {
  constructor(
    message: string,
    readonly unavailable: boolean,
  ) {
    super(message);
  }
}

export function recordingsRouter(store: RecordingStore, opts: RecordingsRouterOptions): Router {
  const router = Router();
  /** One ffmpeg run per recording at a time: concurrent downloads wait on the same one. */
  const remuxing = new Map<string, Promise<string>>();
  /** ffmpeg remux processes running now. */
  let remuxes = 0;

  router.get('/api/recordings', async (req: Request, res: Response) => {
    const room = req.query['room'];
    if (room !== undefined && !isRoomName(room)) {
      return sendProblem(res, {
        status: 400,
        title: 'Bad room name',
        detail: `The room query parameter must be a room name: ${ROOM_NAME_RULE}.`,
      });
    }
    const limit = req.query['limit'] ?? String(LIST_DEFAULT_LIMIT);
    if (typeof limit !== 'string' || !/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > LIST_MAX_LIMIT) {
      return sendProblem(res, {
        status: 400,
        title: 'Bad limit',
        detail: `The limit query parameter must be a whole number from 1 to ${LIST_MAX_LIMIT} (recordings per page; ${LIST_DEFAULT_LIMIT} when absent).`,
      });
    }
    const before = req.query['before'] === undefined ? undefined : parseCursor(req.query['before']);
    if (req.query['before'] !== undefined && before === undefined) {
      return sendProblem(res, {
        status: 400,
        title: 'Bad cursor',
        detail:
          'The before query parameter must be a cursor as the Link rel="next" header of the previous page gives it ({startedAt in ms}.{room}.{id}); leave it out for the first page.',
      });
    }
    // One more than asked: whether there is a next page.
    // Filtered in the store, so that a viewer allowed some rooms only still gets whole pages.
    const visible = visibleRooms(res);
    const page = await store.list(room, { limit: Number(limit) + 1, visible, ...(before !== undefined ? { before } : {}) });
    let more = page.length > Number(limit);
    if (more) page.length = Number(limit);
    let listed = page;
    const query = new URLSearchParams({ ...(room !== undefined ? { room } : {}), limit });
    // In a cluster, the node asked lists every node's; asked by another node (scope=node), its own.
    if (opts.cluster !== undefined && req.query['scope'] !== NODE_SCOPE) {
      const merged = await clusterRecordingsPage(opts.cluster, { recordings: page, more }, withBefore(query, req.query['before']), Number(limit), visible);
      ({ recordings: listed, more } = merged);
      if (merged.partial) res.setHeader(CLUSTER_VIEW_HEADER, 'partial');
    }
    if (more && listed.length > 0) {
      const next = withBefore(query, cursorOf(listed[listed.length - 1]!));
      res.setHeader('Link', `</api/recordings?${next.toString()}>; rel="next"`);
    }
    res.json(listed);
  });

  router.get('/recordings/:room/:id.mp4', async (req: Request, res: Response) => {
    const recording = await findFinished(req, res, 'download when it ends (its HLS playlist plays meanwhile)');
    if (recording === undefined) return;
    const { room, id } = recording.info;
    let mp4: string;
    try {
      mp4 = await mp4For(recording);
    } catch (error) {
      if (error instanceof RemuxBusy) {
        res.setHeader('Retry-After', String(REMUX_RETRY_AFTER_SECONDS));
        return sendProblem(res, {
          status: 503,
          title: 'MP4 conversions busy',
          detail: `The server is converting ${opts.maxRemuxes} other recording(s) to MP4, as many as it does at once; try again in ${REMUX_RETRY_AFTER_SECONDS} s. The HLS playlist ${recording.info.playlist} plays meanwhile.`,
        });
      }
      if (error instanceof RemuxError && error.unavailable) {
        return sendProblem(res, {
          status: 503,
          title: 'MP4 conversion unavailable',
          detail: `${error.message} The HLS playlist ${recording.info.playlist} still plays.`,
        });
      }
      opts.log.error('recording remux failed', { room, id, error: String((error as Error)?.message ?? error) });
      return sendProblem(res, {
        status: 500,
        title: 'MP4 conversion failed',
        detail: `Recording ${id} of room ${room} could not be converted to MP4; the failure has been logged. Its HLS playlist ${recording.info.playlist} may still play.`,
      });
    }
    res.setHeader('Content-Disposition', `attachment; filename="${room}-${id}.mp4"`);
    send(res, mp4, { 'Content-Type': 'video/mp4', 'Cache-Control': 'no-cache' });
  });

  router.get('/recordings/:room/:id/:file', async (req: Request, res: Response) => {
    const { room, id, file } = req.params as Record<string, string>;
    if (!isRoomName(room) || !isRecordingId(id) || !isRecordingFile(file)) return badName(res);
    const absolute = await store.layout.resolve(room, id, file);
    if (absolute === undefined) return notFound(res, `There is no ${file} in recording ${id} of room ${room}.`);
    const headers: Record<string, string> =
      file === PLAYLIST_NAME
        ? // The playlist grows while the recording runs.
          { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'no-cache' }
        : // A segment never changes once it is in the playlist.
          { 'Content-Type': 'video/mp2t', 'Cache-Control': 'public, max-age=31536000, immutable' };
    send(res, absolute, headers);
  });

  router.delete('/recordings/:room/:id', async (req: Request, res: Response) => {
    const denied = checkBearer(req, opts.publishToken, 'deleting recordings');
    if (denied !== undefined) return sendProblem(res, denied);
    const recording = await findFinished(req, res, 'delete it when it ends');
    if (recording === undefined) return;
    const { room, id } = recording.info;
    // Let a running remux finish first, so it does not write into a deleted directory.
    await remuxing.get(recording.dir)?.catch(() => undefined);
    if (!(await store.remove(room, id))) return notFound(res, `There is no recording ${id} in room ${room}.`);
    opts.log.info('recording deleted', { room, id });
    res.status(204).end();
  });

  /** The finished recording the URL names, or undefined after answering 400/404/409. */
  async function findFinished(req: Request, res: Response, advice: string): Promise<Recording | undefined> {
    const recording = await find(req, res);
    if (recording?.inProgress) {
      const { room, id } = recording.info;
      sendProblem(res, { status: 409, title: 'Still recording', detail: `Recording ${id} of room ${room} is still recording; ${advice}.` });
      return undefined;
    }
    return recording;
  }

  /** The recording the URL names, or undefined after answering 400/404. */
  async function find(req: Request, res: Response): Promise<Recording | undefined> {
    const { room, id } = req.params as Record<string, string>;
    if (!isRoomName(room) || !isRecordingId(id)) {
      badName(res);
      return undefined;
    }
    const recording = await store.get(room, id);
    if (recording === undefined) notFound(res, `There is no recording ${id} in room ${room}; GET /api/recordings lists them.`);
    return recording;
  }

  /** The recording's MP4: the cached one while it is newer than the playlist, else a fresh remux. */
  function mp4For(recording: Recording): Promise<string> {
    const running = remuxing.get(recording.dir);
    if (running !== undefined) return running;
    const job = (async () => {
      const playlist = playlistFile(recording.dir);
      const target = mp4File(recording.dir);
      const [source, cached] = await Promise.all([statOrUndefined(playlist), statOrUndefined(target)]);
      if (source === undefined) throw new Error(`${playlist} is missing`);
      if (cached !== undefined && cached.isFile() && cached.mtimeMs >= source.mtimeMs) return target;
      // Checked and taken with no await in between: the count cannot be overtaken.
      if (remuxes >= opts.maxRemuxes) throw new RemuxBusy();
      remuxes++;
      const started = Date.now();
      try {
        await remux(playlist, target, /aac|mp4a/i.test(recording.meta.audio ?? ''));
      } finally {
        remuxes--;
      }
      opts.log.info('recording remuxed to MP4', { room: recording.info.room, id: recording.info.id, ms: Date.now() - started });
      // The MP4 counts in the recording's size (the listing's bytes, RECORDINGS_MAX_BYTES).
      await store.refresh(recording.info.room, recording.info.id);
      return target;
    })();
    remuxing.set(recording.dir, job);
    const forget = () => remuxing.delete(recording.dir);
    job.then(forget, forget);
    return job;
  }

  /** ffmpeg copies the packets into an MP4 with the index up front; written beside, then renamed into place. */
  async function remux(playlist: string, target: string, aac: boolean): Promise<void> {
    const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const { exit, stderrTail } = await remuxToMp4(opts.ffmpegPath, playlist, temporary, { aac, timeoutMs: REMUX_TIMEOUT_MS });
      if (exit.notRunnable) {
        throw new RemuxError(`ffmpeg (${opts.ffmpegPath}) cannot be run on this server, so recordings cannot be downloaded as MP4; set FFMPEG_PATH.`, true);
      }
      if (exit.error !== undefined) throw new Error(exit.error);
      if (exit.code !== 0) throw new RemuxError(`ffmpeg exited with ${exit.signal ?? exit.code}: ${stderrTail.split('\n').join(' | ')}`, false);
      await fs.rename(temporary, target);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error;
    }
  }

  return router;
}

/** Sends a vetted file with Range support (206, Accept-Ranges); `headers` win over send's guesses. */
function send(res: Response, absolute: string, headers: Record<string, string>): void {
  const root = path.dirname(absolute);
  res.sendFile(path.basename(absolute), { root, dotfiles: 'deny', cacheControl: false, headers }, (error?: Error & { code?: string; status?: number }) => {
    if (error === undefined || res.headersSent) return;
    if (error.code === 'ECONNABORTED' || error.code === 'ECONNRESET') return;
    res.removeHeader('Cache-Control');
    res.removeHeader('Content-Disposition');
    if (error.status === 416) {
      // send has set Content-Range: bytes */{size}.
      return sendProblem(res, {
        status: 416,
        title: 'Range Not Satisfiable',
        detail: 'The requested byte range lies outside the file; Content-Range gives its size.',
      });
    }
    notFound(res, 'The file went away while it was being sent.');
  });
}

async function statOrUndefined(file: string) {
  try {
    return await fs.stat(file);
  } catch {
    return undefined;
  }
}

/** `query` with the before cursor, when there is one. */
function withBefore(query: URLSearchParams, before: unknown): URLSearchParams {
  const withIt = new URLSearchParams(query);
  if (typeof before === 'string') withIt.set('before', before);
  return withIt;
}

function badName(res: Response): void {
  sendProblem(res, {
    status: 400,
    title: 'Bad recording path',
    detail:
      'Recording URLs are /recordings/{room}/{id}/index.m3u8, /recordings/{room}/{id}/seg_NNNNN.ts or /recordings/{room}/{id}.mp4: ' +
      'a room is 1–64 of A–Z a–z 0–9 _ -, an id 1–64 of A–Z a–z 0–9 -.',
  });
}

function notFound(res: Response, detail: string): void {
  sendProblem(res, { status: 404, title: 'Not Found', detail });
}
