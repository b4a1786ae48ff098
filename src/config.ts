// The one place where onecast's settings are declared. Every setting has an
// environment variable and a CLI flag of the same name (HTTP_PORT = --http-port);
// the README's settings table is written from SETTINGS below.
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { AUTH_SETTINGS, type AuthConfig } from './auth/settings';
import { CLUSTER_SETTINGS, completeClusterSettings, type ClusterConfig } from './cluster/settings';
import { ConfigError, limit, optionalHttpUrl } from './configError';
import { LOG_LEVELS, type LogLevel } from './log';
import { parseIceServer, type IceServer } from './iceServers';

export interface Config extends AuthConfig, ClusterConfig {
  httpPort: number;
  /** Most open HTTP connections (event streams included); 0: no limit. */
  httpMaxConnections: number;
  udpPort: number;
  bind: string;
  publicIps: string[];
  record: boolean;
  recordingsDir: string;
  publishToken: string | undefined;
  playToken: string | undefined;
  /** Starting recordings on demand and deleting them; undefined: PUBLISH_TOKEN does that. */
  adminToken: string | undefined;
  /** GET /metrics; undefined: only this machine (loopback) may scrape. */
  metricsToken: string | undefined;
  ffmpegPath: string;
  logLevel: LogLevel;
  /** Which fan-out path sends to viewers: the native addon, JavaScript, or native when it is built. */
  fanout: FanoutSetting;
  /** PEM certificate (chain) file: with tlsKey, HTTP becomes HTTPS. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** STUN/TURN servers offered to clients in Link headers (RFC 9725 §4.6). */
  iceServers: IceServer[];
  /** Viewers are refused once WHIP + WHEP sessions reach this; 0: no limit. */
  maxSessions: number;
  /** Most recordings being written at once; 0: no limit. */
  maxRecordings: number;
  /** Most ffmpeg MP4 remuxes (downloads) at once. */
  maxMp4Remuxes: number;
  /** Finished recordings older than this are deleted; 0: kept whatever their age. */
  recordingsMaxAgeMs: number;
  /** Past this many bytes of recordings, the oldest finished ones are deleted; 0: no limit. */
  recordingsMaxBytes: number;
  /** Most WHIP sessions at once; 0: no limit. */
  maxPublishers: number;
  /** Most WHEP sessions at once, all rooms; 0: no limit. */
  maxViewers: number;
  /** Most WHEP sessions at once in one room; 0: no limit. */
  maxRoomViewers: number;
  /** Most sessions not yet connected (ICE + DTLS), tokened publishers not counted; 0: no limit. */
  maxPending: number;
  /** The same, from one client address (IPv6: one /64); 0: no limit. */
  maxPendingPerAddress: number;
  /** Where the server's events are POSTed (README, Webhooks); undefined: nowhere. */
  webhookUrl: string | undefined;
  /** Signs every webhook (HMAC-SHA256); undefined: unsigned. */
  webhookSecret: string | undefined;
}

export const FANOUT_SETTINGS = ['auto', 'native', 'js'] as const;
export type FanoutSetting = (typeof FANOUT_SETTINGS)[number];

interface Setting<K extends keyof Config> {
  env: string;
  key: K;
  default: string;
  describe: string;
  parse(raw: string): Config[K];
}

export { ConfigError };

function port(name: string) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
      throw new ConfigError(`${name} must be a port number from 1 to 65535, got "${raw}"`);
    }
    return n;
  };
}

function optionalToken(name: string) {
  return (raw: string): string | undefined => {
    if (raw === '') return undefined;
    // RFC 6750 b64token characters: what fits in "Authorization: Bearer <token>".
    if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(raw)) {
      throw new ConfigError(`${name} may only contain A-Z a-z 0-9 - . _ ~ + / (and trailing =), as a Bearer token must`);
    }
    return raw;
  };
}

/** A whole number from `min` up. */
function count(name: string, min: number) {
  return (raw: string): number => {
    if (!/^\d{1,7}$/.test(raw) || Number(raw) < min) throw new ConfigError(`${name} must be a whole number from ${min}, got "${raw}"`);
    return Number(raw);
  };
}

