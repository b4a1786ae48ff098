// werift 0.24.4 does its DTLS key exchange (ECDHE) in JavaScript: @noble/curves for P-256,
// tweetnacl for X25519. Measured here (2-core EPYC, busy): a P-256 key pair 0.6 ms and a
// P-256 shared secret 4.5 ms, an X25519 key pair 1.0 ms and shared secret 1.25 ms, all
// blocking the event loop that also forwards media; Node's crypto (OpenSSL) does each in
// 0.07-0.25 ms. werift offers no way to give its handshake another implementation: its
// flights call two functions of its own modules, cipher/namedCurve's generateKeyPair and
// cipher/prf's prfPreMasterSecret. This module replaces those two module exports (the
// flights look them up at each call) with Node's, once, at start-up, and only in the
// werift version it was written against; with any other version, or if the functions
// are not where that version keeps them, werift's own code stays and the reason is
// returned. The keys keep werift's representation (raw private scalar, uncompressed
// P-256 point or raw X25519 key) so both implementations interoperate.
// The server's signature over its key exchange needs no patch: werift's CipherContext
// signs through a method (with @fidm/x509, which re-encodes and re-parses the PEM key on
// every call), and signServerKeyExchange gives one server's context Node's sign().
import { type KeyObject, createECDH, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type CipherContext, NamedCurveAlgorithm } from 'werift';

/** The werift release whose internals this module knows. */
export const PATCHED_WERIFT_VERSION = '0.24.4';

interface KeyPair {
  curve: number;
  privateKey: Buffer;
  publicKey: Buffer;
}

/** The DER prefix of an X25519 private key in PKCS#8 (RFC 8410); the raw 32 bytes follow. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
/**
 * The key objects behind the X25519 private keys generateKeyPair handed out, by their raw
 * bytes (werift keeps and passes back that very Buffer). Importing a raw key costs ~0.6 ms
 * (OpenSSL's PKCS#8 decoder), the whole exchange with the object ~0.05 ms; the public key
 * is imported as a JWK (~0.02 ms, its DER form ~0.15 ms).
 */
const x25519PrivateKeys = new WeakMap<Buffer, KeyObject>();
const X25519_KEY_LENGTH = 32;
const P256_SCALAR_LENGTH = 32;

/** A fresh ECDHE key pair on `curve`, as werift's cipher/namedCurve generateKeyPair returns it. */
export function generateKeyPair(curve: number): KeyPair {
  switch (curve) {
    case NamedCurveAlgorithm.secp256r1_23: {
      const ecdh = createECDH('prime256v1');
      const publicKey = ecdh.generateKeys();
      // getPrivateKey() drops leading zero bytes (1 key in 256); werift's scalars are always 32 bytes.
      const scalar = ecdh.getPrivateKey();
      return { curve, privateKey: Buffer.concat([Buffer.alloc(P256_SCALAR_LENGTH - scalar.length), scalar]), publicKey };
    }
    case NamedCurveAlgorithm.x25519_29: {
      const keys = generateKeyPairSync('x25519');
      const privateKey = Buffer.from(keys.privateKey.export({ format: 'jwk' }).d!, 'base64url');
      x25519PrivateKeys.set(privateKey, keys.privateKey);
      return { curve, privateKey, publicKey: Buffer.from(keys.publicKey.export({ format: 'jwk' }).x!, 'base64url') };
    }
    default:
      throw new Error(`no ECDHE on named curve ${curve}`);
  }
}

/** The ECDHE shared secret (the pre-master secret, RFC 8422 §5.10), as werift's cipher/prf prfPreMasterSecret computes it. */
export function preMasterSecret(publicKey: Buffer, privateKey: Buffer, curve: number): Buffer {
  switch (curve) {
    case NamedCurveAlgorithm.secp256r1_23: {
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(privateKey);
      return ecdh.computeSecret(publicKey);
    }
    case NamedCurveAlgorithm.x25519_29: {
      if (publicKey.length !== X25519_KEY_LENGTH || privateKey.length !== X25519_KEY_LENGTH) throw new Error('X25519 keys are 32 bytes');
      return diffieHellman({
        privateKey:
          x25519PrivateKeys.get(privateKey) ?? createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' }),
        publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: publicKey.toString('base64url') }, format: 'jwk' }),
      });
    }
    default:
      throw new Error(`no ECDHE on named curve ${curve}`);
  }
}

/** ECCurveType named_curve (RFC 8422 §5.4) */
const NAMED_CURVE = 3;

/**
 * A DTLS server's ServerKeyExchange signature (RFC 8422 §5.4: over client random, server
 * random and ServerECDHParams) with Node's sign(), in place of werift's own for `cipher`.
 */
export function signServerKeyExchange(cipher: CipherContext, privateKey: KeyObject): void {
  cipher.generateKeySignature = (hashAlgorithm: string): Buffer => {
    const { publicKey } = cipher.localKeyPair;
    const params = Buffer.from([NAMED_CURVE, cipher.namedCurve >> 8, cipher.namedCurve & 0xff, publicKey.length]);
    return sign(hashAlgorithm, Buffer.concat([cipher.remoteRandom.serialize(), cipher.localRandom.serialize(), params, publicKey]), privateKey);
  };
}

/** What a handshake's key exchange runs on: 'node-crypto', or werift's JavaScript and why. */
export type KeyExchangeImplementation = 'node-crypto' | `werift (${string})`;

let installed: KeyExchangeImplementation | undefined;

/** Puts generateKeyPair and preMasterSecret in the installed werift's place (once per process); says which implementation handshakes use. */
export function installNativeKeyExchange(): KeyExchangeImplementation {
  installed ??= patchWerift(weriftPackageRoot());
  return installed;
}

/** Patches the werift package in `weriftRoot` if it is the version this module knows. */
export function patchWerift(weriftRoot: string): KeyExchangeImplementation {
  let version: unknown;
  try {
    version = (JSON.parse(readFileSync(path.join(weriftRoot, 'package.json'), 'utf8')) as { version?: unknown }).version;
  } catch (error) {
    return `werift (its package.json is unreadable: ${(error as Error).message})`;
  }
  if (version !== PATCHED_WERIFT_VERSION) return `werift (version ${String(version)}, this replacement knows ${PATCHED_WERIFT_VERSION})`;
  let namedCurve: Record<string, unknown>;
  let prf: Record<string, unknown>;
  try {
    // The package's exports map hides these modules; by file name they are the instances its flights use.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    namedCurve = require(path.join(weriftRoot, 'lib/dtls/src/cipher/namedCurve.js')) as Record<string, unknown>;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    prf = require(path.join(weriftRoot, 'lib/dtls/src/cipher/prf.js')) as Record<string, unknown>;
  } catch (error) {
    return `werift (its key exchange modules did not load: ${(error as Error).message})`;
  }
  if (typeof namedCurve['generateKeyPair'] !== 'function' || typeof prf['prfPreMasterSecret'] !== 'function') {
    return 'werift (generateKeyPair or prfPreMasterSecret is not where werift 0.24.4 keeps it)';
  }
  namedCurve['generateKeyPair'] = generateKeyPair;
  prf['prfPreMasterSecret'] = preMasterSecret;
  return 'node-crypto';
}

/** werift's package folder: its main entry is <root>/lib/webrtc/src/index.js. */
function weriftPackageRoot(): string {
  return path.resolve(path.dirname(require.resolve('werift')), '..', '..', '..');
}
