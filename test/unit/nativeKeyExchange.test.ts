// The DTLS handshake's key exchange on Node's crypto in place of werift's JavaScript:
// the same key pairs and shared secrets as werift's own code, in both directions and on
// both curves; a real handshake that goes through them, whose ServerKeyExchange
// signature verifies with the server certificate's key (werift's client never checks it;
// Chromium and OBS do); and werift's own code left alone when werift is not the version
// the replacement knows.
import assert from 'node:assert/strict';
import { X509Certificate, verify } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NamedCurveAlgorithm } from 'werift';
import { createCertificate, type Certificate } from '../../src/engine/dtls/certificate';
import { loopbackHandshake } from '../../src/engine/dtls/loopbackHandshake';
import { PATCHED_WERIFT_VERSION, generateKeyPair, installNativeKeyExchange, patchWerift, preMasterSecret } from '../../src/engine/dtls/nativeKeyExchange';
import { ContentType, readFragments, readRecords } from '../../src/engine/dtls/records';

const WERIFT_ROOT = path.resolve(path.dirname(require.resolve('werift')), '..', '..', '..');
const NAMED_CURVE_MODULE = path.join(WERIFT_ROOT, 'lib/dtls/src/cipher/namedCurve.js');
const PRF_MODULE = path.join(WERIFT_ROOT, 'lib/dtls/src/cipher/prf.js');

type KeyPair = { curve: number; privateKey: Buffer; publicKey: Buffer };
interface WeriftKeyExchange {
  generateKeyPair(curve: number): KeyPair;
  prfPreMasterSecret(publicKey: Buffer, privateKey: Buffer, curve: number): Buffer;
}

/** werift's own functions, from fresh copies of its modules (the cached ones may be patched by now). */
function weriftOwn(): WeriftKeyExchange {
  const load = (file: string): Record<string, unknown> => {
    const cached = require.cache[file];
    delete require.cache[file];
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(file) as Record<string, unknown>;
    } finally {
      if (cached) require.cache[file] = cached;
      else delete require.cache[file];
    }
  };
  return {
    generateKeyPair: load(NAMED_CURVE_MODULE)['generateKeyPair'] as WeriftKeyExchange['generateKeyPair'],
    prfPreMasterSecret: load(PRF_MODULE)['prfPreMasterSecret'] as WeriftKeyExchange['prfPreMasterSecret'],
  };
}

const CURVES = [
  ['X25519', NamedCurveAlgorithm.x25519_29],
  ['P-256', NamedCurveAlgorithm.secp256r1_23],
] as const;

