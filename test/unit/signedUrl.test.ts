// Signed URLs (src/http/signedUrl.ts): what a signature covers, for how long, and
// that nothing else passes for one.
import assert from 'node:assert/strict';
import { SIGNED_URL_TTL_SECONDS, UrlSigner, withoutSignature } from '../../src/http/signedUrl';

describe('signed URLs', () => {
  const signer = new UrlSigner();
  const now = Date.parse('2026-12-03T12:00:00Z');
  const pathOf = (url: string) => {
    const verified = signer.verify(url, now);
    return verified !== undefined && 'path' in verified ? verified.path : verified;
  };

  it('a folder signature covers the files below it, and nothing beside or above it', () => {
    const { url, expiresAt } = signer.sign('/recordings/demo/rec1/', SIGNED_URL_TTL_SECONDS, now);
    assert.equal(expiresAt.getTime(), now + SIGNED_URL_TTL_SECONDS * 1000);
    assert.equal(pathOf(`${url}index.m3u8`), '/recordings/demo/rec1/index.m3u8');
    assert.equal(pathOf(`${url}seg_00003.ts`), '/recordings/demo/rec1/seg_00003.ts');
    const prefix = url.slice(0, url.indexOf('/recordings/'));
    assert.deepEqual(pathOf(`${prefix}/recordings/demo/rec2/index.m3u8`), { refused: 'invalid' }, 'another recording');
    assert.deepEqual(pathOf(`${prefix}/recordings/demo/rec1.mp4`), { refused: 'invalid' }, 'beside the folder');
    assert.deepEqual(pathOf(`${prefix}/recordings/demo/`), { refused: 'invalid' }, 'above the folder');
    assert.deepEqual(pathOf(`${url}../rec2/index.m3u8`), { refused: 'invalid' }, 'climbing out with a dot segment');
    assert.deepEqual(pathOf(`${url}%2e%2e/rec2/index.m3u8`), { refused: 'invalid' }, 'percent-encoded');
  });

  it('an exact signature covers that path only', () => {
    const { url } = signer.sign('/recordings/demo/rec1.mp4', SIGNED_URL_TTL_SECONDS, now);
    assert.equal(pathOf(url), '/recordings/demo/rec1.mp4');
    assert.deepEqual(pathOf(`${url}x`), { refused: 'invalid' });
    assert.deepEqual(pathOf(`${url}/x`), { refused: 'invalid' });
  });

  it("refuses an expired URL, a changed expiry or signature, and another server's URL", () => {
    const { url } = signer.sign('/recordings/demo/rec1.mp4', 60, now);
    assert.deepEqual(signer.verify(url, now + 61_000), { refused: 'expired' });
    const [, , expiry, signature] = url.split('/');
    assert.deepEqual(pathOf(url.replace(`/${expiry}/`, `/${Number(expiry) + 3600}/`)), { refused: 'invalid' }, 'a later expiry');
    const flipped = (signature!.startsWith('A') ? 'B' : 'A') + signature!.slice(1);
    assert.deepEqual(pathOf(url.replace(signature!, flipped)), { refused: 'invalid' });
    assert.deepEqual(new UrlSigner().verify(url, now), { refused: 'invalid' }, 'each server start has its own secret');
    assert.deepEqual(pathOf('/signed/garbage'), { refused: 'invalid' });
    assert.equal(pathOf('/recordings/demo/rec1.mp4'), undefined, 'not a signed path');
  });

  it('keeps the signature out of log lines', () => {
    const { url } = signer.sign('/recordings/demo/rec1.mp4', 60, now);
    const logged = withoutSignature(url);
    assert.ok(!logged.includes(url.split('/')[3]!));
    assert.match(logged, /^\/signed\/\d+\/…\/recordings\/demo\/rec1\.mp4$/);
  });
});
