// What every way of deciding "may this token do this in this room?" shares: the static
// tokens, per-room stream keys, JWTs, an HTTP hook, and a library user's own callback all
// answer the same question with the same kind of answer, so the HTTP layer asks once.

/** publish: WHIP (POST, PATCH, DELETE). play: WHEP and every viewer read (events, rooms, recordings, HLS, thumbnails). */
export type AuthAction = 'publish' | 'play';

export interface AuthRequest {
  action: AuthAction;
  /** The room asked about; undefined for reads across rooms (the room list, the recordings list). */
  room: string | undefined;
  /** The Bearer token sent, or undefined when none was. */
  token: string | undefined;
  /** The client's address as the HTTP connection shows it. */
  ip: string | undefined;
  userAgent: string | undefined;
}

export type AuthDecision =
  | {
      allowed: true;
      /** For reads across rooms: which rooms the answer may show (a JWT for one room lists one room); undefined: every room. */
      rooms?: (room: string) => boolean;
    }
  | {
      allowed: false;
      /** 401 (no or a wrong credential), 403 (a valid one that does not grant this), 503 (the deciding service is unreachable), or a hook's own 4xx. */
      status: number;
      /** One sentence a person can act on; it becomes the problem's detail. */
      detail: string;
    };

export type Authorize = (request: AuthRequest) => Promise<AuthDecision>;
