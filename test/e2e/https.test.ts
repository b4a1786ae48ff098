// HTTPS with TLS_CERT and TLS_KEY: a certificate made by openssl for this run, trusted
// by the test's own HTTP client (the certificate is checked, not waved through), a WHIP
// publish over it, the whip/ page publishing from Chromium over it, and the start-up
// errors an operator meets with a wrong pair of files.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import type { RoomSummary } from '../../src/http/roomSummary';
import { launchChromium } from '../support/browser';
import { loadMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { runServerToExit } from '../support/process';
import { startServer, waitFor, type TestServer } from '../support/server';

/** A self-signed certificate for 127.0.0.1 (and its key), written to `dir` by openssl. */
function makeCertificate(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=onecast test',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  return { cert, key };
}

/** A fetch for https that trusts `ca` (and nothing else): node's fetch takes no CA of its own. */
function fetchTrusting(ca: Buffer): typeof fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const headers = new Headers(init?.headers);
      const req = https.request(String(input), { method: init?.method ?? 'GET', headers: Object.fromEntries(headers), ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = chunks.length === 0 || res.statusCode === 204 ? null : Buffer.concat(chunks);
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) out.set(name, Array.isArray(value) ? value.join(', ') : value);
          resolve(new Response(body, { status: res.statusCode!, headers: out }));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (typeof init?.body === 'string') req.write(init.body);
      req.end();
    });
}

describe('HTTPS (TLS_CERT and TLS_KEY)', function () {
  this.timeout(90_000);
  let dir: string;
  let files: { cert: string; key: string };
  let server: TestServer;
  let trusted: typeof fetch;

  const room = async (name: string): Promise<RoomSummary | undefined> =>
    ((await (await trusted(`${server.url}/api/rooms`)).json()) as RoomSummary[]).find((r) => r.room === name);

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'onecast-tls-'));
    files = makeCertificate(dir, 'server');
    trusted = fetchTrusting(readFileSync(files.cert));
    server = await startServer({ TLS_CERT: files.cert, TLS_KEY: files.key });
  });

  after(async () => {
    await server?.close();
    cleanupDataChannel();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the API over HTTPS with the configured certificate, and no plain HTTP on that port', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await trusted(`${server.url}/api/rooms`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), []);
    // Node's own fetch trusts only the public CAs: it must refuse this certificate.
    await assert.rejects(fetch(`${server.url}/api/rooms`), 'an untrusted certificate is refused');
    await assert.rejects(fetch(server.url.replace('https:', 'http:') + '/api/rooms'), 'plain HTTP gets no answer');
  });

  it('takes a WHIP publish over HTTPS (OBS-like publisher), and its DELETE', async () => {
    const publisher = await ObsLikePublisher.start({ endpoint: `${server.url}/whip/secure`, media: await loadMedia(), stripCandidates: true, fetch: trusted });
    try {
      assert.match(publisher.resourceUrl, /^https:\/\/127\.0\.0\.1:\d+\/whip\/secure\/[0-9a-f]{32}$/);
      await publisher.waitConnected(10_000);
      const summary = await waitFor(
        'video keyframes in room "secure"',
        async () => {
          const r = await room('secure');
          return r?.live && (r.video?.keyframes ?? 0) >= 1 ? r : undefined;
        },
        15_000,
      );
      assert.equal(summary.video?.codec, 'H264');
    } finally {
      assert.equal(await publisher.stop(), 200, 'DELETE over HTTPS');
    }
    await waitFor('room "secure" gone', async () => ((await room('secure')) === undefined ? true : undefined), 5_000);
  });

  it('lets Chromium load the whip/ page over HTTPS and publish its camera from it', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      // The test certificate is not in Chromium's store: accept it for this page only.
      const page = await browser.newPage({ ignoreHTTPSErrors: true });
      const response = await page.goto(`${server.url}/whip/?room=secure-page`);
      assert.equal(response?.status(), 200);
      assert.equal(await page.evaluate(() => location.protocol + ' ' + String(window.isSecureContext)), 'https: true');
      await page.fill('#room', 'secure-page');
      await page.click('#start');
      await page.waitForFunction(() => document.body.dataset['state'] === 'connected', undefined, { timeout: 15_000 });
      const summary = await waitFor(
        'video frames from the page',
        async () => {
          const r = await room('secure-page');
          return r?.video && r.video.frames >= 10 ? r : undefined;
        },
        15_000,
      );
      console.log(`      over HTTPS: ${summary.video!.frames} ${summary.video!.codec} frames from Chromium's camera`);
      await page.click('#stop');
      await waitFor('room "secure-page" gone', async () => ((await room('secure-page')) === undefined ? true : undefined), 5_000);
    } finally {
      await browser?.close();
    }
  });

  describe('start-up errors, one line each (exit status 2)', () => {
    const run = async (env: Record<string, string>) => {
      const { code, output } = await runServerToExit({ HTTP_PORT: '1', UDP_PORT: '1', ...env });
      return { code, line: output.trim() };
    };

    it('TLS_CERT without TLS_KEY', async () => {
      assert.deepEqual(await run({ TLS_CERT: files.cert }), {
        code: 2,
        line: 'onecast: TLS_CERT and TLS_KEY must be set together for HTTPS; only TLS_CERT is set',
      });
    });

    it('a file that cannot be read', async () => {
      const missing = path.join(dir, 'missing.key');
      assert.deepEqual(await run({ TLS_CERT: files.cert, TLS_KEY: missing }), { code: 2, line: `onecast: TLS_KEY: cannot read "${missing}": no such file` });
    });

    it("a key that is not the certificate's", async () => {
      const other = makeCertificate(dir, 'other');
      const { code, line } = await run({ TLS_CERT: files.cert, TLS_KEY: other.key });
      assert.equal(code, 2);
      assert.match(line, /^onecast: TLS_CERT and TLS_KEY are not a PEM certificate and its private key \(.*key values mismatch.*\)$/);
    });
  });
});
