// RFC 9457 problem details: every error the HTTP API returns is one of these,
// with a sentence a person can act on in `detail`.
import { STATUS_CODES } from 'node:http';
import type { Response } from 'express';

export interface Problem {
  status: number;
  title: string;
  detail: string;
  headers?: Record<string, string>;
}

export function sendProblem(res: Response, problem: Problem): void {
  for (const [name, value] of Object.entries(problem.headers ?? {})) res.setHeader(name, value);
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title: problem.title, status: problem.status, detail: problem.detail }));
}

/**
 * A 4xx that Express or its body parser raised before any handler ran, said so a
 * person can act on it (their own messages, such as "incorrect header check", are not).
 */
export function clientErrorProblem(error: { status: number; type?: string; code?: string; message?: string; encoding?: string; charset?: string }): Problem {
  const title = STATUS_CODES[error.status] ?? 'Bad Request';
  const problem = (detail: string): Problem => ({ status: error.status, title, detail });
  if (error.type === 'encoding.unsupported') {
    return problem(`The body's Content-Encoding "${error.encoding ?? ''}" is not one onecast reads; send the body uncompressed, or as gzip, deflate or br.`);
  }
  if (error.type === 'charset.unsupported') {
    return problem(`The body's charset "${error.charset ?? ''}" is not supported; send it as UTF-8.`);
  }
  if (error.type === 'request.aborted') return problem('The connection closed before the whole body arrived; send the request again.');
  if (error.code?.startsWith('Z_')) {
    return problem('The body could not be decompressed as its Content-Encoding says; send it uncompressed or encoded as declared.');
  }
  if (error.message?.startsWith('Failed to decode param')) {
    return problem('The URL holds a malformed percent-encoding (a % not followed by two hex digits of valid UTF-8); encode the room name and ids correctly.');
  }
  return problem(`The request could not be read (${error.message ?? 'no reason given'}); check its headers and body.`);
}
