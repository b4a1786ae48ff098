// The static tokens: PUBLISH_TOKEN publishes in every room, and so does ADMIN_TOKEN (a
// ?record=1 publish carries one Bearer token); PLAY_TOKEN watches every room.
// PUBLISH_TOKEN alone makes publishing need a credential and PLAY_TOKEN alone watching:
// ADMIN_TOKEN publishes wherever publishing is guarded, but does not guard it by itself.
import type { Config } from '../config';
import { digest, matchingDigests } from './constantTime';
import { UNKNOWN, type Mode, type Verdict } from './mode';
import type { AuthAction, AuthRequest } from './types';

export function staticTokens(config: Pick<Config, 'publishToken' | 'playToken' | 'adminToken'>): Mode {
  const keys: Record<AuthAction, Buffer[]> = {
    publish: [config.publishToken, config.adminToken].filter((t) => t !== undefined).map(digest),
    play: config.playToken === undefined ? [] : [digest(config.playToken)],
  };
  const covers: AuthAction[] = [];
  if (config.publishToken !== undefined) covers.push('publish');
  if (config.playToken !== undefined) covers.push('play');
  return {
    covers,
    judge(request: AuthRequest): Verdict {
      if (request.token === undefined) return UNKNOWN;
      return matchingDigests(digest(request.token), keys[request.action]).length > 0 ? { kind: 'grant' } : UNKNOWN;
    },
  };
}
