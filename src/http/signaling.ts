// WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) share one shape: POST an offer to
// the endpoint /{whip|whep}/{room} for a session resource /{whip|whep}/{room}/{session},
// PATCH it for trickle ICE or an ICE restart, DELETE it to end. Both have no
// representation, so GET answers 2xx with no content; other methods get 405.
import { Router, type Request, type Response } from 'express';
import type { Config } from '../config';
import { iceServerLink } from '../iceServers';
import { isRoomName } from '../names';
import type { Rooms } from '../sfu/rooms';
import type { SessionKind } from '../signaling/errors';
import type { Created, SignalingService } from '../signaling/service';
import type { Authorizer } from '../auth/authorizer';
import { isClusterCredential } from '../auth/clusterCredential';
import { authorizeRequest, bearerToken } from './auth';
import { methodNotAllowed, requireSdp, sendError } from './common';
import { isPreflight, type DescribeResource } from './cors';
import type { ViewerTotals } from '../cluster/viewerTotals';
import { EVENT_STREAM_METHODS, EVENT_STREAM_PATH, EVENTS_ENTRY_METHODS, EVENTS_ENTRY_PATH, eventsLink, eventsRouter } from './events';
import { sendProblem } from './problem';
import type { UrlSigner } from './signedUrl';

const ENDPOINT_METHODS = ['POST', 'GET', 'HEAD', 'OPTIONS'] as const;
const SESSION_METHODS = ['PATCH', 'DELETE', 'GET', 'HEAD', 'OPTIONS'] as const;
const ENDPOINT_PATH = /^\/(whip|whep)\/[^/]+\/?$/;
const SESSION_PATH = /^\/(whip|whep)\/[^/]+\/[^/]+\/?$/;

interface Endpoint {
  kind: SessionKind;
  path: 'whip' | 'whep';
  create(room: string, offer: string, req: Request): Created;
  /** Link headers of the 201 beyond the ICE servers: the protocol extensions. */
  extensions(room: string, sessionId: string): string[];
}

