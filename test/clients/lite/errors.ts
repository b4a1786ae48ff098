// How the lite client fails: which phase, and for the POST the status and RFC 9457 problem.

export type LiteClientPhase = 'http' | 'ice' | 'dtls';

/** Why connect() failed: phase, and for HTTP the status and the RFC 9457 problem. */
export class LiteClientError extends Error {
  constructor(
    message: string,
    readonly phase: LiteClientPhase,
    readonly status?: number,
    readonly problem?: { title?: string; detail?: string; [key: string]: unknown },
    readonly retryAfter?: string,
  ) {
    super(message);
    this.name = 'LiteClientError';
  }
}

/** "409 Conflict — title: detail" from a refused POST, with the problem when the body is JSON. */
export function describeProblem(
  status: number,
  statusText: string,
  body: string,
  contentType: string,
): {
  message: string;
  problem?: { title?: string; detail?: string };
} {
  let problem: { title?: string; detail?: string } | undefined;
  let text = body.trim();
  if (/json/i.test(contentType)) {
    try {
      problem = JSON.parse(body) as { title?: string; detail?: string };
      text = [problem.title, problem.detail].filter((s) => typeof s === 'string' && s !== '').join(': ');
    } catch {
      // not JSON after all: keep the text
    }
  }
  if (text.length > 300) text = `${text.slice(0, 297)}...`;
  return { message: `${status} ${statusText}${text ? ` — ${text}` : ''}`, ...(problem ? { problem } : {}) };
}