const DURATION_UNITS_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** 0, or a number with a unit: 90s, 30m, 12h, 30d. */
function duration(name: string) {
  return (raw: string): number => {
    if (raw === '0') return 0;
    const m = /^(\d{1,9})([smhd])$/.exec(raw);
    if (m === null) throw new ConfigError(`${name} must be 0 or a whole number with a unit s, m, h or d (e.g. 30d), got "${raw}"`);
    return Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
  };
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Bytes, or a number with K, M, G or T (powers of 1024): 500M, 20G. */
function size(name: string) {
  return (raw: string): number => {
    const m = /^(\d{1,15})([KMGT]?)$/.exec(raw);
    if (m === null) throw new ConfigError(`${name} must be a whole number of bytes, optionally with K, M, G or T (e.g. 20G), got "${raw}"`);
    return Number(m[1]) * SIZE_UNITS[m[2]!]!;
  };
}

function optionalPath(raw: string): string | undefined {
  return raw === '' ? undefined : path.resolve(raw);
}

/** The host's non-internal addresses; 127.0.0.1 when it has none. */
export function defaultPublicIps(): string[] {
  const found: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      // Link-local IPv6 needs a zone id no remote peer can use.
      if (!a.internal && !(a.family === 'IPv6' && a.address.startsWith('fe80'))) found.push(a.address);
    }
  }
  return found.length > 0 ? found : ['127.0.0.1'];
}

