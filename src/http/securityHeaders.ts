// Headers every response carries, so the pages cannot be framed, sniffed into
// another type, or made to leak a URL (with a signed path or ?token=) in a Referer.
import type { NextFunction, Request, Response } from 'express';

/**
 * The pages are bundled scripts and stylesheets from onecast itself (no inline script
 * or style: test/integration/httpHardening.test.ts checks the built HTML). hls.js plays through Media
 * Source Extensions (a blob: media URL) and runs its transmuxer in a blob: worker;
 * the home page shows room thumbnails, fetched with the token, through blob: URLs;
 * WHIP, WHEP, the API, the event streams and the HLS files are all same-origin
 * requests (WebRTC media is not subject to connect-src).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
}
