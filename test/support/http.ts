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

export interface Link {
  target: string;
  params: Record<string, string>;
}

/** The links of a Link header (several headers arrive joined by ", "). */
export function parseLinks(header: string | undefined): Link[] {
  const links: Link[] = [];
  // <target> then ;name=value or ;name="quoted \" value" parameters, up to the next comma.
  const link = /\s*<([^>]*)>((?:\s*;\s*[^\s=;,]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^;,]*))*)\s*(?:,|$)/gy;
  const param = /;\s*([^\s=;,]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,]*)/g;
  if (header === undefined) return links;
  let m: RegExpExecArray | null;
  let parsed = 0;
  while (parsed < header.length && (m = link.exec(header)) !== null) {
    parsed = link.lastIndex;
    const params: Record<string, string> = {};
    for (const p of m[2]!.matchAll(param)) {
      const raw = p[2]!.trim();
      params[p[1]!.toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    }
    links.push({ target: m[1]!, params });
  }
  assert.equal(parsed, header.length, `unparsable Link header: ${header}`);
  return links;
}
