// The library's options: the command line's settings as a typed object, read by the same
// parsers, and the authorize callback's answers as decisions.
import assert from 'node:assert/strict';
import type { AuthRequest } from '../../src/auth/types';
import { ConfigError, loadConfig } from '../../src/config';
import { fromCallback } from '../../src/library/authorize';
import { createServer } from '../../src/library/createServer';
import { configOf } from '../../src/library/options';
import { silentLogger } from '../../src/log';

const OTHERS = ['log', 'authorize', 'listen'];

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('no ConfigError thrown');
}

describe('library options', () => {
  it('read as the same settings from the environment read', () => {
    const fromOptions = configOf(
      {
        httpPort: 9000,
        publicIps: ['203.0.113.5', '2001:db8::1'],
        record: true,
        publishToken: 's3cret',
        iceServers: ['stun:stun.example.org'],
        recordingsMaxAgeMs: 2 * 86_400_000,
        recordingsMaxBytes: 1024,
        listen: false,
      },
      'warn',
      OTHERS,
    );
    const fromEnv = loadConfig([], {
      HTTP_PORT: '9000',
      PUBLIC_IPS: '203.0.113.5,2001:db8::1',
      RECORD: 'on',
      PUBLISH_TOKEN: 's3cret',
      ICE_SERVERS: 'stun:stun.example.org',
      RECORDINGS_MAX_AGE: '2d',
      RECORDINGS_MAX_BYTES: '1024',
      LOG_LEVEL: 'warn',
    });
    assert.deepEqual(fromOptions, fromEnv);
  });

  it('take the defaults of the settings table', () => {
    assert.deepEqual(configOf({}, undefined, OTHERS), loadConfig([], {}));
  });

  it('refuse a wrong value with the sentence the command line prints', () => {
    const env = (v: Record<string, string>) => messageOf(() => loadConfig([], v));
    assert.equal(
      messageOf(() => configOf({ httpPort: 70000 }, undefined, OTHERS)),
      env({ HTTP_PORT: '70000' }),
    );
    assert.equal(
      messageOf(() => configOf({ publicIps: ['not-an-ip'] }, undefined, OTHERS)),
      env({ PUBLIC_IPS: 'not-an-ip' }),
    );
    assert.equal(
      messageOf(() => configOf({ recordingsMaxAgeMs: 1500 }, undefined, OTHERS)),
      'RECORDINGS_MAX_AGE must be 0 or a whole number with a unit s, m, h or d (e.g. 30d), got "1500ms"',
    );
    assert.equal(
      messageOf(() => configOf({}, 'loud', OTHERS)),
      env({ LOG_LEVEL: 'loud' }),
    );
  });

  it('refuse an option they do not know, as the command line refuses an unknown flag', () => {
    assert.match(
      messageOf(() => configOf({ httpPrt: 9000 }, undefined, OTHERS)),
      /unknown option "httpPrt"/,
    );
    assert.match(
      messageOf(() => configOf({ logLevel: 'debug' }, undefined, OTHERS)),
      /unknown option "logLevel"/,
    );
  });
});

describe('the authorize callback', () => {
  it('may not sit beside a mode it would silently replace', async () => {
    await assert.rejects(
      createServer({ authorize: () => true, playToken: 'viewers', jwtSecret: 'x'.repeat(32), log: 'silent' }),
      (error: unknown) => error instanceof ConfigError && /in place of playToken, jwtSecret: leave them unset/.test(error.message),
    );
  });

  const request = (token: string | undefined): AuthRequest => ({ action: 'publish', room: 'studio', token, ip: '127.0.0.1', userAgent: undefined });

  it('allows on true, and refuses on false with 401 without a token, 403 with one', async () => {
    const authorize = fromCallback((_action, _room, token) => token === 'good', silentLogger);
    assert.deepEqual(await authorize(request('good')), { allowed: true });
    assert.deepEqual(await authorize(request(undefined)), { allowed: false, status: 401, detail: 'Send a Bearer token that may publish in room studio.' });
    assert.deepEqual(await authorize(request('bad')), { allowed: false, status: 403, detail: 'This token may not publish in room studio.' });
  });

  it("passes its arguments, and keeps a refusal's own status and detail", async () => {
    const seen: unknown[] = [];
    const authorize = fromCallback(async (action, room, token, req) => {
      seen.push(action, room, token, req.ip);
      return { allowed: false, status: 429, detail: 'Too many streams today.' };
    }, silentLogger);
    assert.deepEqual(await authorize(request('t')), { allowed: false, status: 429, detail: 'Too many streams today.' });
    assert.deepEqual(seen, ['publish', 'studio', 't', '127.0.0.1']);
  });

  it('refuses, and logs, when the callback throws', async () => {
    const logged: string[] = [];
    const log = { ...silentLogger, error: (msg: string) => logged.push(msg) };
    const authorize = fromCallback(() => {
      throw new Error('database down');
    }, log);
    const decision = await authorize(request('t'));
    assert.equal(decision.allowed, false);
    assert.equal(decision.allowed === false && decision.status, 500);
    assert.deepEqual(logged, ['the authorize callback failed']);
  });
});