describe("DTLS key exchange on Node's crypto", function () {
  this.timeout(20_000);
  let werift: WeriftKeyExchange;
  let certificate: Certificate;

  before(async () => {
    werift = weriftOwn();
    certificate = await createCertificate();
  });

  for (const [name, curve] of CURVES) {
    it(`${name}: key pairs in werift's format and the shared secret werift computes, either side native`, () => {
      // A P-256 private scalar has a leading zero byte once in 256: werift's format keeps it.
      const shapes = new Set<string>();
      for (let i = 0; i < 1000; i++) {
        const { privateKey, publicKey } = generateKeyPair(curve);
        shapes.add(`${privateKey.length}/${publicKey.length}`);
      }
      const theirs = werift.generateKeyPair(curve);
      assert.deepEqual([...shapes], [`${theirs.privateKey.length}/${theirs.publicKey.length}`]);
      for (let i = 0; i < 10; i++) {
        const ours = generateKeyPair(curve);
        const peer = werift.generateKeyPair(curve);
        assert.equal(ours.curve, curve);
        const expected = werift.prfPreMasterSecret(ours.publicKey, peer.privateKey, curve);
        assert.equal(expected.length, 32);
        // Our key against werift's, computed on either side; werift's keys alone through our function.
        assert.deepEqual(preMasterSecret(peer.publicKey, ours.privateKey, curve), expected);
        assert.deepEqual(werift.prfPreMasterSecret(peer.publicKey, ours.privateKey, curve), expected);
        const other = werift.generateKeyPair(curve);
        assert.deepEqual(preMasterSecret(other.publicKey, peer.privateKey, curve), werift.prfPreMasterSecret(other.publicKey, peer.privateKey, curve));
      }
    });
  }

  it('refuses a P-256 point not on the curve and a curve it does not know', () => {
    const { privateKey } = generateKeyPair(NamedCurveAlgorithm.secp256r1_23);
    const bad = Buffer.alloc(65, 1);
    bad[0] = 4;
    assert.throws(() => preMasterSecret(bad, privateKey, NamedCurveAlgorithm.secp256r1_23));
    assert.throws(() => generateKeyPair(24));
    assert.throws(() => preMasterSecret(Buffer.alloc(32), Buffer.alloc(31), NamedCurveAlgorithm.x25519_29));
  });

  for (const [name, curve] of CURVES) {
    it(`${name}: a real handshake runs on it, and the server's key exchange signature verifies`, async () => {
      assert.equal(installNativeKeyExchange(), 'node-crypto');
      // werift's flights look the functions up on the module at each call: count the calls there.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const namedCurve = require(NAMED_CURVE_MODULE) as Record<string, unknown>;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const prf = require(PRF_MODULE) as Record<string, unknown>;
      assert.equal(namedCurve['generateKeyPair'], generateKeyPair);
      assert.equal(prf['prfPreMasterSecret'], preMasterSecret);
      const calls = { keyPairs: 0, secrets: 0 };
      namedCurve['generateKeyPair'] = (c: number) => (calls.keyPairs++, generateKeyPair(c));
      prf['prfPreMasterSecret'] = (pub: Buffer, priv: Buffer, c: number) => (calls.secrets++, preMasterSecret(pub, priv, c));
      const messages = new Map<number, Buffer>();
      try {
        await loopbackHandshake(certificate, {
          name: 'handshake',
          timeoutMs: 10_000,
          curve,
          onRecord: (datagram) => {
            for (const record of readRecords(datagram) ?? []) {
              if (record.type !== ContentType.handshake || record.epoch !== 0) continue;
              for (const f of readFragments(record.body) ?? []) if (!messages.has(f.msgType)) messages.set(f.msgType, f.body);
            }
          },
        });
      } finally {
        namedCurve['generateKeyPair'] = generateKeyPair;
        prf['prfPreMasterSecret'] = preMasterSecret;
      }
      // Server: a key pair for the cookieless hello (werift sets its handshake up from it), its shared secret; client: the same.
      assert.ok(calls.keyPairs >= 2, `${calls.keyPairs} key pairs`);
      assert.equal(calls.secrets, 2);

      // ServerKeyExchange (RFC 8422 §5.4): curve type, curve, public key, then hash, signature algorithm, signature.
      const clientRandom = messages.get(1)!.subarray(2, 34);
      const serverRandom = messages.get(2)!.subarray(2, 34);
      const ske = messages.get(12)!;
      assert.equal(ske.readUInt16BE(1), curve);
      const paramsEnd = 4 + ske[3]!;
      const signature = ske.subarray(paramsEnd + 4, paramsEnd + 4 + ske.readUInt16BE(paramsEnd + 2));
      const signed = Buffer.concat([clientRandom, serverRandom, ske.subarray(0, paramsEnd)]);
      const key = new X509Certificate(certificate.certPem).publicKey;
      assert.equal(verify('sha256', signed, key, signature), true);
      // ...and not over anything else.
      signed[0]! ^= 1;
      assert.equal(verify('sha256', signed, key, signature), false);
    });
  }

  describe('on a werift it does not know, werift keeps its own code', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(path.join(os.tmpdir(), 'onecast-werift-'));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    const modules = (namedCurve: string, prf: string): void => {
      mkdirSync(path.join(root, 'lib/dtls/src/cipher'), { recursive: true });
      writeFileSync(path.join(root, 'lib/dtls/src/cipher/namedCurve.js'), namedCurve);
      writeFileSync(path.join(root, 'lib/dtls/src/cipher/prf.js'), prf);
    };

    it('another version: nothing is loaded or replaced', () => {
      writeFileSync(path.join(root, 'package.json'), JSON.stringify({ version: '0.25.0' }));
      modules('throw new Error("loaded")', 'throw new Error("loaded")');
      assert.equal(patchWerift(root), `werift (version 0.25.0, this replacement knows ${PATCHED_WERIFT_VERSION})`);
    });

    it('the known version with the functions elsewhere: nothing is replaced', () => {
      writeFileSync(path.join(root, 'package.json'), JSON.stringify({ version: PATCHED_WERIFT_VERSION }));
      modules('exports.generateKeyPair = () => "own";', 'exports.somethingElse = () => "own";');
      assert.match(patchWerift(root), /^werift \(generateKeyPair or prfPreMasterSecret is not where/);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      assert.equal((require(path.join(root, 'lib/dtls/src/cipher/namedCurve.js')) as { generateKeyPair: () => string }).generateKeyPair(), 'own');
    });

    it('no package at all', () => {
      assert.match(patchWerift(root), /^werift \(its package\.json is unreadable/);
    });
  });
});
