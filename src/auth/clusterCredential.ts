// The cluster credential: what one node of a cluster shows another when it pulls a room
// from it (a relay). Every node accepts it for watching any room, before its own play
// auth (tokens, JWTs, the hook, a library's authorize), so no viewer policy can block a
// relay; without CLUSTER_SECRET nobody can make one. The form is
// `cluster.<expiry, unix seconds>.<base64url HMAC-SHA256 of "cluster.<expiry>">`: the
// characters a Bearer token may hold, and checked with no call to anything else.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Authorize } from './types';

const PREFIX = 'cluster';
/**
 * How long a credential is accepted after it is made. A relay's requests (its POST, a
 * PATCH, its DELETE) come within a session's life; a node makes a new one for each pull.
 */
export const CLUSTER_CREDENTIAL_TTL_SECONDS = 3600;

function mac(secret: string, signed: string): Buffer {
  return createHmac('sha256', secret).update(signed, 'utf8').digest();
}

/** A credential valid for `ttlSeconds` from `nowMs`. */
export function makeClusterCredential(secret: string, nowMs = Date.now(), ttlSeconds = CLUSTER_CREDENTIAL_TTL_SECONDS): string {
  const signed = `${PREFIX}.${Math.floor(nowMs / 1000) + ttlSeconds}`;
  return `${signed}.${mac(secret, signed).toString('base64url')}`;
}

/** Whether `token` is a credential signed with `secret` that has not expired at `nowMs`. The signature is compared in constant time. */
export function isClusterCredential(secret: string, token: string, nowMs = Date.now()): boolean {
  const m = /^(cluster\.(\d{1,12}))\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (m === null) return false;
  const given = Buffer.from(m[3]!, 'base64url');
  const valid = timingSafeEqual(given, mac(secret, m[1]!));
  return valid && Number(m[2]) * 1000 > nowMs;
}

/** `authorize` with the cluster credential granting play in every room first. */
export function withClusterCredential(secret: string, authorize: Authorize): Authorize {
  return async (request) => {
    if (request.action === 'play' && request.token !== undefined && isClusterCredential(secret, request.token)) return { allowed: true };
    return authorize(request);
  };
}
