// The authorizer (src/auth/authorizer.ts): how the configured modes combine. An action no
// mode covers is open; any local mode that grants allows; otherwise 401 for no or an
// unknown credential, 403 for a valid one that does not grant this; a library's
// authorize replaces the modes. (The hook's part: test/integration/authHook.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { createAuthorizer, type AuthSettings, type Authorizer } from '../../src/auth/authorizer';
import { NO_AUTH } from '../support/authSettings';
import type { AuthAction, AuthDecision } from '../../src/auth/types';
import { silentLogger } from '../../src/log';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';

const jwt = (onecast: object, exp = Math.floor(Date.now() / 1000) + 600) =>
  new SignJWT({ exp, onecast }).setProtectedHeader({ alg: 'HS256' }).sign(Buffer.from(SECRET));

/** The decision, without its rooms function (compared by what it lets through). */
async function decide(a: Authorizer, action: AuthAction, room: string | undefined, token?: string): Promise<AuthDecision> {
  return a.authorize({ action, room, token, ip: '192.0.2.1', userAgent: 'test' });
}

function status(d: AuthDecision): number {
  return d.allowed ? 200 : d.status;
}

describe('the authorizer', () => {
  let dir: string;
  const open: Authorizer[] = [];
  const make = (settings: Partial<AuthSettings>) => {
    const a = createAuthorizer({ ...NO_AUTH, ...settings }, { log: silentLogger });
    open.push(a);
    return a;
  };

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'onecast-authorizer-'));
    writeFileSync(path.join(dir, 'keys.txt'), 'studio-a:key-a\n');
  });
  after(() => {
    for (const a of open) a.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves open what no mode covers, as onecast without tokens', async () => {
    const none = make({});
    assert.ok(none.isOpen('publish') && none.isOpen('play'));
    assert.deepEqual(await decide(none, 'publish', 'x'), { allowed: true });
    const playOnly = make({ playToken: 'p' });
    assert.ok(playOnly.isOpen('publish') && !playOnly.isOpen('play'));
    assert.equal(status(await decide(playOnly, 'publish', 'x', 'anything')), 200);
    const keysOnly = make({ streamKeys: path.join(dir, 'keys.txt') });
    assert.ok(!keysOnly.isOpen('publish') && keysOnly.isOpen('play'), 'stream keys guard publishing only');
    const jwtOnly = make({ jwtSecret: SECRET });
    assert.ok(!jwtOnly.isOpen('publish') && !jwtOnly.isOpen('play'), 'JWTs guard both');
    const hookOnly = make({ authHookUrl: 'http://127.0.0.1:9/' });
    assert.ok(!hookOnly.isOpen('publish') && !hookOnly.isOpen('play'), 'the hook guards both');
  });

  it('keeps the static tokens as they were: PUBLISH_TOKEN and ADMIN_TOKEN publish, PLAY_TOKEN watches every room', async () => {
    const a = make({ publishToken: 'pub', adminToken: 'adm', playToken: 'play' });
    assert.equal(status(await decide(a, 'publish', 'x', 'pub')), 200);
    assert.equal(status(await decide(a, 'publish', 'x', 'adm')), 200);
    assert.equal(status(await decide(a, 'publish', 'x', 'play')), 401, 'the play token does not publish');
    assert.equal(status(await decide(a, 'play', 'x', 'pub')), 401, 'the publish token does not watch');
    assert.deepEqual(await decide(a, 'play', undefined, 'play'), { allowed: true }, 'every room');
    const anonymous = await decide(a, 'publish', 'x');
    assert.ok(!anonymous.allowed && /needs an "Authorization: Bearer <token>" header with PUBLISH_TOKEN/.test(anonymous.detail));
    const wrong = await decide(a, 'play', 'x', 'nope');
    assert.ok(!wrong.allowed && /not one this server accepts for watching: it takes PLAY_TOKEN/.test(wrong.detail));
  });

  it('allows what any mode grants, 403s a valid credential for another room, 401s the rest', async () => {
    const a = make({ publishToken: 'pub', adminToken: 'adm', streamKeys: path.join(dir, 'keys.txt'), jwtSecret: SECRET });
    const token = await jwt({ publish: ['team-*'], play: ['team-*'] });
    assert.equal(status(await decide(a, 'publish', 'studio-a', 'key-a')), 200, 'its stream key');
    assert.equal(status(await decide(a, 'publish', 'studio-a', 'pub')), 200, 'PUBLISH_TOKEN still publishes everywhere');
    assert.equal(status(await decide(a, 'publish', 'team-x', token)), 200, 'a JWT');
    assert.equal(status(await decide(a, 'publish', 'studio-b', 'key-a')), 403, "a key of another room's");
    assert.equal(status(await decide(a, 'publish', 'studio-a', token)), 403, 'a JWT for other rooms');
    assert.equal(status(await decide(a, 'play', 'studio-a', 'key-a')), 401, 'a stream key does not watch');
    const expired = await decide(a, 'play', 'team-x', await jwt({ play: ['team-*'] }, Math.floor(Date.now() / 1000) - 120));
    assert.ok(!expired.allowed && expired.status === 401 && /expired/.test(expired.detail));
    const unknown = await decide(a, 'publish', 'studio-a', 'who-knows');
    assert.ok(!unknown.allowed && unknown.status === 401);
    assert.match(unknown.detail, /it takes PUBLISH_TOKEN, or the room's stream key, or a JWT/);

    // With stream keys guarding publishing, ADMIN_TOKEN still publishes (a ?record=1 publish carries one token).
    const keysAndAdmin = make({ adminToken: 'adm', streamKeys: path.join(dir, 'keys.txt') });
    assert.equal(status(await decide(keysAndAdmin, 'publish', 'anywhere', 'adm')), 200);
  });

  it("lists across rooms: a JWT's rooms only, every room with PLAY_TOKEN", async () => {
    const a = make({ playToken: 'play', jwtSecret: SECRET });
    const byJwt = await decide(a, 'play', undefined, await jwt({ play: ['a'] }));
    assert.ok(byJwt.allowed && byJwt.rooms !== undefined);
    assert.deepEqual(['a', 'b'].filter(byJwt.rooms), ['a']);
    assert.deepEqual(await decide(a, 'play', undefined, 'play'), { allowed: true });
  });

  it("a library's authorize replaces every configured mode", async () => {
    const asked: string[] = [];
    const a = createAuthorizer(
      { ...NO_AUTH, publishToken: 'pub' },
      {
        log: silentLogger,
        custom: async (r) => {
          asked.push(`${r.action} ${r.room} ${r.token}`);
          return r.token === 'mine' ? { allowed: true } : { allowed: false, status: 403, detail: 'Not yours.' };
        },
      },
    );
    assert.ok(!a.isOpen('publish') && !a.isOpen('play'));
    assert.equal(status(await decide(a, 'publish', 'x', 'pub')), 403, 'PUBLISH_TOKEN no longer counts');
    assert.equal(status(await decide(a, 'play', 'y', 'mine')), 200);
    assert.deepEqual(asked, ['publish x pub', 'play y mine']);
  });
});
