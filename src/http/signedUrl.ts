// Short-lived signed URLs, for what cannot send an Authorization header: an
// `<a download>` link, EventSource, the browser's own HLS player. A signed URL is
// the plain path behind `/signed/{expiry}/{signature}`:
//   /signed/1764780000/Q2x…/recordings/demo/20261203-…/index.m3u8
// The signature is an HMAC-SHA256, with a secret made at start-up, over the expiry
// and a scope: one exact path, or a folder (ending in /) that covers everything
// below it, so the segments a playlist names relative to itself are covered too.
// A restart makes every signed URL invalid; so does the expiry (checked when a
// request starts: a download or an event stream under way is not cut).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNED_PREFIX = '/signed/';
/** Long enough to start a download or an event stream, short enough that a leaked link soon stops working. */
export const SIGNED_URL_TTL_SECONDS = 600;

const SIGNED = /^\/signed\/(\d{1,12})\/([A-Za-z0-9_-]{43})(\/.*)$/;
/** Paths onecast signs are plain: no percent-encoding and no dot segments that could climb out of a signed folder. */
const UNSIGNABLE = /[^A-Za-z0-9._~/-]|\/\.\.?(\/|$)/;

export type Verified = { path: string } | { refused: 'invalid' | 'expired' };

export class UrlSigner {
  private readonly secret = randomBytes(32);

  /** `scope` is an exact path, or a folder ending in `/`. */
  sign(scope: string, ttlSeconds = SIGNED_URL_TTL_SECONDS, now = Date.now()): { url: string; expiresAt: Date } {
    const expiry = Math.floor(now / 1000) + ttlSeconds;
    return { url: `${SIGNED_PREFIX}${expiry}/${this.mac(expiry, scope).toString('base64url')}${scope}`, expiresAt: new Date(expiry * 1000) };
  }

  /**
   * The path a signed request path stands for, once its signature matches one of the
   * scopes that could cover it (the path itself, or a folder above it) and its
   * expiry has not passed. Undefined for a path that is not a signed one.
   */
  verify(requestPath: string, now = Date.now()): Verified | undefined {
    if (!requestPath.startsWith(SIGNED_PREFIX)) return undefined;
    const match = SIGNED.exec(requestPath);
    if (match === null || UNSIGNABLE.test(match[3]!)) return { refused: 'invalid' };
    const expiry = Number(match[1]);
    const given = Buffer.from(match[2]!, 'base64url');
    const path = match[3]!;
    let valid = false;
    for (const scope of scopesCovering(path)) {
      // Every scope is compared, in constant time each: timing says nothing about which matched.
      if (timingSafeEqual(this.mac(expiry, scope), given)) valid = true;
    }
    if (!valid) return { refused: 'invalid' };
    if (expiry * 1000 <= now) return { refused: 'expired' };
    return { path };
  }

  private mac(expiry: number, scope: string): Buffer {
    return createHmac('sha256', this.secret).update(`${expiry}\n${scope}`).digest();
  }
}

/** `/a/b/c` → `/a/b/c`, `/a/b/`, `/a/`, `/`. */
function scopesCovering(path: string): string[] {
  const scopes = [path];
  for (let i = path.lastIndexOf('/', path.length - 2); i >= 0; i = path.lastIndexOf('/', i - 1)) {
    scopes.push(path.slice(0, i + 1));
    if (i === 0) break;
  }
  return scopes;
}

/** For logs: a signed path without its signature, which is a credential while it lasts. */
export function withoutSignature(requestPath: string): string {
  return requestPath.replace(/^\/signed\/(\d{1,12})\/[^/]*/, '/signed/$1/…');
}
