// Bearer tokens (RFC 6750) for WHIP and WHEP (RFC 9725 §4.7).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Problem } from './problem';

/** The tokens a request may carry: one, any of several, or undefined for no token needed. */
export type BearerKeys = string | readonly string[] | undefined;

/**
 * Checks `Authorization: Bearer <token>` against `expected` in constant time:
 * both sides are hashed first so that neither the length nor the content of
 * the token leaks through timing, and every key is compared. Returns a 401
 * problem, or undefined when the request may proceed.
 */
export function checkBearer(req: Request, expected: BearerKeys, what: string): Problem | undefined {
  if (expected === undefined) return undefined;
  const header = req.get('authorization') ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const given = digest(match?.[1] ?? '');
  let ok = false;
  for (const key of typeof expected === 'string' ? [expected] : expected) {
    if (timingSafeEqual(given, digest(key))) ok = true;
  }
  ok &&= match !== null;
  if (ok) return undefined;
  return {
    status: 401,
    title: 'Unauthorized',
    detail:
      match === null
        ? `${what} needs an "Authorization: Bearer <token>" header with the server's token.`
        : `The bearer token is not the one this server expects for ${what}.`,
    headers: { 'WWW-Authenticate': `Bearer realm="onecast"${match === null ? '' : ', error="invalid_token"'}` },
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
