// JWTs (JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL): a token signed by whoever runs the
// platform says which rooms its holder may publish to and watch:
//   {"exp": 1764781200, "nbf": 1764777600, "onecast": {"publish": ["studio-a"], "play": ["team-*"]}}
// `exp` is required; rooms are names or patterns (roomPattern.ts). Only the algorithms the
// configured key is for are accepted (HS256 for a secret; RS256, ES256, ES384 or EdDSA as
// the public key's type says; the asymmetric ones for a JWKS), never "none". Clocks may
// disagree by CLOCK_TOLERANCE_SECONDS either way on exp and nbf.
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { ConfigError } from '../configError';
import type { AuthConfig } from './settings';
import { UNKNOWN, type Mode, type Verdict } from './mode';
import { anyMatches, isRoomPattern, roomMatcher } from './roomPattern';
import type { AuthAction, AuthRequest } from './types';

/** How far the token issuer's clock and ours may disagree, on exp and nbf. */
export const CLOCK_TOLERANCE_SECONDS = 30;
/** How long a JWKS fetch may take before the token is refused with 503. */
const JWKS_TIMEOUT_MS = 3_000;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const WHAT: Record<AuthAction, string> = { publish: 'publish to', play: 'watch' };

type JwtSettings = Pick<AuthConfig, 'jwtSecret' | 'jwtPublicKey' | 'jwtJwksUrl'>;

interface Verifier {
  /** The setting it comes from, for the lines that explain a refusal. */
  setting: string;
  algorithms: string[];
  verify(token: string): Promise<JWTPayload>;
}

/** undefined when no JWT setting is set. Reads and checks JWT_PUBLIC_KEY now (a ConfigError if it is no public key). */
export function jwtMode(settings: JwtSettings, now: () => number = Date.now): Mode | undefined {
  const verifiers: Verifier[] = [];
  const options = (algorithms: string[]) => ({
    algorithms,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ['exp'],
    currentDate: new Date(now()),
  });
  if (settings.jwtSecret !== undefined) {
    const key = createSecretKey(Buffer.from(settings.jwtSecret, 'utf8'));
    verifiers.push({ setting: 'JWT_SECRET', algorithms: ['HS256'], verify: async (t) => (await jwtVerify(t, key, options(['HS256']))).payload });
  }
  if (settings.jwtPublicKey !== undefined) {
    const { key, algorithm } = publicKey(settings.jwtPublicKey);
    verifiers.push({ setting: 'JWT_PUBLIC_KEY', algorithms: [algorithm], verify: async (t) => (await jwtVerify(t, key, options([algorithm]))).payload });
  }
  if (settings.jwtJwksUrl !== undefined) {
    const keySet = createRemoteJWKSet(new URL(settings.jwtJwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS });
    const algorithms = ['RS256', 'ES256', 'ES384', 'EdDSA'];
    verifiers.push({ setting: 'JWT_JWKS_URL', algorithms, verify: async (t) => (await jwtVerify(t, keySet, options(algorithms))).payload });
  }
  if (verifiers.length === 0) return undefined;

  return {
    covers: ['publish', 'play'],
    async judge(request: AuthRequest): Promise<Verdict> {
      if (request.token === undefined || !COMPACT_JWS.test(request.token)) return UNKNOWN;
      let alg: unknown;
      try {
        alg = decodeProtectedHeader(request.token).alg;
      } catch {
        return invalid('its header is not readable JSON');
      }
      const fitting = verifiers.filter((v) => v.algorithms.includes(String(alg)));
      if (fitting.length === 0) {
        const accepted = [...new Set(verifiers.flatMap((v) => v.algorithms))].join(', ');
        return invalid(`it is signed with ${JSON.stringify(alg)}, and this server accepts ${accepted}`);
      }
      let refusal: Verdict = UNKNOWN;
      for (const verifier of fitting) {
        let payload: JWTPayload;
        try {
          payload = await verifier.verify(request.token);
        } catch (error) {
          refusal = failure(error, verifier);
          // Claims are checked once the signature verified: no other key will do better.
          if (error instanceof errors.JWTExpired || error instanceof errors.JWTClaimValidationFailed) return refusal;
          continue;
        }
        return grants(payload, request);
      }
      return refusal;
    },
  };
}

