// Onecast nodes of one cluster, each its own process (as in production: a node's SIGKILL
// takes nothing else with it), on loopback with fresh HTTP and UDP ports, sharing a Redis.
import { freePort, spawnServer, type ServerProcess } from './process';

/** Several nodes start at once, each compiling the sources with tsx: on a fresh clone (cold cache) beside another test lane that took over 15 s. */
const NODE_START_TIMEOUT_MS = 60_000;

export const TEST_CLUSTER_SECRET = 'a-cluster-secret-of-thirty-two-chars-or-more';

export interface ClusterNode {
  id: string;
  /** Its NODE_URL. */
  url: string;
  proc: ServerProcess;
}

/** Starts a node named `id` in the cluster of `redisUrl`, with `env` on top. */
export async function startNode(redisUrl: string, id: string, env: Record<string, string> = {}): Promise<ClusterNode> {
  const httpPort = await freePort();
  const url = `http://127.0.0.1:${httpPort}`;
  const proc = await spawnServer(
    {
      HTTP_PORT: String(httpPort),
      UDP_PORT: String(await freePort()),
      BIND: '127.0.0.1',
      PUBLIC_IPS: '127.0.0.1',
      REDIS_URL: redisUrl,
      NODE_URL: url,
      NODE_ID: id,
      CLUSTER_SECRET: TEST_CLUSTER_SECRET,
      ...env,
    },
    [],
    undefined,
    undefined,
    NODE_START_TIMEOUT_MS,
  );
  return { id, url, proc };
}

/** Starts `count` nodes, named node-1 … node-N. */
export function startNodes(redisUrl: string, count: number, env: Record<string, string> = {}): Promise<ClusterNode[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startNode(redisUrl, `node-${i + 1}`, env)));
}
