// What the WHIP and WHEP routes share: reading an SDP body, turning the signaling
// service's refusals into problem responses, and 405 for other methods.
import type { NextFunction, Request, Response } from 'express';
import { SignalingError } from '../signaling/errors';
import { sendProblem } from './problem';
import { signalingProblem } from './signalingProblems';

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

/** Answers a SignalingError with its problem response; anything else is a failure of ours (rethrown: 500). */
export function sendError(res: Response, error: unknown): void {
  if (!(error instanceof SignalingError)) throw error;
  sendProblem(res, signalingProblem(error.failure));
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
