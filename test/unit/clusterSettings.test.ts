// The cluster's settings (src/cluster/settings.ts, read by config.ts): none of them without
// REDIS_URL, and REDIS_URL only with what a node of a cluster needs, each mistake a sentence.
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config';
import { clusterSettingsOf } from '../../src/cluster/settings';

const SECRET = 'x'.repeat(32);
const CLUSTER = { REDIS_URL: 'redis://10.0.0.5:6379', NODE_URL: 'http://10.0.0.7:8080/', CLUSTER_SECRET: SECRET };

describe('cluster settings', () => {
  it('leave a node on its own without REDIS_URL', () => {
    const config = loadConfig([], {});
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.nodeId, undefined);
    assert.equal(clusterSettingsOf(config), undefined);
  });

  it('make a node of a cluster with REDIS_URL, NODE_URL and CLUSTER_SECRET; NODE_ID is derived when unset', () => {
    const settings = clusterSettingsOf(loadConfig([], CLUSTER));
    assert.ok(settings !== undefined);
    assert.equal(settings.redisUrl, 'redis://10.0.0.5:6379');
    assert.equal(settings.nodeUrl, 'http://10.0.0.7:8080', 'without the trailing slash');
    assert.match(settings.nodeId, /^[A-Za-z0-9._-]+-[0-9a-f]{8}$/);
    assert.notEqual(clusterSettingsOf(loadConfig([], CLUSTER))?.nodeId, settings.nodeId, 'new at each start');
    assert.equal(clusterSettingsOf(loadConfig(['--node-id', 'edge-1'], CLUSTER))?.nodeId, 'edge-1');
  });

  it('refuse what a cluster cannot work with, in one sentence each', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ REDIS_URL: 'redis://r:6379' }, /REDIS_URL .* needs NODE_URL and CLUSTER_SECRET/],
      [{ ...CLUSTER, NODE_URL: '' }, /needs NODE_URL as well/],
      [{ ...CLUSTER, CLUSTER_SECRET: 'short' }, /CLUSTER_SECRET must be 32 characters or more/],
      [{ ...CLUSTER, REDIS_URL: 'http://r:6379' }, /REDIS_URL must be a URL like redis:\/\//],
      [{ ...CLUSTER, NODE_URL: '10.0.0.7:8080' }, /NODE_URL must be a URL like http:\/\//],
      [{ ...CLUSTER, NODE_URL: 'http://10.0.0.7:8080/?x=1' }, /NODE_URL must be a base URL without a query/],
      [{ ...CLUSTER, NODE_ID: 'a node' }, /NODE_ID must be 1 to 64 characters/],
      [{ NODE_URL: 'http://10.0.0.7:8080', CLUSTER_SECRET: SECRET }, /NODE_URL and CLUSTER_SECRET are set but REDIS_URL is not/],
      [{ NODE_ID: 'edge-1' }, /NODE_ID is set but REDIS_URL is not/],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig([], env),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
        JSON.stringify(env),
      );
    }
  });
});
