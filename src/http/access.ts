// Who may read and who may manage, decided before any router runs:
// - viewer reads (GET/HEAD of /api/…, /recordings/…, a WHEP event stream) are asked of
//   the authorizer (src/auth/: PLAY_TOKEN, JWTs, the hook…) for the room their path
//   names, or across rooms for the lists (which then show only the rooms granted); a
//   signed URL stands in where a header cannot be sent;
// - management (?record=1 on a WHIP POST, DELETE of a recording) needs the admin
//   key, ADMIN_TOKEN or else PUBLISH_TOKEN; with neither set it is refused, so an
//   open server never lets a stranger delete recordings or start ffmpeg;
// - /metrics needs METRICS_TOKEN, or, without one, a request from this machine.
// WHIP/WHEP signalling asks the authorizer itself (signaling.ts, events.ts); the pages
// and hls.js are public.
import { isIP } from 'node:net';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../config';
import { unmapIPv4 } from '../engine/address';
import type { Authorize } from '../auth/types';
import { authorizeRequest, checkBearer } from './auth';
import { sendProblem, type Problem } from './problem';
import { SIGNED_URL_TTL_SECONDS, type UrlSigner } from './signedUrl';

type Access = 'viewer-read' | 'metrics' | 'start-recording' | 'delete-recording';

const VIEWER_READ = /^\/(api|recordings)\/|^\/whep\/[^/]+\/[^/]+\/events\/[^/]+\/?$/;
const RECORDING = /^\/recordings\/[^/]+\/[^/]+\/?$/;
const WHIP_ENDPOINT = /^\/whip\/[^/]+\/?$/;
const METRICS = /^\/metrics\/?$/;
/** What /api/signed-url signs: a recording's folder, files and MP4. No `%`, no dot segments. */
const SIGNABLE = /^\/recordings(\/[A-Za-z0-9_-][A-Za-z0-9._-]*){2,3}\/?$/;

/** The key that starts and deletes recordings: ADMIN_TOKEN, else PUBLISH_TOKEN; undefined when neither is set. */
export function adminKey(config: Config): string | undefined {
  return config.adminToken ?? config.publishToken;
}

/** What the request is, for access: undefined for what anyone may ask (pages, signalling, OPTIONS). */
export function accessOf(req: Request): Access | undefined {
  // Express matches routes without regard to case or a trailing slash: so does this.
  const path = req.path.toLowerCase();
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (METRICS.test(path)) return 'metrics';
    if (VIEWER_READ.test(path)) return 'viewer-read';
  }
  if (req.method === 'DELETE' && RECORDING.test(path)) return 'delete-recording';
  // The same test signaling.ts makes for the signaling service's publish(…, record).
  if (req.method === 'POST' && WHIP_ENDPOINT.test(path) && req.query['record'] === '1') return 'start-recording';
  return undefined;
}

/** Management resources take no cross-origin requests: no web page elsewhere can drive them from a visitor's browser. */
export function isSameOriginOnly(req: Request): boolean {
  const path = req.path.toLowerCase();
  return RECORDING.test(path) || METRICS.test(path);
}

/** The start-up warning an operator must not miss, or undefined. `publishingOpen`: no authorization mode guards publishing. */
export function openPublishingWarning(config: Config, publishingOpen: boolean): string | undefined {
  if (!publishingOpen || isLoopback(config.bind)) return undefined;
  return `anyone can publish: PUBLISH_TOKEN is not set (nor STREAM_KEYS, JWT_* or AUTH_HOOK_URL) and BIND=${config.bind} is reachable from other machines; set one (or BIND=127.0.0.1 behind a proxy)`;
}

/**
 * The room a viewer read is about, from its path (/whep/{room}/…, /recordings/{room}/…,
 * /api/rooms/{room}/…) or its query (/api/recordings?room=, /api/signed-url?path=);
 * undefined for reads across rooms.
 */
export function roomOfRead(req: Request): string | undefined {
  const segments = req.path.split('/');
  const first = segments[1]?.toLowerCase();
  if (first === 'whep' || first === 'recordings') return decoded(segments[2]);
  if (first !== 'api') return undefined;
  const second = segments[2]?.toLowerCase();
  if (second === 'rooms') return decoded(segments[3]);
  if (second === 'recordings' && typeof req.query['room'] === 'string') return req.query['room'];
  const signable = req.query['path'];
  if (second === 'signed-url' && typeof signable === 'string' && SIGNABLE.test(signable)) return signable.split('/')[2];
  return undefined;
}

