// RFC 9457 problem details: every error the HTTP API returns is one of these,
// with a sentence a person can act on in `detail`.
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