const settings = [
  {
    env: 'HTTP_PORT',
    key: 'httpPort',
    default: '8080',
    describe: 'HTTP API and web pages',
    parse: port('HTTP_PORT'),
  } satisfies Setting<'httpPort'>,
  {
    env: 'HTTP_MAX_CONNECTIONS',
    key: 'httpMaxConnections',
    default: '5000',
    describe:
      'most open HTTP connections; past it new ones are closed at once. Each watching page holds one long-lived event stream and one connection for requests: keep it above twice the viewers you expect, and below the open-file limit (ulimit -n); 0: no limit',
    parse: (raw: string) => {
      if (!/^\d{1,7}$/.test(raw)) throw new ConfigError(`HTTP_MAX_CONNECTIONS must be a whole number (0 for no limit), got "${raw}"`);
      return Number(raw);
    },
  } satisfies Setting<'httpMaxConnections'>,
  {
    env: 'UDP_PORT',
    key: 'udpPort',
    default: '8189',
    describe: "the ONE UDP port that carries every publisher's and every viewer's media",
    parse: port('UDP_PORT'),
  } satisfies Setting<'udpPort'>,
  {
    env: 'BIND',
    key: 'bind',
    default: '0.0.0.0',
    describe:
      'address both listeners bind. With 0.0.0.0 (IPv4) or :: (IPv6 and IPv4), UDP_PORT gets one socket per local address (link-local IPv6 excepted) plus the wildcard for addresses added later, so replies leave from the address a client asked; a specific address gets one socket',
    parse: (raw: string) => {
      if (isIP(raw) === 0) throw new ConfigError(`BIND must be an IPv4 or IPv6 address, got "${raw}"`);
      return raw;
    },
  } satisfies Setting<'bind'>,
  {
    env: 'PUBLIC_IPS',
    key: 'publicIps',
    default: '',
    describe:
      "comma list of addresses put in the SDP answer as host candidates on UDP_PORT; empty: the host's non-internal addresses, or 127.0.0.1 when it has none",
    parse: (raw: string) => {
      if (raw.trim() === '') return defaultPublicIps();
      const ips = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      for (const ip of ips) {
        if (isIP(ip) === 0) throw new ConfigError(`PUBLIC_IPS must be a comma list of IP addresses; "${ip}" is not one`);
      }
      return ips;
    },
  } satisfies Setting<'publicIps'>,
  {
    env: 'RECORD',
    key: 'record',
    default: 'off',
    describe: 'on: every published room is also recorded to HLS',
    parse: (raw: string) => {
      if (raw !== 'on' && raw !== 'off') throw new ConfigError(`RECORD must be "on" or "off", got "${raw}"`);
      return raw === 'on';
    },
  } satisfies Setting<'record'>,
  {
    env: 'RECORDINGS_DIR',
    key: 'recordingsDir',
    default: './recordings',
    describe: 'where recordings are written',
    parse: (raw: string) => {
      if (raw === '') throw new ConfigError('RECORDINGS_DIR must not be empty');
      return path.resolve(raw);
    },
  } satisfies Setting<'recordingsDir'>,
  {
    env: 'PUBLISH_TOKEN',
    key: 'publishToken',
    default: '',
    describe: 'when set, WHIP requests need Authorization: Bearer <token>; it also starts (?record=1) and deletes recordings unless ADMIN_TOKEN is set',
    parse: optionalToken('PUBLISH_TOKEN'),
  } satisfies Setting<'publishToken'>,
  {
    env: 'PLAY_TOKEN',
    key: 'playToken',
    default: '',
    describe:
      'when set, everything a viewer reads needs Authorization: Bearer <token> (or a signed URL from /api/signed-url): WHEP, its event streams, /api/rooms, /api/recordings, recorded HLS and MP4',
    parse: optionalToken('PLAY_TOKEN'),
  } satisfies Setting<'playToken'>,
  {
    env: 'ADMIN_TOKEN',
    key: 'adminToken',
    default: '',
    describe:
      'when set, starting recordings with ?record=1 and deleting recordings need Authorization: Bearer <token> (it may also publish); unset: PUBLISH_TOKEN does this, and with neither set both are refused',
    parse: optionalToken('ADMIN_TOKEN'),
  } satisfies Setting<'adminToken'>,
  {
    env: 'METRICS_TOKEN',
    key: 'metricsToken',
    default: '',
    describe:
      'when set, GET /metrics needs Authorization: Bearer <token>; unset: /metrics answers only requests from this machine (loopback, not forwarded by a proxy)',
    parse: optionalToken('METRICS_TOKEN'),
  } satisfies Setting<'metricsToken'>,
  // STREAM_KEYS, JWT_*, AUTH_HOOK_*: declared beside the authorizer that reads them.
  ...AUTH_SETTINGS,
  {
    env: 'FFMPEG_PATH',
    key: 'ffmpegPath',
    default: 'ffmpeg',
    describe: 'the ffmpeg binary used for recording and room thumbnails (looked up on PATH)',
    parse: (raw: string) => {
      if (raw === '') throw new ConfigError('FFMPEG_PATH must not be empty');
      return raw;
    },
  } satisfies Setting<'ffmpegPath'>,
  {
    env: 'LOG_LEVEL',
    key: 'logLevel',
    default: 'info',
    describe: 'lowest level of log lines written (JSON, one per line, on stderr): debug, info, warn, error or silent',
    parse: (raw: string) => {
      const level = LOG_LEVELS.find((l) => l === raw);
      if (level === undefined) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${raw}"`);
      return level;
    },
  } satisfies Setting<'logLevel'>,
  {
    env: 'FANOUT',
    key: 'fanout',
    default: 'auto',
    describe:
      'how packets reach viewers: native (the C addon built at npm install: rewrite, SRTP and batched sends in one call per packet), js (the JavaScript path), or auto (native when it is built, else js); start-up logs which one runs',
    parse: (raw: string) => {
      const choice = FANOUT_SETTINGS.find((c) => c === raw);
      if (choice === undefined) throw new ConfigError(`FANOUT must be one of ${FANOUT_SETTINGS.join(', ')}; got "${raw}"`);
      return choice;
    },
  } satisfies Setting<'fanout'>,
  {
    env: 'TLS_CERT',
    key: 'tlsCert',
    default: '',
    describe: 'PEM certificate file (full chain); with TLS_KEY, the HTTP port serves HTTPS',
    parse: optionalPath,
  } satisfies Setting<'tlsCert'>,
  {
    env: 'TLS_KEY',
    key: 'tlsKey',
    default: '',
    describe: "PEM private key file of TLS_CERT's certificate",
    parse: optionalPath,
  } satisfies Setting<'tlsKey'>,
  {
    env: 'ICE_SERVERS',
    key: 'iceServers',
    default: '',
    describe:
      'comma list of STUN/TURN servers offered to WHIP/WHEP clients in Link headers (RFC 9725): stun:HOST[:PORT] or turn:USER:PASSWORD@HOST[:PORT][?transport=tcp] (also stuns:, turns:); percent-encode , : @ in USER and PASSWORD',
    parse: (raw: string) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map((entry) => {
          try {
            return parseIceServer(entry);
          } catch (error) {
            throw new ConfigError(`ICE_SERVERS: ${(error as Error).message}`);
          }
        }),
  } satisfies Setting<'iceServers'>,
  {
    env: 'MAX_PUBLISHERS',
    key: 'maxPublishers',
    default: '100',
    describe: 'most WHIP (publisher) sessions at once; viewers never take these places; past it a WHIP POST gets 503 with Retry-After; 0: no limit',
    parse: limit('MAX_PUBLISHERS'),
  } satisfies Setting<'maxPublishers'>,
  {
    env: 'MAX_VIEWERS',
    key: 'maxViewers',
    default: '2000',
    describe: 'most WHEP (viewer) sessions at once, all rooms together; past it a WHEP POST gets 503 with Retry-After; 0: no limit',
    parse: limit('MAX_VIEWERS'),
  } satisfies Setting<'maxViewers'>,
  {
    env: 'MAX_ROOM_VIEWERS',
    key: 'maxRoomViewers',
    default: '0',
    describe: 'most WHEP sessions at once in one room; past it a WHEP POST to that room gets 503 with Retry-After; 0: only MAX_VIEWERS applies',
    parse: limit('MAX_ROOM_VIEWERS'),
  } satisfies Setting<'maxRoomViewers'>,
  {
    env: 'MAX_SESSIONS',
    key: 'maxSessions',
    default: '0',
    describe:
      'from before MAX_VIEWERS: once WHIP + WHEP sessions reach it, WHEP POSTs get 503 with Retry-After; publishers are held only to MAX_PUBLISHERS; 0: no limit',
    parse: limit('MAX_SESSIONS'),
  } satisfies Setting<'maxSessions'>,
  {
    env: 'MAX_PENDING',
    key: 'maxPending',
    default: '256',
    describe:
      'most sessions at once that have not connected yet (ICE and DTLS), WHIP sessions not counted while publishing is guarded (PUBLISH_TOKEN, STREAM_KEYS, JWT_*, AUTH_HOOK_URL); past it a POST gets 503 with Retry-After; 0: no limit',
    parse: limit('MAX_PENDING'),
  } satisfies Setting<'maxPending'>,
  {
    env: 'MAX_PENDING_PER_ADDRESS',
    key: 'maxPendingPerAddress',
    default: '32',
    describe:
      "the same, from one client address (an IPv6 client's /64) as the HTTP connection comes from: behind a reverse proxy that is the proxy's, so set 0 there; past it a POST gets 429 with Retry-After; 0: no limit",
    parse: limit('MAX_PENDING_PER_ADDRESS'),
  } satisfies Setting<'maxPendingPerAddress'>,
  {
    env: 'MAX_RECORDINGS',
    key: 'maxRecordings',
    default: '10',
    describe: 'most recordings written at once (each is an ffmpeg process); a publish past it streams live unrecorded, with a warning in the log; 0: no limit',
    parse: limit('MAX_RECORDINGS'),
  } satisfies Setting<'maxRecordings'>,
  {
    env: 'MAX_MP4_REMUXES',
    key: 'maxMp4Remuxes',
    default: '2',
    describe:
      'most MP4 downloads remuxed by ffmpeg at once, server-wide (a recording is remuxed once, then served from its cached MP4); past it a download gets 503 with Retry-After',
    parse: count('MAX_MP4_REMUXES', 1),
  } satisfies Setting<'maxMp4Remuxes'>,
  {
    env: 'RECORDINGS_MAX_AGE',
    key: 'recordingsMaxAgeMs',
    default: '0',
    describe: 'finished recordings older than this (since they ended) are deleted, e.g. 30d, 12h; 0: kept whatever their age',
    parse: duration('RECORDINGS_MAX_AGE'),
  } satisfies Setting<'recordingsMaxAgeMs'>,
  {
    env: 'RECORDINGS_MAX_BYTES',
    key: 'recordingsMaxBytes',
    default: '0',
    describe:
      'when all recordings (MP4s included) take more than this, the oldest finished ones are deleted until they fit, e.g. 20G, 500M; recordings in progress are never deleted; 0: no limit',
    parse: size('RECORDINGS_MAX_BYTES'),
  } satisfies Setting<'recordingsMaxBytes'>,
  {
    env: 'WEBHOOK_URL',
    key: 'webhookUrl',
    default: '',
    describe:
      'http:// or https:// URL the server POSTs its events to as JSON (publish.started, publish.ended, viewer.joined, viewer.left, recording.finished), in order per room, retried with back-off (see Webhooks); unset: no webhooks',
    parse: optionalHttpUrl('WEBHOOK_URL', 'WEBHOOK_URL must not hold a user name or password; sign the requests with WEBHOOK_SECRET'),
  } satisfies Setting<'webhookUrl'>,
  {
    env: 'WEBHOOK_SECRET',
    key: 'webhookSecret',
    default: '',
    describe:
      'when set (16 characters or more), every webhook carries Onecast-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<unix time>.<body>" with this secret> (see Webhooks)',
    parse: (raw: string) => {
      if (raw === '') return undefined;
      if (raw.length < 16) throw new ConfigError('WEBHOOK_SECRET must be 16 characters or more: a short secret can be guessed from one signed request');
      return raw;
    },
  } satisfies Setting<'webhookSecret'>,
  // REDIS_URL, NODE_URL, NODE_ID, CLUSTER_SECRET: declared beside the cluster's directory.
  ...CLUSTER_SETTINGS,
] as const;

