// What the WHIP and WHEP routes share: reading an SDP body, turning the SFU's and
// the SDP module's refusals into problem responses, and 405 for other methods.
import type { NextFunction, Request, Response } from 'express';
import { OfferError } from '../sdp/types';
import { SfuError } from '../sfu/sfu';
import { sendProblem } from './problem';

/** The request's SDP offer, or undefined after answering 415/400 itself. */
export function requireSdp(req: Request, res: Response): string | undefined {
  if (!req.is('application/sdp')) {
    sendProblem(res, {
      status: 415,
      title: 'Unsupported Media Type',
      detail: `Send the SDP offer with "Content-Type: application/sdp" (got "${req.get('content-type') ?? 'none'}").`,
    });
    return undefined;
  }
  if (typeof req.body !== 'string' || req.body.trim() === '') {
    sendProblem(res, { status: 400, title: 'Empty offer', detail: 'The request body must be an SDP offer; it was empty.' });
    return undefined;
  }
  return req.body;
}

export function sendError(res: Response, error: unknown): void {
  if (error instanceof OfferError) {
    sendProblem(res, { status: error.status, title: error.status === 400 ? 'Malformed SDP offer' : 'Unacceptable SDP offer', detail: error.message });
  } else if (error instanceof SfuError) {
    sendProblem(res, { status: error.status, title: error.title, detail: error.message, headers: error.headers });
  } else {
    throw error;
  }
}

/**
 * For `router.all` after a resource's routes: 405 with Allow (RFC 9110 §15.5.6) for
 * the methods it does not take; a method it takes (a GET that was not for it, say)
 * goes on to the next route.
 */
export function methodNotAllowed(methods: readonly string[]) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (methods.includes(req.method)) return next();
    sendProblem(res, {
      status: 405,
      title: 'Method Not Allowed',
      detail: `${req.path} takes ${methods.join(', ')}; not ${req.method}.`,
      headers: { Allow: methods.join(', ') },
    });
  };
}