/** What a verified token's onecast claim grants for this request. */
function grants(payload: JWTPayload, request: AuthRequest): Verdict {
  const claim = payload['onecast'];
  const shape = 'its "onecast" claim must be {"publish": ["room or pattern", …], "play": [ … ]}';
  if (claim === null || typeof claim !== 'object' || Array.isArray(claim)) return invalid(shape);
  const list = (claim as Record<string, unknown>)[request.action] ?? [];
  if (!Array.isArray(list) || !list.every(isRoomPattern)) return invalid(shape);
  const matchers = list.map(roomMatcher);
  if (request.room === undefined) {
    if (matchers.length > 0) return { kind: 'grant', rooms: (room) => anyMatches(matchers, room) };
    return {
      kind: 'refuse',
      status: 403,
      detail: `This token does not let its holder ${WHAT[request.action]} any room (its onecast.${request.action} list is empty).`,
    };
  }
  if (anyMatches(matchers, request.room)) return { kind: 'grant' };
  return {
    kind: 'refuse',
    status: 403,
    detail: `This token does not let its holder ${WHAT[request.action]} room "${request.room}"; its onecast.${request.action} claim must name the room or a pattern covering it.`,
  };
}

function failure(error: unknown, verifier: Verifier): Verdict {
  if (error instanceof errors.JWTExpired) {
    const exp = typeof error.payload.exp === 'number' ? ` at ${new Date(error.payload.exp * 1000).toISOString()}` : '';
    return { kind: 'refuse', status: 401, detail: `This token expired${exp}; get a new one from whoever issued it.` };
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') {
      const nbf = typeof error.payload.nbf === 'number' ? new Date(error.payload.nbf * 1000).toISOString() : 'later';
      return { kind: 'refuse', status: 401, detail: `This token is not valid before ${nbf}; use it then, or check the issuer's clock.` };
    }
    if (error.claim === 'exp') return invalid('it has no "exp" (expiry) claim, which onecast requires');
    return invalid(`its "${error.claim}" claim is not valid (${error.reason})`);
  }
  // The key set not reachable, answering other than 200, or not a key set: the service's fault, not the token's.
  // (jose reports the middle two as a plain JOSEError, ERR_JOSE_GENERIC.)
  const keySetFailed = error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || (error as errors.JOSEError).code === 'ERR_JOSE_GENERIC';
  if (keySetFailed || !(error instanceof errors.JOSEError)) {
    return { kind: 'refuse', status: 503, detail: `The key set at JWT_JWKS_URL did not answer, so this token cannot be checked now; try again shortly.` };
  }
  if (error instanceof errors.JWKSNoMatchingKey) return invalid('no key of the JWT_JWKS_URL key set matches its "kid" and algorithm');
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid(`its signature does not verify with ${verifier.setting}`);
  return invalid(error.message);
}

function invalid(why: string): Verdict {
  return { kind: 'refuse', status: 401, detail: `This token is not a valid JWT for this server: ${why}.` };
}

/** JWT_PUBLIC_KEY (PEM text, or the path of a PEM file) and the one algorithm its type signs with. */
export function publicKey(setting: string): { key: KeyObject; algorithm: string } {
  let pem = setting;
  if (!setting.includes('-----BEGIN')) {
    try {
      pem = readFileSync(setting, 'utf8');
    } catch (error) {
      throw new ConfigError(`JWT_PUBLIC_KEY: cannot read ${setting}: ${(error as Error).message}`);
    }
  }
  let key: KeyObject;
  try {
    // Environment files cannot hold newlines: a PEM written with \n is read as one.
    key = createPublicKey(pem.replace(/\\n/g, '\n'));
  } catch (error) {
    throw new ConfigError(`JWT_PUBLIC_KEY must be a PEM public key (or the path of one): ${(error as Error).message}`);
  }
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === 'rsa') return { key, algorithm: 'RS256' };
  if (type === 'ec' && curve === 'prime256v1') return { key, algorithm: 'ES256' };
  if (type === 'ec' && curve === 'secp384r1') return { key, algorithm: 'ES384' };
  if (type === 'ed25519') return { key, algorithm: 'EdDSA' };
  throw new ConfigError(
    `JWT_PUBLIC_KEY is a ${type ?? 'unknown'}${curve !== undefined ? ` (${curve})` : ''} key; onecast takes RSA (RS256), EC P-256 (ES256), P-384 (ES384) or Ed25519 (EdDSA)`,
  );
}
