// HTTP helpers the pages share: bearer headers, RFC 9457 problems turned into
// errors a person can read, and JSON GETs of onecast's API.

/** A non-2xx answer: `detail` is the server's sentence saying what to change. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    /** Seconds, from Retry-After (409 while nothing is published, 503 when full). */
    readonly retryAfter: number | null,
  ) {
    super(detail);
  }
}

export function authorization(token: string): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Reads a failed response's problem JSON (RFC 9457) into an HttpProblem. */
export async function problemOf(res: Response): Promise<HttpProblem> {
  const body = (await res.json().catch(() => ({}))) as { detail?: unknown };
  const retryAfter = Number(res.headers.get('Retry-After'));
  const detail = typeof body.detail === 'string' ? body.detail : `The server answered ${res.status} ${res.statusText}.`;
  return new HttpProblem(res.status, detail, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
}

/** `token`: PLAY_TOKEN, which the server wants for every read when it is set. */
export async function getJson<T>(url: string, token: string): Promise<T> {
  const res = await fetch(url, { headers: { Accept: 'application/json', ...authorization(token) }, cache: 'no-store' });
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as T;
}
