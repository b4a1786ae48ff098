// How each refusal of a WHIP or WHEP request looks in HTTP (RFC 9457 problem details):
// one row per reason, with its status, its title, the sentence that says what to
// change, and when to retry where waiting helps.
import type { Refusal, SessionLimit } from '../sfu/admission';
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
  'published-elsewhere': ({ room, nodeId }) => ({
    status: 409,
    title: 'Room is published on another node',
    detail: `Room "${room}" already has a live publisher on node ${nodeId} of this cluster; stop it (DELETE its session there) or publish to another room.`,
  }),
  'directory-unavailable': ({ retryAfterSeconds }) => ({
    status: 503,
    title: 'Cluster directory unavailable',
    detail: "This node cannot reach the cluster's directory (Redis) to learn where the room is published; rooms published here play on. Try again shortly.",
    headers: retryAfter(retryAfterSeconds),
  }),
  'over-limit': ({ refusal }) => limitProblem(refusal),
  'relay-tree-full': ({ room, depth, retryAfterSeconds }) => ({
    status: 503,
    title: 'Relay tree full',
    detail: `Room "${room}" is published on another node, and every node that could relay it here already has its MAX_RELAYS relays, ${depth} levels deep at most; try again shortly or another node.`,
    headers: retryAfter(retryAfterSeconds),
  }),
  'upstream-unavailable': ({ room, nodeId, retryAfterSeconds }) => ({
    status: 503,
    title: 'Upstream unavailable',
    detail: `Room "${room}" is published on node ${nodeId}, which did not let this node relay it; try again shortly.`,
    headers: retryAfter(retryAfterSeconds),
  }),
};

/**
 * Each session limit: 503 when the server is full, 429 when it is this client's own
 * connecting sessions (RFC 6585: the client sent too many), with the setting named.
 */
const LIMITS: { [L in SessionLimit]: (r: Refusal) => Omit<Problem, 'headers'> } = {
  MAX_PUBLISHERS: ({ max }) => ({
    status: 503,
    title: 'Publishers full',
    detail: `The server already has ${max} publishers, its MAX_PUBLISHERS limit; try again when one has ended.`,
  }),
  MAX_ROOM_VIEWERS: ({ max, room }) => ({
    status: 503,
    title: 'Room full',
    detail: `Room "${room}" already has ${max} viewers, the MAX_ROOM_VIEWERS limit; try again when one has left.`,
  }),
  MAX_RELAYS: ({ max, room }) => ({
    status: 503,
    title: 'Relays full',
    detail: `Room "${room}" is already pulled by ${max} other nodes, this node's MAX_RELAYS limit; pull it from one of them.`,
  }),
  MAX_VIEWERS: ({ max }) => ({
    status: 503,
    title: 'Viewers full',
    detail: `The server already has ${max} viewers, its MAX_VIEWERS limit; try again when one has left.`,
  }),
  MAX_SESSIONS: ({ max }) => ({
    status: 503,
    title: 'Server full',
    detail: `The server already has ${max} sessions, its MAX_SESSIONS limit; try again when some have ended.`,
  }),
  MAX_PENDING_PER_ADDRESS: ({ max, retryAfterSeconds }) => ({
    status: 429,
    title: 'Too many connecting sessions',
    detail: `Your address already has ${max} sessions that have not connected (ICE and DTLS), the MAX_PENDING_PER_ADDRESS limit; connect or DELETE those, or try again in ${retryAfterSeconds} s.`,
  }),
  MAX_PENDING: ({ max, retryAfterSeconds }) => ({
    status: 503,
    title: 'Too many connecting sessions',
    detail: `The server already has ${max} sessions that have not connected yet, its MAX_PENDING limit; try again in ${retryAfterSeconds} s.`,
  }),
};

/** How a session limit's refusal looks in HTTP. */
export function limitProblem(refusal: Refusal): Problem {
  return { ...LIMITS[refusal.limit](refusal), headers: retryAfter(refusal.retryAfterSeconds) };
}

export function signalingProblem(failure: SignalingFailure): Problem {
  return (PROBLEMS[failure.reason] as Row<Reason>)(failure);
}
