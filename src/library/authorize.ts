// The library's `authorize` callback, made into the Authorize every way of authorizing
// answers: its plain yes or no becomes a decision with a status and a sentence, and a
// callback that throws refuses (and is logged) rather than letting anyone in.
import type { AuthAction, AuthDecision, AuthRequest, Authorize } from '../auth/types';
import { errorText, type Logger } from '../log';

/** true: allowed; false: refused with 401 (no token sent) or 403; or a decision of your own. */
export type AuthorizeAnswer = boolean | AuthDecision | { allowed: false; status?: number; detail?: string };

/**
 * Asked before every WHIP request (`publish`) and every WHEP request and viewer read (`play`).
 * `room` is undefined for reads across rooms (the room and recordings lists); `token` is the
 * Bearer token sent, if any; `request` carries the same with the client's address and User-Agent.
 */
export type AuthorizeCallback = (
  action: AuthAction,
  room: string | undefined,
  token: string | undefined,
  request: AuthRequest,
) => AuthorizeAnswer | Promise<AuthorizeAnswer>;

export function fromCallback(callback: AuthorizeCallback, log: Logger): Authorize {
  return async (request) => {
    let answer: AuthorizeAnswer;
    try {
      answer = await callback(request.action, request.room, request.token, request);
    } catch (error) {
      log.error('the authorize callback failed', { action: request.action, room: request.room, error: errorText(error) });
      return { allowed: false, status: 500, detail: 'The server could not decide whether this request is allowed; it has been logged.' };
    }
    if (answer === true) return { allowed: true };
    if (answer === false) return refusal(request);
    if (answer.allowed) return answer;
    const fallback = refusal(request);
    return { allowed: false, status: answer.status ?? fallback.status, detail: answer.detail ?? fallback.detail };
  };
}

function refusal(request: AuthRequest): { allowed: false; status: number; detail: string } {
  const what = request.action === 'publish' ? 'publish' : 'watch';
  const where = request.room === undefined ? '' : ` in room ${request.room}`;
  return request.token === undefined
    ? { allowed: false, status: 401, detail: `Send a Bearer token that may ${what}${where}.` }
    : { allowed: false, status: 403, detail: `This token may not ${what}${where}.` };
}
