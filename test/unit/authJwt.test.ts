// JWTs (src/auth/jwt.ts): the onecast claim's grants, expiry and nbf with 30 s of clock
// skew either way, and only the algorithm the configured key is for.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { CLOCK_TOLERANCE_SECONDS, jwtMode, publicKey } from '../../src/auth/jwt';
import type { Verdict } from '../../src/auth/mode';
import type { AuthAction, AuthRequest } from '../../src/auth/types';
import { ConfigError } from '../../src/configError';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';
const NOW = Date.parse('2026-12-04T12:00:00Z');
const seconds = NOW / 1000;

const ask = (token: string | undefined, action: AuthAction, room: string | undefined): AuthRequest => ({
  action,
  room,
  token,
  ip: '192.0.2.1',
  userAgent: 'test',
});

function hs256(claims: JWTPayload, secret = SECRET, alg = 'HS256'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(Buffer.from(secret));
}

const grants = { onecast: { publish: ['studio-a'], play: ['studio-a', 'team-*'] } };

function refusal(v: Verdict): { status: number; detail: string } | undefined {
  return v.kind === 'refuse' ? { status: v.status, detail: v.detail } : undefined;
}

describe('JWT authorization', () => {
  const mode = jwtMode({ jwtSecret: SECRET, jwtPublicKey: undefined, jwtJwksUrl: undefined }, () => NOW)!;

  it('grants what the onecast claim lists, rooms and patterns, and 403s the rest naming room and action', async () => {
    const token = await hs256({ exp: seconds + 600, ...grants });
    assert.deepEqual(await mode.judge(ask(token, 'publish', 'studio-a')), { kind: 'grant' });
    assert.deepEqual(await mode.judge(ask(token, 'play', 'team-blue')), { kind: 'grant' });
    const other = refusal(await mode.judge(ask(token, 'publish', 'team-blue')));
    assert.equal(other?.status, 403);
    assert.match(other!.detail, /does not let its holder publish to room "team-blue"/);
    assert.match(refusal(await mode.judge(ask(token, 'play', 'studio-b')))!.detail, /watch room "studio-b"/);
    assert.deepEqual(mode.covers, ['publish', 'play']);
  });

  it('across rooms, grants a filter of the rooms it may watch', async () => {
    const token = await hs256({ exp: seconds + 600, ...grants });
    const verdict = await mode.judge(ask(token, 'play', undefined));
    assert.ok(verdict.kind === 'grant' && verdict.rooms !== undefined);
    assert.deepEqual(['studio-a', 'studio-b', 'team-x', 'teamx'].filter(verdict.rooms), ['studio-a', 'team-x']);
    const publishOnly = await hs256({ exp: seconds + 600, onecast: { publish: ['a'] } });
    assert.equal(refusal(await mode.judge(ask(publishOnly, 'play', undefined)))?.status, 403);
  });

  it(`allows ${CLOCK_TOLERANCE_SECONDS} s of clock skew on exp and nbf, and says when a token expired`, async () => {
    const justExpired = await hs256({ exp: seconds - 20, ...grants });
    assert.deepEqual(await mode.judge(ask(justExpired, 'play', 'studio-a')), { kind: 'grant' }, 'expired 20 s ago: within the skew');
    const expired = refusal(await mode.judge(ask(await hs256({ exp: seconds - 40, ...grants }), 'play', 'studio-a')));
    assert.equal(expired?.status, 401);
    assert.match(expired!.detail, /^This token expired at 2026-12-04T11:59:20\.000Z; get a new one/);
    assert.deepEqual(await mode.judge(ask(await hs256({ exp: seconds + 600, nbf: seconds + 20, ...grants }), 'play', 'studio-a')), { kind: 'grant' });
    const early = refusal(await mode.judge(ask(await hs256({ exp: seconds + 600, nbf: seconds + 40, ...grants }), 'play', 'studio-a')));
    assert.equal(early?.status, 401);
    assert.match(early!.detail, /not valid before 2026-12-04T12:00:40\.000Z/);
  });

  it('refuses a token without exp, with a wrong key or algorithm, or a malformed claim (401); ignores what is no JWT', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['no exp', await hs256(grants), /no "exp" \(expiry\) claim/],
      ['another secret', await hs256({ exp: seconds + 600, ...grants }, 'another-secret-of-thirty-two-bytes!!'), /signature does not verify with JWT_SECRET/],
      ['HS384', await hs256({ exp: seconds + 600, ...grants }, SECRET, 'HS384'), /signed with "HS384", and this server accepts HS256/],
      ['a list that is not rooms', await hs256({ exp: seconds + 600, onecast: { play: ['a/b'] } }), /"onecast" claim must be/],
      ['no onecast claim', await hs256({ exp: seconds + 600 }), /"onecast" claim must be/],
    ];
    for (const [what, token, detail] of cases) {
      const r = refusal(await mode.judge(ask(token, 'play', 'studio-a')));
      assert.equal(r?.status, 401, what);
      assert.match(r!.detail, detail, what);
    }
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp: seconds + 600, ...grants })).toString('base64url')}.`;
    assert.deepEqual(await mode.judge(ask(unsigned, 'play', 'studio-a')), { kind: 'unknown' }, 'alg none has no signature part: not a JWS onecast reads');
    assert.deepEqual(await mode.judge(ask('a-static-token', 'play', 'studio-a')), { kind: 'unknown' });
    assert.deepEqual(await mode.judge(ask(undefined, 'play', 'studio-a')), { kind: 'unknown' });
  });

  it('takes the one algorithm of JWT_PUBLIC_KEY, and no HS256 token made with the public key as its secret', async () => {
    for (const [type, options, alg] of [
      ['rsa', { modulusLength: 2048 }, 'RS256'],
      ['ec', { namedCurve: 'P-256' }, 'ES256'],
    ] as const) {
      const pair = generateKeyPairSync(type as 'ec', options as { namedCurve: string });
      const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      assert.equal(publicKey(pem).algorithm, alg);
      const keyed = jwtMode({ jwtSecret: undefined, jwtPublicKey: pem, jwtJwksUrl: undefined }, () => NOW)!;
      const token = await new SignJWT({ exp: seconds + 600, ...grants }).setProtectedHeader({ alg }).sign(pair.privateKey);
      assert.deepEqual(await keyed.judge(ask(token, 'publish', 'studio-a')), { kind: 'grant' }, alg);
      const confused = await hs256({ exp: seconds + 600, ...grants }, pem);
      assert.match(refusal(await keyed.judge(ask(confused, 'publish', 'studio-a')))!.detail, new RegExp(`signed with "HS256", and this server accepts ${alg}`));
      const stranger = generateKeyPairSync(type as 'ec', options as { namedCurve: string });
      const forged = await new SignJWT({ exp: seconds + 600, ...grants }).setProtectedHeader({ alg }).sign(stranger.privateKey);
      assert.match(refusal(await keyed.judge(ask(forged, 'publish', 'studio-a')))!.detail, /signature does not verify with JWT_PUBLIC_KEY/);
    }
  });

  it('refuses at start a JWT_PUBLIC_KEY that is no public key or an unreadable file', () => {
    assert.throws(
      () => publicKey('/nonexistent/jwt.pem'),
      (e: unknown) => e instanceof ConfigError && /^JWT_PUBLIC_KEY: cannot read/.test(e.message),
    );
    assert.throws(
      () => publicKey('-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----'),
      (e: unknown) => e instanceof ConfigError && /must be a PEM public key/.test(e.message),
    );
    const dh = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.throws(
      () => publicKey(dh),
      (e: unknown) => e instanceof ConfigError && /is a x25519 key; onecast takes RSA/.test(e.message),
    );
    assert.equal(jwtMode({ jwtSecret: undefined, jwtPublicKey: undefined, jwtJwksUrl: undefined }), undefined);
  });
});
