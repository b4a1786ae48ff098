// Why a WHIP or WHEP request is refused, in the terms of the domain: what the client
// asked for and what stands in the way. No status codes: http/signalingProblems.ts
// turns each into the problem response a client sees.
import type { Refusal } from '../sfu/admission';

/** A WHIP (publish) or WHEP (play) session resource. */
export type SessionKind = 'publish' | 'play';

export type SignalingFailure =
  | { reason: 'invalid-room-name' }
  /** The room's publisher sent media within the last `idleSeconds`: it may not be replaced. */
  | { reason: 'room-busy'; room: string; idleSeconds: number }
  /** A viewer came to a room with no publisher; the room may go live soon. */
  | { reason: 'nothing-published'; room: string; retryAfterSeconds: number }
  | { reason: 'no-such-session'; kind: SessionKind; room: string; sessionId: string }
  /** A PATCH without If-Match. */
  | { reason: 'etag-required' }
  /** A PATCH whose If-Match names an ETag the session no longer has. */
  | { reason: 'stale-etag' }
  /** A PATCH with a new ICE ufrag but no password. */
  | { reason: 'incomplete-ice-restart' }
  | { reason: 'shutting-down'; retryAfterSeconds: number }
  /** Another node of the cluster has the room's publisher (its origin lease is live). */
  | { reason: 'published-elsewhere'; room: string; nodeId: string }
  /** The cluster's directory (Redis) cannot be reached, and this request needs it. */
  | { reason: 'directory-unavailable'; retryAfterSeconds: number }
  /** A session limit is reached (admission says which, and when to retry). */
  | { reason: 'over-limit'; refusal: Refusal }
  /** The offer (or PATCH fragment) is not well-formed SDP; `detail` says what is wrong. */
  | { reason: 'offer-malformed'; detail: string }
  /** The offer is well-formed but onecast cannot accept it; `detail` says why. */
  | { reason: 'offer-unacceptable'; detail: string }
  /** Every node that may relay the room to this one has its MAX_RELAYS, and the tree is as deep as it may be. */
  | { reason: 'relay-tree-full'; room: string; depth: number; retryAfterSeconds: number }
  /** The room is published on node `nodeId`, but the relay could not pull it from there. */
  | { reason: 'upstream-unavailable'; room: string; nodeId: string; retryAfterSeconds: number };

export class SignalingError extends Error {
  override readonly name = 'SignalingError';

  constructor(readonly failure: SignalingFailure) {
    super(failure.reason);
  }
}