/** For the README and --help: every setting with its default and meaning. */
export const SETTINGS: ReadonlyArray<{ env: string; flag: string; default: string; describe: string }> = settings.map((s) => ({
  env: s.env,
  flag: flagOf(s.env),
  default: s.default,
  describe: s.describe,
}));

function flagOf(env: string): string {
  return `--${env.toLowerCase().replace(/_/g, '-')}`;
}

/**
 * Reads the settings: a CLI flag wins over its environment variable, which wins
 * over the default. Flags take `--name value` or `--name=value`.
 * Throws ConfigError with one line naming the setting on any wrong value.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  const fromFlags = new Map<string, string>();
  const byFlag = new Map(settings.map((s) => [flagOf(s.env), s.env]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const envName = byFlag.get(flag);
    if (envName === undefined) {
      throw new ConfigError(`unknown option "${flag}"; run with --help for the list of settings`);
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    fromFlags.set(envName, value);
  }

  return configFrom((name) => fromFlags.get(name) ?? env[name]);
}

/** Every setting parsed from its text as `raw` gives it (undefined: its default): the command line's and the library's one check. */
export function configFrom(raw: (env: string, key: keyof Config) => string | undefined): Config {
  const out: Record<string, unknown> = {};
  for (const s of settings) out[s.key] = s.parse(raw(s.env, s.key) ?? s.default);
  const config = out as unknown as Config;
  // HTTPS needs both; one alone is a mistake, never a reason to fall back to plain HTTP silently.
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError(`TLS_CERT and TLS_KEY must be set together for HTTPS; only ${config.tlsCert !== undefined ? 'TLS_CERT' : 'TLS_KEY'} is set`);
  }
  if (config.webhookSecret !== undefined && config.webhookUrl === undefined)
    throw new ConfigError('WEBHOOK_SECRET is set but WEBHOOK_URL is not: there is nothing to sign');
  completeClusterSettings(config);
  return config;
}

export function helpText(): string {
  const lines = ['Usage: onecast [--setting value ...]  (from a clone: npm start -- ...)', '', 'Settings (environment variable / flag, default):'];
  for (const s of SETTINGS) {
    lines.push(`  ${s.env} / ${s.flag}  (default: ${s.default === '' ? 'unset' : s.default})`);
    lines.push(`      ${s.describe}`);
  }
  return lines.join('\n');
}
