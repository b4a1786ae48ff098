// Reading onecast's HTTP answers in tests: RFC 9457 problems and RFC 8288 Link headers.
import assert from 'node:assert/strict';
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

// The pages' parser: the tests read the headers exactly as the browser pages do.
export { parseLinks, type Link } from '../../common/links';
