// AUTH_HOOK_URL: an HTTP service of the operator's decides what no local mode grants.
// onecast POSTs {"action", "room", "token", "ip", "userAgent"} (JSON; room and token may
// be null) and reads the status: 2xx allows; 4xx refuses, passed on to the client with the
// hook's status and the `detail` of its JSON body (a default sentence without one); 5xx, a
// redirect, no answer within the timeout, or no connection is a 503: onecast never lets a
// request through because the hook was down. Positive answers are remembered for
// CACHE_MS (by action, room, a hash of the token and the address), so a player's many
// reads cost the hook one request; refusals never are, so a fix takes effect at once.
import { createHash } from 'node:crypto';
import type { Logger } from '../log';
import type { AuthDecision, AuthRequest } from './types';

export const HOOK_CACHE_MS = 30_000;
/** Remembered answers at most; the oldest goes first. */
const CACHE_ENTRIES = 10_000;
/** A hook's detail is passed on, cut to this many characters. */
const DETAIL_MAX = 300;
/** A hook that fails is said in the log at most this often, not once per request. */
const FAILURE_LOG_MS = 10_000;

export interface AuthHookOptions {
  url: string;
  timeoutMs: number;
  log: Logger;
  now?: () => number;
}

export class AuthHook {
  /** key → when the allowing answer stops counting. */
  private readonly allowed = new Map<string, number>();
  private readonly now: () => number;
  private lastFailureLogged = -Infinity;

  constructor(private readonly options: AuthHookOptions) {
    this.now = options.now ?? Date.now;
  }

  async decide(request: AuthRequest): Promise<AuthDecision> {
    const key = cacheKey(request);
    const until = this.allowed.get(key);
    if (until !== undefined && until > this.now()) return { allowed: true };
    this.allowed.delete(key);
    let res: Response;
    try {
      res = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({
          action: request.action,
          room: request.room ?? null,
          token: request.token ?? null,
          ip: request.ip ?? null,
          userAgent: request.userAgent ?? null,
        }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      return this.failed(e.name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : (e.cause?.code ?? e.message));
    }
    if (res.status >= 200 && res.status < 300) {
      void res.body?.cancel();
      this.remember(key);
      return { allowed: true };
    }
    if (res.status >= 400 && res.status < 500) return { allowed: false, status: res.status, detail: await detailOf(res, request) };
    void res.body?.cancel();
    return this.failed(`it answered ${res.status}`);
  }

  /** The 503 every request gets while the hook fails, and a warn line now and then saying why. */
  private failed(why: string): AuthDecision {
    if (this.now() - this.lastFailureLogged >= FAILURE_LOG_MS) {
      this.lastFailureLogged = this.now();
      this.options.log.warn(`AUTH_HOOK_URL failed (${why}): requests it decides get 503 until it answers`, {
        // Its origin only: the path or query may hold a shared secret.
        url: new URL(this.options.url).origin,
      });
    }
    return {
      allowed: false,
      status: 503,
      detail: 'The authorization service (AUTH_HOOK_URL) did not answer, so onecast cannot tell whether this is allowed; try again shortly.',
    };
  }

  private remember(key: string): void {
    if (this.allowed.size >= CACHE_ENTRIES) this.allowed.delete(this.allowed.keys().next().value!);
    this.allowed.set(key, this.now() + HOOK_CACHE_MS);
  }
}

function cacheKey(r: AuthRequest): string {
  const token = r.token === undefined ? '-' : createHash('sha256').update(r.token).digest('base64url');
  return JSON.stringify([r.action, r.room ?? null, token, r.ip ?? null]);
}

async function detailOf(res: Response, request: AuthRequest): Promise<string> {
  const fallback = `The authorization service refused to let this request ${request.action === 'publish' ? 'publish to' : 'watch'} ${
    request.room === undefined ? 'the rooms' : `room "${request.room}"`
  }.`;
  try {
    const body: unknown = await res.json();
    const detail = (body as { detail?: unknown } | null)?.detail;
    if (typeof detail === 'string' && detail.trim() !== '') return detail.trim().slice(0, DETAIL_MAX);
  } catch {
    // Not JSON: the default sentence.
  }
  return fallback;
}
