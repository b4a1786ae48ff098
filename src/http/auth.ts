// Bearer tokens (RFC 6750) for WHIP and WHEP (RFC 9725 §4.7): the static keys of
// management and /metrics checked here, and publishing and watching asked of the
// authorizer (src/auth/), its refusals said as RFC 9457 problems.
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { digest, matchingDigests } from '../auth/constantTime';
import type { AuthAction, Authorize } from '../auth/types';
import { unmapIPv4 } from '../engine/address';
import { ROOM_NAME } from '../names';
import type { Problem } from './problem';
import { signalingProblem } from './signalingProblems';

/** The tokens a request may carry: one, any of several, or undefined for no token needed. */
export type BearerKeys = string | readonly string[] | undefined;

/**
 * `Authorization: Bearer <token>`. \S+ takes every RFC 6750 b64token, JWTs with their
 * dots included; Node's 16 KiB header limit is the only bound on its length.
 */
const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The Bearer token the request carries, or undefined. */
export function bearerToken(req: Request): string | undefined {
  return BEARER.exec(req.get('authorization') ?? '')?.[1];
}

/**
 * Checks `Authorization: Bearer <token>` against `expected` in constant time:
 * both sides are hashed first so that neither the length nor the content of
 * the token leaks through timing, and every key is compared. Returns a 401
 * problem, or undefined when the request may proceed.
 */
export function checkBearer(req: Request, expected: BearerKeys, what: string): Problem | undefined {
  if (expected === undefined) return undefined;
  const token = bearerToken(req);
  const keys = (typeof expected === 'string' ? [expected] : expected).map(digest);
  const ok = matchingDigests(digest(token ?? ''), keys).length > 0 && token !== undefined;
  if (ok) return undefined;
  return unauthorized(
    token !== undefined,
    token === undefined
      ? `${what} needs an "Authorization: Bearer <token>" header with the server's token.`
      : `The bearer token is not the one this server expects for ${what}.`,
  );
}

/** Which rooms a read across rooms may show (res.locals, set by the access check). */
export type RoomFilter = (room: string) => boolean;
const ROOMS_LOCAL = 'visibleRooms';

export function visibleRooms(res: Response): RoomFilter {
  return (res.locals[ROOMS_LOCAL] as RoomFilter | undefined) ?? (() => true);
}

/**
 * Asks `authorize` whether this request may `action` in `room` (undefined: across rooms).
 * Returns the refusal as a problem, or undefined when allowed, having noted on `res`
 * which rooms a listing may show.
 */
export async function authorizeRequest(
  authorize: Authorize,
  req: Request,
  res: Response,
  action: AuthAction,
  room: string | undefined,
): Promise<Problem | undefined> {
  // Before anyone is asked: a hook is never sent, nor a cache filled with, what is no room at all.
  if (room !== undefined && !ROOM_NAME.test(room)) {
    return signalingProblem({ reason: 'invalid-room-name' });
  }
  const token = bearerToken(req);
  const address = req.socket.remoteAddress;
  const decision = await authorize({ action, room, token, ip: address === undefined ? undefined : unmapIPv4(address), userAgent: req.get('user-agent') });
  if (decision.allowed) {
    if (decision.rooms !== undefined) res.locals[ROOMS_LOCAL] = decision.rooms;
    return undefined;
  }
  if (decision.status === 401) return unauthorized(token !== undefined, decision.detail);
  if (decision.status === 503) return { status: 503, title: 'Service Unavailable', detail: decision.detail, headers: { 'Retry-After': '5' } };
  // A library user's authorize may answer any status: what is not an error status becomes 403.
  const status = decision.status >= 400 && decision.status <= 599 ? decision.status : 403;
  return { status, title: STATUS_CODES[status] ?? 'Refused', detail: decision.detail };
}

function unauthorized(tokenSent: boolean, detail: string): Problem {
  return {
    status: 401,
    title: 'Unauthorized',
    detail,
    headers: { 'WWW-Authenticate': `Bearer realm="onecast"${tokenSent ? ', error="invalid_token"' : ''}` },
  };
}
