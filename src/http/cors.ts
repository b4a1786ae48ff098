// CORS for browser clients on other origins (WHIP/WHEP checklist): every response
// carries the headers, and OPTIONS answers preflights (and non-preflights) itself.
import type { NextFunction, Request, Response } from 'express';

export function cors(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'Location, ETag, Link, Accept-Post, Retry-After, Content-Range, Content-Disposition');
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, PATCH, DELETE, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match, Range');
    res.setHeader('Access-Control-Max-Age', '86400');
    if (/^\/(whip|whep)\/[^/]+\/?$/.test(req.path)) res.setHeader('Accept-Post', 'application/sdp');
    res.status(204).end();
    return;
  }
  next();
}
