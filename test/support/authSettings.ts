// The authorization settings with no mode set: tests spread the one mode they try over it.
import type { AuthSettings } from '../../src/auth/authorizer';

export const NO_AUTH: AuthSettings = {
  publishToken: undefined,
  playToken: undefined,
  adminToken: undefined,
  streamKeys: undefined,
  jwtSecret: undefined,
  jwtPublicKey: undefined,
  jwtJwksUrl: undefined,
  authHookUrl: undefined,
  authHookTimeoutMs: 3000,
  clusterSecret: undefined,
};
