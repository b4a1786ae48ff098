// The HTTP face of onecast: it speaks HTTP and nothing else, handing every
// WHIP/WHEP request to the signaling service and reading the rooms for the API.
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Authorizer } from '../auth/authorizer';
import type { Config } from '../config';
import type { RecordingService } from '../recordings/recordingService';
import type { SignalingService } from '../signaling/service';
import type { Rooms } from '../sfu/rooms';
import type { ThumbnailService } from '../thumbnails/thumbnailService';
import type { Logger } from '../log';
import type { ServerMetrics } from '../metrics';
import { accessControl, adminKey, isSameOriginOnly, openPublishingWarning, signedUrlRouter } from './access';
import { apiRouter } from './api';
import type { ClusterServices } from './clusterServices';
import { cors } from './cors';
import { metricsRouter } from './metrics';
import { clientErrorProblem, sendProblem } from './problem';
import type { RecordingStore } from '../recordings/store';
import { recordingsRouter } from './recordings';
import { securityHeaders } from './securityHeaders';
import { UrlSigner, withoutSignature } from './signedUrl';
import { describeSignaling, signalingRouter } from './signaling';
import { thumbnailsRouter } from './thumbnails';

/** An offer is a few kilobytes; anything past this is not an SDP offer. */
const MAX_BODY = '64kb';

/** The built pages (scripts/buildPages.ts): dist/pages, two levels up from src/http and from dist/http alike. */
const PAGES_DIR = path.resolve(__dirname, '..', '..', 'dist', 'pages');

/** What the routes act on: the WHIP/WHEP use cases, the rooms, which of them are recorded, their thumbnails, and who may publish and watch. */
export interface AppServices {
  signaling: SignalingService;
  rooms: Rooms;
  recording: Pick<RecordingService, 'recordsRoom'>;
  thumbnails: Pick<ThumbnailService, 'thumbnail'>;
  authorizer: Authorizer;
  /** In a cluster: what its directory tells about the other nodes. */
  cluster?: ClusterServices | undefined;
}

/**
 * onecast's HTTP side whole. A request it has no route for goes on to `next`: to the
 * listener's `notFound`, or to the routes of an application that mounts it.
 */
export function createApp(config: Config, services: AppServices, log: Logger, metrics: ServerMetrics, recordings: RecordingStore): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const warning = openPublishingWarning(config, services.authorizer.isOpen('publish'));
  if (warning !== undefined) log.warn(warning);
  const signer = new UrlSigner();
  app.use(securityHeaders);
  // LOG_LEVEL=debug: one line per request with its outcome (headers, and so tokens, are never logged).
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    // Taken now: routers mounted on a prefix rewrite req.url while they handle it.
    const { method, path: requestPath } = req;
    res.once('finish', () =>
      log.debug('http request', { method, path: withoutSignature(requestPath), status: res.statusCode, ms: Math.round(performance.now() - started) }),
    );
    next();
  });
  app.use(cors(describeSignaling(config), isSameOriginOnly));
  app.use(accessControl(config, signer, services.authorizer.authorize));
  app.use(express.text({ type: ['application/sdp', 'application/trickle-ice-sdpfrag'], limit: MAX_BODY }));
  app.use(signalingRouter(services.signaling, services.rooms, config, signer, services.authorizer, services.cluster?.totals));
  app.use(apiRouter(services.rooms, (room) => services.recording.recordsRoom(room), services.cluster));
  app.use(thumbnailsRouter(services.thumbnails));
  app.use(signedUrlRouter(signer, services.authorizer.isOpen('play')));
  app.use(metricsRouter(metrics));
  app.use(
    recordingsRouter(recordings, {
      publishToken: adminKey(config),
      ffmpegPath: config.ffmpegPath,
      maxRemuxes: config.maxMp4Remuxes,
      log,
      ...(services.cluster !== undefined ? { cluster: services.cluster } : {}),
    }),
  );
  // The browser pages: `/` (home), `/whip/`, `/whep/` (`/whip` and `/whep` redirect there).
  // Static files answer GET and HEAD of files that exist and let everything else through,
  // so they never shadow an endpoint.
  if (!existsSync(path.join(PAGES_DIR, 'index.html'))) log.warn('the web pages are not built: run npm run build:pages', { dir: PAGES_DIR });
  app.use(express.static(PAGES_DIR));
  // hls.js for recorded playback, from onecast itself: the pages need no CDN.
  app.get('/vendor/hls.min.js', (_req, res) => res.sendFile(require.resolve('hls.js/dist/hls.min.js')));

  // Mounted under a path, its Location headers, links and pages (all absolute paths) would point outside it.
  app.on('mount', () => {
    if (app.mountpath !== '/') throw new Error(`onecast's handler must be mounted at the root (app.use(handler)), not at ${String(app.mountpath)}`);
  });
  // Express's error handler must keep four parameters to be recognised as one.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = error as { status?: number; type?: string };
    if (e.type === 'entity.too.large') {
      return sendProblem(res, { status: 413, title: 'Payload Too Large', detail: `The request body is over ${MAX_BODY}; an SDP offer is far smaller.` });
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return sendProblem(res, clientErrorProblem(e as Parameters<typeof clientErrorProblem>[0]));
    }
    log.error('http handler failed', { method: req.method, path: req.path, error: String((error as Error)?.stack ?? error) });
    sendProblem(res, { status: 500, title: 'Internal Server Error', detail: 'The server failed on this request; it has been logged.' });
  });
  return app;
}

/** What onecast's own listener answers when no route took the request. */
export function notFound(req: Request, res: Response): void {
  sendProblem(res, { status: 404, title: 'Not Found', detail: `Nothing is served at ${req.method} ${req.path}.` });
}
