// CORS for browser clients on other origins (a WHIP or WHEP page served from another origin publishes and plays here): every response
// but a management resource's carries the headers, and OPTIONS answers preflights (and non-preflights) itself,
// with what the resource says about itself: its methods (Allow), Accept-Post, Link.
import type { NextFunction, Request, Response } from 'express';

/** What a resource tells OPTIONS: its methods and extra headers. */
export interface ResourceOptions {
  methods: readonly string[];
  headers?: Record<string, string | string[]>;
}

/** The resource at the request's path, or undefined for one with nothing to say. */
export type DescribeResource = (req: Request) => ResourceOptions | undefined;

const ANY_METHOD = ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'];
/** Response headers a page on another origin may read (the rest of WHIP/WHEP's are hidden by default). */
const EXPOSED = 'Location, ETag, Link, Accept-Post, Allow, Retry-After, WWW-Authenticate, Content-Range, Content-Disposition';

/**
 * `sameOriginOnly` names the management resources: they get no CORS headers at all, so
 * a browser refuses a cross-origin page's preflight and never sends its request.
 */
export function cors(describe: DescribeResource, sameOriginOnly: (req: Request) => boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (sameOriginOnly(req)) {
      if (req.method !== 'OPTIONS') return next();
      return void res.status(204).end();
    }
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', EXPOSED);
    if (req.method !== 'OPTIONS') return next();
    const resource = describe(req);
    const methods = (resource?.methods ?? ANY_METHOD).join(', ');
    if (resource !== undefined) res.setHeader('Allow', methods);
    res.setHeader('Access-Control-Allow-Methods', methods);
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match, Range');
    res.setHeader('Access-Control-Max-Age', '86400');
    for (const [name, value] of Object.entries(resource?.headers ?? {})) res.setHeader(name, value);
    res.status(204).end();
  };
}

/** A CORS preflight, as opposed to an OPTIONS a client sends for itself (RFC 9725 §4.6). */
export function isPreflight(req: Request): boolean {
  return req.get('access-control-request-method') !== undefined;
}
