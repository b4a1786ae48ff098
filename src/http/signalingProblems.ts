// How each refusal of a WHIP or WHEP request looks in HTTP (RFC 9457 problem details):
// one row per reason, with its status, its title, the sentence that says what to
// change, and when to retry where waiting helps.
import type { SignalingFailure } from '../signaling/errors';
import type { Problem } from './problem';

type Reason = SignalingFailure['reason'];
type Row<R extends Reason> = (failure: Extract<SignalingFailure, { reason: R }>) => Problem;

const retryAfter = (seconds: number): Record<string, string> => ({ 'Retry-After': String(seconds) });

const PROBLEMS: { [R in Reason]: Row<R> } = {
  'invalid-room-name': () => ({ status: 400, title: 'Invalid room name', detail: 'Room names are 1 to 64 characters of A-Z, a-z, 0-9, "_" and "-".' }),
  'offer-malformed': ({ detail }) => ({ status: 400, title: 'Malformed SDP offer', detail }),
  'offer-unacceptable': ({ detail }) => ({ status: 422, title: 'Unacceptable SDP offer', detail }),
  'room-busy': ({ room, idleSeconds }) => ({
    status: 409,
    title: 'Room already has a publisher',
    detail: `Room "${room}" already has a live publisher (media within the last ${idleSeconds} s); stop it (DELETE its session) or publish to another room.`,
  }),
  'nothing-published': ({ room, retryAfterSeconds }) => ({
    status: 409,
    title: 'Nothing published',
    detail: `Room "${room}" has no publisher right now; try again when it goes live.`,
    headers: retryAfter(retryAfterSeconds),
  }),
  'no-such-session': ({ kind, room, sessionId }) => ({
    status: 404,
    title: 'No such session',
    detail: `There is no ${kind === 'publish' ? 'WHIP' : 'WHEP'} session ${sessionId} in room "${room}"; it may have ended already.`,
  }),
  'etag-required': () => ({
    status: 428,
    title: 'Precondition Required',
    detail: 'PATCH needs an If-Match header: the ETag from the POST (or from the last ICE restart), or "*" for an ICE restart.',
  }),
  'stale-etag': () => ({
    status: 412,
    title: 'Precondition Failed',
    detail: 'If-Match does not name the session\'s current ETag; it changed (an ICE restart happened). Fetch it again or restart ICE with If-Match: "*".',
  }),
  'incomplete-ice-restart': () => ({ status: 400, title: 'Incomplete ICE restart', detail: 'An ICE restart needs both a=ice-ufrag and a=ice-pwd.' }),
  'shutting-down': ({ retryAfterSeconds }) => ({
    status: 503,
    title: 'Shutting down',
    detail: 'The server is shutting down and takes no new sessions; try again once it is back.',
    headers: retryAfter(retryAfterSeconds),
  }),
  'over-limit': ({ refusal }) => ({ status: refusal.status, title: refusal.title, detail: refusal.detail, headers: retryAfter(refusal.retryAfterSeconds) }),
};

export function signalingProblem(failure: SignalingFailure): Problem {
  return (PROBLEMS[failure.reason] as Row<Reason>)(failure);
}
