// The cluster credential (src/auth/clusterCredential.ts): made and checked with the shared
// secret, refused once expired, forged or altered, and granting play (only play) in every
// room before the configured modes are asked.
import assert from 'node:assert/strict';
import { createAuthorizer } from '../../src/auth/authorizer';
import { CLUSTER_CREDENTIAL_TTL_SECONDS, isClusterCredential, makeClusterCredential } from '../../src/auth/clusterCredential';
import type { AuthAction, AuthDecision } from '../../src/auth/types';
import { silentLogger } from '../../src/log';
import { NO_AUTH } from '../support/authSettings';

const SECRET = 'the-cluster-secret-every-node-shares!!';
const NOW = Date.UTC(2026, 0, 1);

describe('the cluster credential', () => {
  it('is a Bearer token that holds while it has not expired', () => {
    const credential = makeClusterCredential(SECRET, NOW);
    assert.match(credential, /^cluster\.\d+\.[A-Za-z0-9_-]{43}$/);
    assert.ok(isClusterCredential(SECRET, credential, NOW));
    assert.ok(isClusterCredential(SECRET, credential, NOW + (CLUSTER_CREDENTIAL_TTL_SECONDS - 1) * 1000));
    assert.ok(!isClusterCredential(SECRET, credential, NOW + CLUSTER_CREDENTIAL_TTL_SECONDS * 1000), 'expired');
  });

  it('is refused when made with another secret, altered, or not one at all', () => {
    const credential = makeClusterCredential(SECRET, NOW);
    const [prefix, expiry, mac] = credential.split('.') as [string, string, string];
    const flipped = `${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    for (const token of [
      makeClusterCredential('another-secret-of-thirty-two-characters', NOW),
      `${prefix}.${Number(expiry) + 3600}.${mac}`,
      `${prefix}.${expiry}.${flipped}`,
      `${prefix}.${expiry}.${mac}=`,
      'cluster',
      '',
    ]) {
      assert.ok(!isClusterCredential(SECRET, token, NOW), token);
    }
  });

  it('grants play in every room before the play auth, and nothing else', async () => {
    const authorizer = createAuthorizer({ ...NO_AUTH, playToken: 'viewers', publishToken: 'publishers', clusterSecret: SECRET }, { log: silentLogger });
    const decide = (action: AuthAction, room: string | undefined, token: string): Promise<AuthDecision> =>
      authorizer.authorize({ action, room, token, ip: undefined, userAgent: undefined });
    const credential = makeClusterCredential(SECRET);
    assert.deepEqual(await decide('play', 'any-room', credential), { allowed: true });
    assert.deepEqual(await decide('play', undefined, credential), { allowed: true });
    assert.equal((await decide('publish', 'any-room', credential)).allowed, false);
    assert.equal((await decide('play', 'any-room', makeClusterCredential('another-secret-of-thirty-two-characters'))).allowed, false);
    assert.deepEqual(await decide('play', 'any-room', 'viewers'), { allowed: true }, 'the play auth still works');
    authorizer.close();
  });

  it("comes before a library's own authorize too", async () => {
    const authorizer = createAuthorizer(
      { ...NO_AUTH, clusterSecret: SECRET },
      { log: silentLogger, custom: async () => ({ allowed: false, status: 403, detail: 'No.' }) },
    );
    const ask = (token: string) => authorizer.authorize({ action: 'play', room: 'r', token, ip: undefined, userAgent: undefined });
    assert.deepEqual(await ask(makeClusterCredential(SECRET)), { allowed: true });
    assert.equal((await ask('anything')).allowed, false);
  });
});