function decoded(segment: string | undefined): string | undefined {
  if (segment === undefined || segment === '') return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function accessControl(config: Config, signer: UrlSigner, authorize: Authorize) {
  const admin = adminKey(config);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const signed = signer.verify(req.path);
    if (signed !== undefined) {
      if ('refused' in signed) return sendProblem(res, signedRefusal(signed.refused));
      // From here on, routers see the plain path; the signature stood for PLAY_TOKEN, and for nothing more.
      req.url = signed.path + req.url.slice(req.url.indexOf('?') === -1 ? req.url.length : req.url.indexOf('?'));
      const access = accessOf(req);
      if (access !== undefined && access !== 'viewer-read') {
        return sendProblem(res, {
          status: 403,
          title: 'Forbidden',
          detail: 'A signed URL reads recordings and event streams; send other requests with the Bearer token they need.',
        });
      }
      return next();
    }
    const access = accessOf(req);
    const denied = access === 'viewer-read' ? await authorizeRequest(authorize, req, res, 'play', roomOfRead(req)) : refusal(access, req);
    if (denied !== undefined) return sendProblem(res, denied);
    next();
  };

  function refusal(access: Exclude<Access, 'viewer-read'> | undefined, req: Request): Problem | undefined {
    switch (access) {
      case undefined:
        return undefined;
      case 'start-recording':
        // RECORD=on records every publish anyway: ?record=1 asks for nothing more.
        return config.record ? undefined : managementRefusal(req);
      case 'delete-recording':
        return managementRefusal(req);
      case 'metrics':
        if (config.metricsToken !== undefined) return checkBearer(req, config.metricsToken, 'GET /metrics (METRICS_TOKEN)');
        if (isLocalRequest(req)) return undefined;
        return {
          status: 403,
          title: 'Forbidden',
          detail:
            'GET /metrics answers only requests from this machine while METRICS_TOKEN is unset; set METRICS_TOKEN and have Prometheus send it as a Bearer token to scrape from elsewhere.',
        };
    }
  }

  function managementRefusal(req: Request): Problem | undefined {
    if (admin === undefined) {
      return {
        status: 403,
        title: 'Forbidden',
        detail:
          'Starting recordings with ?record=1 and deleting recordings are turned off because this server has neither ADMIN_TOKEN nor PUBLISH_TOKEN set; ' +
          'its operator can set one of them (sent as the Bearer token), or RECORD=on to record every publish.',
      };
    }
    return checkBearer(req, admin, 'starting (?record=1) and deleting recordings (ADMIN_TOKEN, or PUBLISH_TOKEN when it is unset)');
  }
}

/**
 * GET /api/signed-url?path=… → `{ url, expiresAt }`: a signed URL for a recording's
 * file or folder (`/recordings/{room}/{id}/` covers its playlist and segments), its
 * MP4 (a WHEP event stream's Location comes signed already). It is a viewer read of the
 * path's room, authorized like every other; while watching is open the plain path is
 * the answer (nothing needs signing).
 */
export function signedUrlRouter(signer: UrlSigner, playOpen: boolean): Router {
  const router = Router();
  router.get('/api/signed-url', (req: Request, res: Response) => {
    const path = req.query['path'];
    if (typeof path !== 'string' || path.length > 512 || !SIGNABLE.test(path)) {
      return sendProblem(res, {
        status: 400,
        title: 'Bad path to sign',
        detail:
          'Give ?path= a recording file or folder: /recordings/{room}/{id}/index.m3u8, /recordings/{room}/{id}/ (its playlist and segments) or /recordings/{room}/{id}.mp4.',
      });
    }
    if (playOpen) return void res.json({ url: path, expiresAt: null });
    const { url, expiresAt } = signer.sign(path);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ url, expiresAt: expiresAt.toISOString(), ttlSeconds: SIGNED_URL_TTL_SECONDS });
  });
  return router;
}

function signedRefusal(reason: 'invalid' | 'expired'): Problem {
  return {
    status: 401,
    title: 'Unauthorized',
    detail:
      reason === 'expired'
        ? `This signed URL has expired (they last ${SIGNED_URL_TTL_SECONDS / 60} minutes); get a new one from GET /api/signed-url with the Bearer token.`
        : 'This signed URL is not valid on this server (it may be from before a restart); get a new one from GET /api/signed-url with the Bearer token.',
    headers: { 'WWW-Authenticate': 'Bearer realm="onecast", error="invalid_token"' },
  };
}

/** From this machine, and not relayed by a proxy on it (which would make every request look local). */
function isLocalRequest(req: Request): boolean {
  if (req.get('forwarded') !== undefined || req.get('x-forwarded-for') !== undefined || req.get('x-real-ip') !== undefined) return false;
  return isLoopback(req.socket.remoteAddress ?? '');
}

function isLoopback(address: string): boolean {
  const v4 = unmapIPv4(address);
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}