/** `totals`: in a cluster, the rooms' viewers over every node (the events' viewercount). */
export function signalingRouter(
  signaling: SignalingService,
  rooms: Rooms,
  config: Config,
  signer: UrlSigner,
  authorizer: Authorizer,
  totals: ViewerTotals | undefined,
): Router {
  const router = Router();
  const iceLinks = config.iceServers.map(iceServerLink);
  // In a cluster, Locations name this node: PATCH and DELETE must reach the node holding the session.
  const base = config.nodeUrl ?? '';
  // A relay of another node: held to MAX_RELAYS rather than the viewer limits, and never redirected.
  const { clusterSecret } = config;
  const fromRelay = (req: Request): boolean => {
    const token = bearerToken(req);
    return clusterSecret !== undefined && token !== undefined && isClusterCredential(clusterSecret, token);
  };
  const endpoints: Endpoint[] = [
    {
      kind: 'publish',
      path: 'whip',
      create: (room, offer, req) => signaling.publish(room, offer, req.query['record'] === '1', req.socket.remoteAddress),
      extensions: () => [],
    },
    {
      kind: 'play',
      path: 'whep',
      create: (room, offer, req) => signaling.play(room, offer, req.socket.remoteAddress, fromRelay(req)),
      extensions: (room, sessionId) => [eventsLink(base, room, sessionId)],
    },
  ];
  for (const e of endpoints) {
    const endpoint = `/${e.path}/:room`;
    const resource = `/${e.path}/:room/:session`;

    router.post(endpoint, async (req: Request, res: Response) => {
      const denied = await authorizeRequest(authorizer.authorize, req, res, e.kind, String(req.params['room']));
      if (denied !== undefined) return sendProblem(res, denied);
      const offer = requireSdp(req, res);
      if (offer === undefined) return;
      try {
        const room = String(req.params['room']);
        if (e.kind === 'publish') {
          await signaling.refuseIfPublishedElsewhere(room);
          await signaling.untilPublisherMayBeReplaced(room);
        } else {
          const elsewhere = fromRelay(req) ? undefined : await signaling.elsewhereWhenFull(room);
          // The query (a token in it) goes along; fetch and OBS resend the body and headers on a 307.
          if (elsewhere !== undefined) return void res.redirect(307, elsewhere + queryOf(req));
          await signaling.untilRelayed(room, offer);
        }
        const { session, answer, etag } = e.create(room, offer, req);
        const links = [...iceLinks, ...e.extensions(room, session.id)];
        if (links.length > 0) res.setHeader('Link', links);
        res
          .status(201)
          .location(`${base}/${e.path}/${encodeURIComponent(room)}/${session.id}`)
          .setHeader('ETag', etag)
          .type('application/sdp')
          .send(answer);
      } catch (error) {
        sendError(res, error);
      }
    });

    // The endpoint for every valid room name; other names are left to the pages under /whip/ and /whep/.
    router.get(endpoint, (req: Request, res: Response, next) => {
      if (!isRoomName(req.params['room'])) return next();
      // WHEP's discovery (HEAD → Content-Type: application/sdp) and RFC 9725 §4.2 (GET → 2xx, no content) at once.
      res.status(200).setHeader('Accept-Post', 'application/sdp');
      res.type('application/sdp').end();
    });

    router.patch(resource, async (req: Request, res: Response) => {
      const denied = await authorizeRequest(authorizer.authorize, req, res, e.kind, String(req.params['room']));
      if (denied !== undefined) return sendProblem(res, denied);
      if (!req.is('application/trickle-ice-sdpfrag')) {
        return sendProblem(res, {
          status: 415,
          title: 'Unsupported Media Type',
          detail: `PATCH takes "Content-Type: application/trickle-ice-sdpfrag" (RFC 8840), got "${req.get('content-type') ?? 'none'}".`,
        });
      }
      try {
        const result = signaling.patch(
          e.kind,
          String(req.params['room']),
          String(req.params['session']),
          typeof req.body === 'string' ? req.body : '',
          req.get('if-match'),
        );
        // Trickled candidates: nothing to say (ICE-lite has no use for them).
        if (!result.restarted) return void res.status(204).end();
        res.status(200).setHeader('ETag', result.etag).type('application/trickle-ice-sdpfrag').send(result.fragment);
      } catch (error) {
        sendError(res, error);
      }
    });

    router.delete(resource, async (req: Request, res: Response) => {
      const denied = await authorizeRequest(authorizer.authorize, req, res, e.kind, String(req.params['room']));
      if (denied !== undefined) return sendProblem(res, denied);
      try {
        signaling.end(e.kind, String(req.params['room']), String(req.params['session']));
        res.status(200).end();
      } catch (error) {
        sendError(res, error);
      }
    });

    // A session that exists has no representation (RFC 9725 §4.2): 204. Anything else
    // under the prefix may be a page's file.
    router.get(resource, (req: Request, res: Response, next) => {
      try {
        signaling.session(e.kind, String(req.params['room']), String(req.params['session']));
      } catch {
        return next();
      }
      res.status(204).end();
    });

    router.all(endpoint, methodNotAllowed(ENDPOINT_METHODS));
    router.all(resource, methodNotAllowed(SESSION_METHODS));
  }
  router.use(eventsRouter(signaling, rooms, authorizer, signer, base, totals));
  return router;
}

/** The request's query string with its "?", or "" (what a redirect keeps). */
function queryOf(req: Request): string {
  const at = req.originalUrl.indexOf('?');
  return at < 0 ? '' : req.originalUrl.slice(at);
}

/**
 * What OPTIONS says about the WHIP/WHEP resources: their methods, Accept-Post on the
 * endpoints, and the ICE servers, which RFC 9725 §4.6 lets an OPTIONS carry for
 * clients that need them before making their offer (not on CORS preflights).
 */
export function describeSignaling(config: Config): DescribeResource {
  const iceLinks = config.iceServers.map(iceServerLink);
  return (req) => {
    if (ENDPOINT_PATH.test(req.path)) {
      const headers: Record<string, string | string[]> = { 'Accept-Post': 'application/sdp' };
      if (iceLinks.length > 0 && !isPreflight(req)) headers['Link'] = iceLinks;
      return { methods: ENDPOINT_METHODS, headers };
    }
    if (SESSION_PATH.test(req.path)) return { methods: SESSION_METHODS };
    if (EVENTS_ENTRY_PATH.test(req.path)) return { methods: EVENTS_ENTRY_METHODS };
    if (EVENT_STREAM_PATH.test(req.path)) return { methods: EVENT_STREAM_METHODS };
    return undefined;
  };
}
