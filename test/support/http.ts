// Reading onecast's HTTP answers in tests: RFC 9457 problems and RFC 8288 Link headers;
// requests from a chosen loopback address, to play different clients.
import assert from 'node:assert/strict';
import http from 'node:http';
import type request from 'supertest';

/** Asserts `res` is an application/problem+json of `status` whose detail matches `detail`. */
export function assertProblem(res: request.Response, status: number, detail: RegExp): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  const body = JSON.parse(res.text) as { status: number; title: string; detail: string };
  assert.equal(body.status, status);
  assert.ok(body.title.length > 0);
  assert.match(body.detail, detail);
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestFromOptions {
  /** Source address; on Linux all of 127.0.0.0/8 is loopback, so each is another client. Default 127.0.0.1. */
  localAddress?: string;
  token?: string;
  body?: string;
  /** Content-Type of the body; default application/sdp. */
  type?: string;
  headers?: Record<string, string>;
  /** A keep-alive agent for a loop of requests; default: a connection per request. */
  agent?: http.Agent;
}

/** One HTTP request to `base` + `urlPath` from `localAddress`. */
export function requestFrom(base: string, method: string, urlPath: string, opts: RequestFromOptions = {}): Promise<Reply> {
  const url = new URL(urlPath, base);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['Content-Type'] = opts.type ?? 'application/sdp';
  if (opts.token !== undefined) headers['Authorization'] = `Bearer ${opts.token}`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method, headers, localAddress: opts.localAddress ?? '127.0.0.1', agent: opts.agent ?? false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

// The pages' parser: the tests read the headers exactly as the browser pages do.
export { parseLinks, type Link } from '../../common/links';
