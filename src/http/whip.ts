// WHIP (RFC 9725): POST an offer to /whip/{room}, DELETE the session resource.
import { Router, type Request, type Response } from 'express';
import type { Sfu } from '../sfu/sfu';
import { checkBearer } from './auth';
import { sendProblem } from './problem';
import { requireSdp, sendError } from './common';

export function whipRouter(sfu: Sfu, publishToken: string | undefined): Router {
  const router = Router();

  router.post('/whip/:room', (req: Request, res: Response) => {
    const denied = checkBearer(req, publishToken, 'publishing (WHIP)');
    if (denied !== undefined) return sendProblem(res, denied);
    const body = requireSdp(req, res);
    if (body === undefined) return;
    try {
      const { session, answer, etag } = sfu.publish(String(req.params['room']), body);
      res
        .status(201)
        .location(`/whip/${encodeURIComponent(String(req.params['room']))}/${session.id}`)
        .setHeader('ETag', etag)
        .type('application/sdp')
        .send(answer);
    } catch (error) {
      sendError(res, error);
    }
  });

  router.delete('/whip/:room/:session', (req: Request, res: Response) => {
    const denied = checkBearer(req, publishToken, 'publishing (WHIP)');
    if (denied !== undefined) return sendProblem(res, denied);
    try {
      sfu.end('publish', String(req.params['room']), String(req.params['session']));
      res.status(200).end();
    } catch (error) {
      sendError(res, error);
    }
  });

  return router;
}
