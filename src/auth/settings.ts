// The settings of the authorization modes (STREAM_KEYS, JWT_*, AUTH_HOOK_*), declared
// beside the modes that read them; config.ts puts them in its one list of settings, so
// they have their flags, their README rows and their start-up checks like every other.
import path from 'node:path';
import { ConfigError, optionalHttpUrl } from '../configError';

export interface AuthConfig {
  /** The per-room stream keys file (streamKeysFile.ts), read at start and on every change. */
  streamKeys: string | undefined;
  /** JWTs (jwt.ts): an HS256 secret, a PEM public key (its text, or a file), a JWKS URL. */
  jwtSecret: string | undefined;
  jwtPublicKey: string | undefined;
  jwtJwksUrl: string | undefined;
  /** What no local mode grants, this service decides (authHook.ts). */
  authHookUrl: string | undefined;
  authHookTimeoutMs: number;
}

interface AuthSetting<K extends keyof AuthConfig> {
  env: string;
  key: K;
  default: string;
  describe: string;
  parse(raw: string): AuthConfig[K];
}

/** HS256 keys shorter than its hash (32 bytes) are guessable offline from one token (RFC 7518 §3.2). */
const MIN_SECRET_BYTES = 32;

export const AUTH_SETTINGS = [
  {
    env: 'STREAM_KEYS',
    key: 'streamKeys',
    default: '',
    describe:
      'a file of per-room stream keys, JSON {"room or pattern": "key" or ["key", …]} or room:key lines; a key publishes only to its rooms (* in a room: any run of name characters); reloaded when it changes',
    parse: (raw: string) => (raw === '' ? undefined : path.resolve(raw)),
  } satisfies AuthSetting<'streamKeys'>,
  {
    env: 'JWT_SECRET',
    key: 'jwtSecret',
    default: '',
    describe: 'HS256 secret (32 bytes or more) of JWTs whose onecast claim lists the rooms to publish to and play',
    parse: (raw: string) => {
      const bytes = Buffer.byteLength(raw);
      if (raw !== '' && bytes < MIN_SECRET_BYTES) throw new ConfigError(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes long (HS256), got ${bytes}`);
      return raw === '' ? undefined : raw;
    },
  } satisfies AuthSetting<'jwtSecret'>,
  {
    env: 'JWT_PUBLIC_KEY',
    key: 'jwtPublicKey',
    default: '',
    describe: 'PEM public key (the text, or its file) of JWTs signed with RS256, ES256, ES384 or EdDSA',
    parse: (raw: string) => (raw === '' ? undefined : raw.includes('-----BEGIN') ? raw : path.resolve(raw)),
  } satisfies AuthSetting<'jwtPublicKey'>,
  {
    env: 'JWT_JWKS_URL',
    key: 'jwtJwksUrl',
    default: '',
    describe: "URL of the JSON Web Key Set of the JWTs' issuer (RS256, ES256, ES384 or EdDSA keys, fetched when a token names one not yet known)",
    parse: optionalHttpUrl('JWT_JWKS_URL', 'JWT_JWKS_URL must not carry a user or password (user:password@); serve the key set where it needs none'),
  } satisfies AuthSetting<'jwtJwksUrl'>,
  {
    env: 'AUTH_HOOK_URL',
    key: 'authHookUrl',
    default: '',
    describe:
      'URL onecast POSTs {action, room, token, ip, userAgent} to when no token, stream key or JWT grants a request: 2xx allows, 4xx refuses, no answer or 5xx: 503',
    parse: optionalHttpUrl(
      'AUTH_HOOK_URL',
      'AUTH_HOOK_URL must not carry a user or password (user:password@); put a shared secret in its path or query instead',
    ),
  } satisfies AuthSetting<'authHookUrl'>,
  {
    env: 'AUTH_HOOK_TIMEOUT',
    key: 'authHookTimeoutMs',
    default: '3s',
    describe: 'how long AUTH_HOOK_URL may take to answer before the request gets 503, e.g. 3s, 500ms',
    parse: (raw: string) => {
      const m = /^(\d{1,5})(ms|s)$/.exec(raw);
      const ms = m === null ? 0 : Number(m[1]) * (m[2] === 's' ? 1000 : 1);
      if (ms < 1 || ms > 60_000) throw new ConfigError(`AUTH_HOOK_TIMEOUT must be from 1ms to 60s with a unit ms or s (e.g. 3s), got "${raw}"`);
      return ms;
    },
  } satisfies AuthSetting<'authHookTimeoutMs'>,
] as const;
