// The one authorizer the HTTP layer asks. For an action (publish, play):
// - no configured mode covers it: anyone may (onecast without tokens);
// - else it is allowed when any local mode grants it (PUBLISH_TOKEN/ADMIN_TOKEN or
//   PLAY_TOKEN, a stream key, a JWT);
// - else, with AUTH_HOOK_URL, the hook decides;
// - else it is refused: 401 without a credential or with one no mode knows (or a JWT
//   that expired), 403 with one that is valid but not for this room or action.
// A library user's own `authorize` replaces all of this (the server then guards both actions).
// In a cluster (CLUSTER_SECRET), the cluster credential grants play before any of it.
import type { Config } from '../config';
import type { Logger } from '../log';
import { AuthHook } from './authHook';
import { withClusterCredential } from './clusterCredential';
import { jwtMode } from './jwt';
import type { Mode, Verdict } from './mode';
import { staticTokens } from './staticTokens';
import { StreamKeys } from './streamKeys';
import type { AuthAction, AuthDecision, Authorize, AuthRequest } from './types';

export type AuthSettings = Pick<
  Config,
  | 'publishToken'
  | 'playToken'
  | 'adminToken'
  | 'streamKeys'
  | 'jwtSecret'
  | 'jwtPublicKey'
  | 'jwtJwksUrl'
  | 'authHookUrl'
  | 'authHookTimeoutMs'
  | 'clusterSecret'
>;

export interface Authorizer {
  readonly authorize: Authorize;
  /** No mode guards this action: anyone may do it. */
  isOpen(action: AuthAction): boolean;
  /** Stops following the STREAM_KEYS file. */
  close(): void;
}

export interface AuthorizerOptions {
  log: Logger;
  /** A library user's decision, which replaces every configured mode. */
  custom?: Authorize | undefined;
}

const WHAT: Record<AuthAction, string> = { publish: 'Publishing (WHIP)', play: 'Watching (WHEP, event streams, room and recording lists, recordings)' };

/** Reads STREAM_KEYS and JWT_PUBLIC_KEY now: one that cannot be used is a ConfigError. */
export function createAuthorizer(settings: AuthSettings, options: AuthorizerOptions): Authorizer {
  const authorizer = configuredAuthorizer(settings, options);
  const secret = settings.clusterSecret;
  return secret === undefined ? authorizer : { ...authorizer, authorize: withClusterCredential(secret, authorizer.authorize) };
}

function configuredAuthorizer(settings: AuthSettings, options: AuthorizerOptions): Authorizer {
  const custom = options.custom;
  if (custom !== undefined) return { authorize: custom, isOpen: () => false, close: () => undefined };

  const streamKeys = settings.streamKeys === undefined ? undefined : new StreamKeys(settings.streamKeys, options.log);
  const jwt = jwtMode(settings);
  const modes: Mode[] = [staticTokens(settings), ...(streamKeys !== undefined ? [streamKeys] : []), ...(jwt !== undefined ? [jwt] : [])];
  const hook =
    settings.authHookUrl === undefined ? undefined : new AuthHook({ url: settings.authHookUrl, timeoutMs: settings.authHookTimeoutMs, log: options.log });
  const isOpen = (action: AuthAction) => hook === undefined && !modes.some((m) => m.covers.includes(action));
  const credentials = (action: AuthAction): string => {
    const names: string[] = [];
    if (action === 'publish' && settings.publishToken !== undefined) names.push('PUBLISH_TOKEN');
    if (action === 'play' && settings.playToken !== undefined) names.push('PLAY_TOKEN');
    if (action === 'publish' && streamKeys !== undefined) names.push("the room's stream key");
    if (jwt !== undefined) names.push('a JWT');
    return names.join(', or ');
  };
  streamKeys?.watch();

  return {
    isOpen,
    close: () => streamKeys?.close(),
    async authorize(request: AuthRequest): Promise<AuthDecision> {
      if (isOpen(request.action)) return { allowed: true };
      const verdicts = await Promise.all(modes.map((m) => m.judge(request)));
      const granted = verdicts.filter((v): v is Extract<Verdict, { kind: 'grant' }> => v.kind === 'grant');
      if (granted.length > 0) {
        if (granted.some((g) => g.rooms === undefined)) return { allowed: true };
        return { allowed: true, rooms: (room) => granted.some((g) => g.rooms!(room)) };
      }
      if (hook !== undefined) return hook.decide(request);
      const refusal = verdicts.find((v): v is Extract<Verdict, { kind: 'refuse' }> => v.kind === 'refuse');
      if (refusal !== undefined) return { allowed: false, status: refusal.status, detail: refusal.detail };
      return {
        allowed: false,
        status: 401,
        detail:
          request.token === undefined
            ? `${WHAT[request.action]} needs an "Authorization: Bearer <token>" header with ${credentials(request.action)}.`
            : `The bearer token is not one this server accepts for ${WHAT[request.action].toLowerCase().replace(/ \(.*\)$/, '')}: it takes ${credentials(request.action)}.`,
      };
    },
  };
}
