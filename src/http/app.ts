// The HTTP face of onecast: it speaks HTTP and nothing else, handing every
// media decision to the SFU.
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../config';
import type { Sfu } from '../sfu/sfu';
import type { Logger } from '../log';
import { apiRouter } from './api';
import { cors } from './cors';
import { sendProblem } from './problem';
import { RecordingStore } from '../recordings/store';
import { recordingsRouter } from './recordings';
import { signalingRouter } from './signaling';

/** An offer is a few kilobytes; anything past this is not an SDP offer. */
const MAX_BODY = '64kb';

/** The project root: pages live beside src/ (and beside dist/ once built). */
const PAGES_ROOT = path.resolve(__dirname, '..', '..');

export function createApp(config: Config, sfu: Sfu, log: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(cors);
  app.use(express.text({ type: ['application/sdp', 'application/trickle-ice-sdpfrag'], limit: MAX_BODY }));
  app.use(signalingRouter(sfu, config.publishToken, config.playToken));
  app.use(apiRouter(sfu));
  app.use(recordingsRouter(new RecordingStore(config.recordingsDir, { isActive: (room, id) => sfu.isRecording(room, id) }), { publishToken: config.publishToken, ffmpegPath: config.ffmpegPath, log }));
  // The browser pages; `/whip/` and `/whep/` with the slash, so they never shadow `POST /whip/{room}`.
  app.use('/whip/', express.static(path.join(PAGES_ROOT, 'whip'), { redirect: false }));
  app.use('/whep/', express.static(path.join(PAGES_ROOT, 'whep'), { redirect: false }));
  // hls.js for recorded playback, from onecast itself: the pages need no CDN.
  app.get('/vendor/hls.min.js', (_req, res) => res.sendFile(require.resolve('hls.js/dist/hls.min.js')));

  app.use((req: Request, res: Response) => {
    sendProblem(res, { status: 404, title: 'Not Found', detail: `Nothing is served at ${req.method} ${req.path}.` });
  });
  // Express's error handler must keep four parameters to be recognised as one.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = error as { status?: number; type?: string; message?: string };
    if (e.type === 'entity.too.large') {
      return sendProblem(res, { status: 413, title: 'Payload Too Large', detail: `The request body is over ${MAX_BODY}; an SDP offer is far smaller.` });
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return sendProblem(res, { status: e.status, title: 'Bad Request', detail: e.message ?? 'The request could not be read.' });
    }
    log.error('http handler failed', { method: req.method, path: req.path, error: String((error as Error)?.stack ?? error) });
    sendProblem(res, { status: 500, title: 'Internal Server Error', detail: 'The server failed on this request; it has been logged.' });
  });
  return app;
}
