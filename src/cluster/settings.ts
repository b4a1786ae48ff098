// The settings of a cluster (REDIS_URL, NODE_URL, NODE_ID, CLUSTER_SECRET, MAX_RELAYS), declared beside
// the directory that reads them; config.ts puts them in its one list of settings. Without
// REDIS_URL onecast is one node and none of the others but MAX_RELAYS (harmless there) may be set.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError, limit } from '../configError';

export interface ClusterConfig {
  /** The cluster's Redis (or Valkey); undefined: a single node. */
  redisUrl: string | undefined;
  /** This node's base URL as clients reach it, without a trailing slash. */
  nodeUrl: string | undefined;
  /** This node's name in the directory; filled in by `completeClusterSettings` when REDIS_URL is set. */
  nodeId: string | undefined;
  /** Signs and checks the cluster credential (auth/clusterCredential.ts). */
  clusterSecret: string | undefined;
  /** Most other nodes pulling one room from this one at once (the relay tree); 0: no limit. */
  maxRelays: number;
}

/** What a clustered node needs, all set. */
export interface ClusterSettings {
  redisUrl: string;
  nodeUrl: string;
  nodeId: string;
  clusterSecret: string;
}

interface ClusterSetting<K extends keyof ClusterConfig> {
  env: string;
  key: K;
  default: string;
  describe: string;
  parse(raw: string): ClusterConfig[K];
}

/** The secret's HMAC-SHA256 key: shorter than the hash, it could be guessed offline from one credential. */
export const MIN_CLUSTER_SECRET_LENGTH = 32;
/** Node ids go into Redis keys, log lines and /api/nodes. */
const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

function url(name: string, protocols: readonly string[], example: string) {
  return (raw: string): string | undefined => {
    if (raw === '') return undefined;
    const parsed = URL.canParse(raw) ? new URL(raw) : undefined;
    if (parsed === undefined || !protocols.includes(parsed.protocol)) throw new ConfigError(`${name} must be a URL like ${example}, got "${raw}"`);
    return raw;
  };
}

export const CLUSTER_SETTINGS = [
  {
    env: 'REDIS_URL',
    key: 'redisUrl',
    default: '',
    describe:
      'redis:// or rediss:// URL of the Redis (or Valkey) the nodes of a cluster share, e.g. redis://10.0.0.5:6379 (a database number after the slash keeps two clusters apart on one Redis); needs NODE_URL and CLUSTER_SECRET (see Run a cluster); unset: one node on its own',
    parse: url('REDIS_URL', ['redis:', 'rediss:'], 'redis://10.0.0.5:6379'),
  } satisfies ClusterSetting<'redisUrl'>,
  {
    env: 'NODE_URL',
    key: 'nodeUrl',
    default: '',
    describe:
      "this node's base URL as clients and the other nodes reach it, e.g. http://10.0.0.7:8080: Location headers name it, so PATCH and DELETE reach the node that holds the session; only with REDIS_URL",
    parse: (raw: string) => {
      const checked = url('NODE_URL', ['http:', 'https:'], 'http://10.0.0.7:8080')(raw);
      if (checked === undefined) return undefined;
      const parsed = new URL(checked);
      if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '')
        throw new ConfigError(`NODE_URL must be a base URL without a query, fragment or credentials, got "${raw}"`);
      return checked.replace(/\/+$/, '');
    },
  } satisfies ClusterSetting<'nodeUrl'>,
  {
    env: 'NODE_ID',
    key: 'nodeId',
    default: '',
    describe: "this node's name in the cluster (1 to 64 of A-Z a-z 0-9 . _ -); unset: the host name and a random suffix, new at each start",
    parse: (raw: string) => {
      if (raw === '') return undefined;
      if (!NODE_ID.test(raw)) throw new ConfigError(`NODE_ID must be 1 to 64 characters of A-Z a-z 0-9 . _ -, got "${raw}"`);
      return raw;
    },
  } satisfies ClusterSetting<'nodeId'>,
  {
    env: 'CLUSTER_SECRET',
    key: 'clusterSecret',
    default: '',
    describe: `the secret every node of a cluster shares (${MIN_CLUSTER_SECRET_LENGTH} characters or more): it signs the credential a node pulls a room from another node with, which every node accepts for watching whatever its play auth; only with REDIS_URL`,
    parse: (raw: string) => {
      if (raw === '') return undefined;
      if (raw.length < MIN_CLUSTER_SECRET_LENGTH)
        throw new ConfigError(`CLUSTER_SECRET must be ${MIN_CLUSTER_SECRET_LENGTH} characters or more: a short secret can be guessed from one credential`);
      return raw;
    },
  } satisfies ClusterSetting<'clusterSecret'>,
  {
    env: 'MAX_RELAYS',
    key: 'maxRelays',
    default: '0',
    describe:
      "in a cluster, most other nodes pulling one room from this node at once (relays, not counted as viewers); past it another node's pull gets 503 with Retry-After (see Run a cluster); 0: no limit",
    parse: limit('MAX_RELAYS'),
  } satisfies ClusterSetting<'maxRelays'>,
] as const;

/**
 * Checks the cluster settings against each other and gives a clustered node without
 * NODE_ID its derived one (stable for as long as this config lives). Throws ConfigError.
 */
export function completeClusterSettings(config: ClusterConfig): void {
  if (config.redisUrl === undefined) {
    const stray = namesOf({ NODE_URL: config.nodeUrl, NODE_ID: config.nodeId, CLUSTER_SECRET: config.clusterSecret }, (v) => v !== undefined);
    if (stray.length > 0)
      throw new ConfigError(`${stray.join(' and ')} ${stray.length > 1 ? 'are' : 'is'} set but REDIS_URL is not: they only matter in a cluster`);
    return;
  }
  const missing = namesOf({ NODE_URL: config.nodeUrl, CLUSTER_SECRET: config.clusterSecret }, (v) => v === undefined);
  if (missing.length > 0)
    throw new ConfigError(`REDIS_URL makes this node part of a cluster, which needs ${missing.join(' and ')} as well (see the README, Run a cluster)`);
  config.nodeId ??= derivedNodeId();
}

function namesOf(settings: Record<string, string | undefined>, which: (value: string | undefined) => boolean): string[] {
  return Object.entries(settings)
    .filter(([, value]) => which(value))
    .map(([name]) => name);
}

/** The settings of a clustered node, or undefined for a single node. */
export function clusterSettingsOf(config: ClusterConfig): ClusterSettings | undefined {
  const { redisUrl, nodeUrl, nodeId, clusterSecret } = config;
  if (redisUrl === undefined || nodeUrl === undefined || nodeId === undefined || clusterSecret === undefined) return undefined;
  return { redisUrl, nodeUrl, nodeId, clusterSecret };
}

/** The host name (what an operator recognises) and a random suffix (two processes on one host stay apart). */
function derivedNodeId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 48) || 'node';
  return `${host}-${randomBytes(4).toString('hex')}`;
}
