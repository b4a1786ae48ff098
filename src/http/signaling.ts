// WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) share one shape: POST an offer to
// /{whip|whep}/{room} for a session resource, DELETE the resource to end it.
import { Router, type Request, type Response } from 'express';
import type { Created, SessionKind, Sfu } from '../sfu/sfu';
import { checkBearer } from './auth';
import { requireSdp, sendError } from './common';
import { sendProblem } from './problem';

interface Endpoint {
  kind: SessionKind;
  path: 'whip' | 'whep';
  /** For 401 messages: what the token is needed for. */
  what: string;
  token: string | undefined;
  create(room: string, offer: string, req: Request): Created;
}

export function signalingRouter(sfu: Sfu, publishToken: string | undefined, playToken: string | undefined): Router {
  const router = Router();
  const endpoints: Endpoint[] = [
    { kind: 'publish', path: 'whip', what: 'publishing (WHIP)', token: publishToken, create: (room, offer, req) => sfu.publish(room, offer, req.query['record'] === '1') },
    { kind: 'play', path: 'whep', what: 'watching (WHEP)', token: playToken, create: (room, offer) => sfu.play(room, offer) },
  ];
  for (const e of endpoints) {
    router.post(`/${e.path}/:room`, (req: Request, res: Response) => {
      const denied = checkBearer(req, e.token, e.what);
      if (denied !== undefined) return sendProblem(res, denied);
      const offer = requireSdp(req, res);
      if (offer === undefined) return;
      try {
        const room = String(req.params['room']);
        const { session, answer, etag } = e.create(room, offer, req);
        res.status(201).location(`/${e.path}/${encodeURIComponent(room)}/${session.id}`).setHeader('ETag', etag).type('application/sdp').send(answer);
      } catch (error) {
        sendError(res, error);
      }
    });

    router.patch(`/${e.path}/:room/:session`, (req: Request, res: Response) => {
      const denied = checkBearer(req, e.token, e.what);
      if (denied !== undefined) return sendProblem(res, denied);
      if (!req.is('application/trickle-ice-sdpfrag')) {
        return sendProblem(res, {
          status: 415,
          title: 'Unsupported Media Type',
          detail: `PATCH takes "Content-Type: application/trickle-ice-sdpfrag" (RFC 8840), got "${req.get('content-type') ?? 'none'}".`,
        });
      }
      try {
        const result = sfu.patch(e.kind, String(req.params['room']), String(req.params['session']), typeof req.body === 'string' ? req.body : '', req.get('if-match'));
        if (result.status === 204) return void res.status(204).end();
        res.status(200).setHeader('ETag', result.etag).type('application/trickle-ice-sdpfrag').send(result.fragment);
      } catch (error) {
        sendError(res, error);
      }
    });

    router.delete(`/${e.path}/:room/:session`, (req: Request, res: Response) => {
      const denied = checkBearer(req, e.token, e.what);
      if (denied !== undefined) return sendProblem(res, denied);
      try {
        sfu.end(e.kind, String(req.params['room']), String(req.params['session']));
        res.status(200).end();
      } catch (error) {
        sendError(res, error);
      }
    });
  }
  return router;
}
