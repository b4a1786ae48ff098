// The authorization hook (src/auth/authHook.ts) against a real HTTP service on loopback:
// what onecast sends it, 2xx allowing, a 4xx refusal passed on with its status and
// detail, a 5xx, a timeout or no service at all refusing with 503 (never letting the
// request through), and positive answers remembered for 30 s, refusals never.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthHook, HOOK_CACHE_MS } from '../../src/auth/authHook';
import { createAuthorizer } from '../../src/auth/authorizer';
import type { AuthRequest } from '../../src/auth/types';
import { loggerTo, silentLogger } from '../../src/log';
import { NO_AUTH } from '../support/authSettings';
import { freePort } from '../support/process';

interface Hook {
  url: string;
  /** The JSON bodies received, in order. */
  asked: unknown[];
  /** How the next requests are answered. */
  answer: (body: Record<string, unknown>, res: http.ServerResponse) => void;
  close(): Promise<void>;
}

async function startHook(): Promise<Hook> {
  const hook: Hook = {
    url: '',
    asked: [],
    answer: (_b, res) => res.writeHead(204).end(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      hook.asked.push(parsed);
      hook.answer(parsed, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/authorize`;
  return hook;
}

const request = (over: Partial<AuthRequest> = {}): AuthRequest => ({
  action: 'publish',
  room: 'studio',
  token: 'tok',
  ip: '192.0.2.7',
  userAgent: 'OBS-Studio/31.0.0',
  ...over,
});

describe('the authorization hook', function () {
  this.timeout(20_000);
  let hook: Hook;
  before(async () => {
    hook = await startHook();
  });
  after(() => hook.close());
  beforeEach(() => {
    hook.asked.length = 0;
    hook.answer = (_b, res) => res.writeHead(204).end();
  });

  it('is sent {action, room, token, ip, userAgent}; its 2xx allows', async () => {
    const decision = await new AuthHook({ url: hook.url, timeoutMs: 3000, log: silentLogger }).decide(
      request({ action: 'play', room: undefined, token: undefined }),
    );
    assert.deepEqual(decision, { allowed: true });
    assert.deepEqual(hook.asked, [{ action: 'play', room: null, token: null, ip: '192.0.2.7', userAgent: 'OBS-Studio/31.0.0' }]);
  });

  it("refuses with the hook's 4xx and the detail of its JSON body, or a default sentence", async () => {
    hook.answer = (_b, res) =>
      res.writeHead(402, { 'Content-Type': 'application/json' }).end(JSON.stringify({ detail: 'Your subscription has lapsed; renew it.' }));
    assert.deepEqual(await new AuthHook({ url: hook.url, timeoutMs: 3000, log: silentLogger }).decide(request()), {
      allowed: false,
      status: 402,
      detail: 'Your subscription has lapsed; renew it.',
    });
    hook.answer = (_b, res) => res.writeHead(403, { 'Content-Type': 'text/plain' }).end('nope');
    assert.deepEqual(await new AuthHook({ url: hook.url, timeoutMs: 3000, log: silentLogger }).decide(request()), {
      allowed: false,
      status: 403,
      detail: 'The authorization service refused to let this request publish to room "studio".',
    });
  });

  it('refuses with 503 when the hook fails (5xx), answers too late, or is not there, and says why in the log', async () => {
    const warnings: string[] = [];
    const log = loggerTo((level, msg) => void (level === 'warn' && warnings.push(msg)));
    hook.answer = (_b, res) => res.writeHead(500).end();
    const failing = await new AuthHook({ url: hook.url, timeoutMs: 3000, log }).decide(request());
    assert.ok(!failing.allowed && failing.status === 503 && /did not answer/.test(failing.detail));

    hook.answer = (_b, res) => setTimeout(() => res.writeHead(204).end(), 1_000);
    const slow = await new AuthHook({ url: hook.url, timeoutMs: 200, log }).decide(request());
    assert.ok(!slow.allowed && slow.status === 503, 'a hook slower than AUTH_HOOK_TIMEOUT');

    const nobody = await new AuthHook({ url: `http://127.0.0.1:${await freePort()}/`, timeoutMs: 3000, log }).decide(request());
    assert.ok(!nobody.allowed && nobody.status === 503, 'no service listening');
    assert.deepEqual(
      warnings.map((w) => /\((.*)\)/.exec(w)?.[1]),
      ['it answered 500', 'no answer within 200 ms', 'ECONNREFUSED'],
    );
  });

  it('remembers an allowing answer for 30 s by action, room, token and address; never a refusal', async () => {
    let now = 1_000_000;
    const cached = new AuthHook({ url: hook.url, timeoutMs: 3000, log: silentLogger, now: () => now });
    await cached.decide(request());
    await cached.decide(request());
    assert.equal(hook.asked.length, 1, 'the second answer came from the cache');
    for (const other of [{ token: 'other' }, { room: 'other' }, { action: 'play' as const }, { ip: '192.0.2.8' }]) await cached.decide(request(other));
    assert.equal(hook.asked.length, 5, 'another token, room, action or address asks again');
    now += HOOK_CACHE_MS + 1;
    await cached.decide(request());
    assert.equal(hook.asked.length, 6, 'asked again once 30 s have passed');

    hook.answer = (_b, res) => res.writeHead(401).end();
    await cached.decide(request({ token: 'refused' }));
    hook.answer = (_b, res) => res.writeHead(204).end();
    assert.deepEqual(await cached.decide(request({ token: 'refused' })), { allowed: true }, 'a refusal is not remembered');
    assert.equal(hook.asked.length, 8);
  });

  it('decides only what no local mode grants', async () => {
    const authorizer = createAuthorizer({ ...NO_AUTH, publishToken: 'pub', authHookUrl: hook.url }, { log: silentLogger });
    hook.answer = (body, res) => res.writeHead(body['token'] === 'hook-token' ? 200 : 403).end();
    const ask = (token: string, action: 'publish' | 'play' = 'publish') => authorizer.authorize(request({ token, action }));
    assert.deepEqual(await ask('pub'), { allowed: true });
    assert.equal(hook.asked.length, 0, 'PUBLISH_TOKEN granted: the hook was not asked');
    assert.deepEqual(await ask('hook-token'), { allowed: true });
    assert.deepEqual(await ask('hook-token', 'play'), { allowed: true }, 'the hook guards watching too');
    assert.equal((await ask('stranger')).allowed, false);
    assert.equal(hook.asked.length, 3);
  });
});
