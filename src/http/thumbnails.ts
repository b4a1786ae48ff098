// GET/HEAD /api/rooms/{room}/thumbnail.jpg: a live room's latest picture as a JPEG
// (src/thumbnails/), or a problem saying why there is none and whether to come back.
import { Router, type Request, type Response } from 'express';
import { isRoomName, ROOM_NAME_RULE } from '../names';
import type { ThumbnailAnswer, ThumbnailService } from '../thumbnails/thumbnailService';
import { sendProblem, type Problem } from './problem';

/** Seconds to wait when every ffmpeg slot is busy: a run takes well under one. */
const BUSY_RETRY_AFTER_SECONDS = 1;
/** Seconds to wait for the keyframe asked of the publisher (a browser sends one at once; OBS's next comes within its keyframe interval). */
const KEYFRAME_RETRY_AFTER_SECONDS = 2;

/** The path of a room's thumbnail (GET /api/rooms gives it for each live room with video). */
export function thumbnailPath(room: string): string {
  return `/api/rooms/${room}/thumbnail.jpg`;
}

export function thumbnailsRouter(thumbnails: Pick<ThumbnailService, 'thumbnail'>): Router {
  const router = Router();
  router.get('/api/rooms/:room/thumbnail.jpg', async (req: Request, res: Response) => {
    const room = req.params['room'];
    if (!isRoomName(room)) {
      return sendProblem(res, { status: 400, title: 'Bad room name', detail: `A room name is ${ROOM_NAME_RULE}.` });
    }
    const answer = await thumbnails.thumbnail(room);
    if (answer.kind !== 'image') return sendProblem(res, thumbnailProblem(room, answer));
    // Private: with PLAY_TOKEN set the picture is for token holders only, so no shared cache keeps it.
    res.setHeader('Cache-Control', `private, max-age=${answer.maxAge}`);
    res.type('image/jpeg').send(answer.jpeg);
  });
  return router;
}

/** Why a room has no thumbnail, said so a person knows whether and when to ask again. */
export function thumbnailProblem(room: string, answer: Exclude<ThumbnailAnswer, { kind: 'image' }>): Problem {
  switch (answer.kind) {
    case 'not-live':
      return { status: 404, title: 'Room not live', detail: `Room ${room} is not live: a thumbnail exists only while a publisher is streaming to it.` };
    case 'no-video':
      return { status: 404, title: 'No video', detail: `Room ${room} is live without video (audio only): there is no picture to show.` };
    case 'unsupported-codec':
      return {
        status: 404,
        title: 'Codec not supported for thumbnails',
        detail: `Room ${room} sends ${answer.codec} video, which onecast cannot make thumbnails of (it can of H264 and VP8).`,
      };
    case 'no-keyframe':
      return {
        status: 503,
        title: 'No keyframe yet',
        detail: `Room ${room} has sent no whole keyframe yet (or its last one is too far back); one has been asked of the publisher: try again in ${KEYFRAME_RETRY_AFTER_SECONDS} s.`,
        headers: { 'Retry-After': String(KEYFRAME_RETRY_AFTER_SECONDS) },
      };
    case 'busy':
      return {
        status: 503,
        title: 'Thumbnails busy',
        detail: `The server is making ${answer.maxRuns} other thumbnail(s), as many as it does at once; try again in ${BUSY_RETRY_AFTER_SECONDS} s.`,
        headers: { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) },
      };
    case 'unavailable':
      return {
        status: 503,
        title: 'Thumbnail unavailable',
        detail: `The thumbnail of room ${room} could not be made: ${answer.reason}. The room still plays; the failure has been logged.`,
      };
  }
}
