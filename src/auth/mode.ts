// What one configured way of authorizing (static tokens, stream keys, JWTs) says about a
// request, before the authorizer combines them: it grants, it does not know the
// credential, or it knows it and refuses (a JWT that expired, a stream key for another
// room, a valid token that does not name this room).
import type { RoomMatcher } from './roomPattern';
import type { AuthAction, AuthRequest } from './types';

export type Verdict =
  | {
      kind: 'grant';
      /** For reads across rooms: the rooms this credential may see; undefined: every room. */
      rooms?: RoomMatcher;
    }
  | { kind: 'unknown' }
  | { kind: 'refuse'; status: 401 | 403 | 503; detail: string };

export interface Mode {
  /** The actions this mode guards once configured: an action no mode covers is open. */
  readonly covers: readonly AuthAction[];
  judge(request: AuthRequest): Verdict | Promise<Verdict>;
}

export const UNKNOWN: Verdict = { kind: 'unknown' };
