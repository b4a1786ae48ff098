// examples/embed: an express application embedding onecast at its root and issuing JWTs to
// its users. Run as its own process, as its header says to run it: a user logs in,
// publishes to the room the token grants and is refused in another, another user watches,
// and the application's own routes and onecast's pages answer side by side.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { EVENTS_REL } from '../../src/http/events';
import { DataChannelViewer } from '../clients/dcViewer';
import { loadMedia } from '../clients/media';
import { ObsLikePublisher, WhipRequestError, cleanupDataChannel } from '../clients/obsPublisher';
import { parseLinks } from '../support/http';
import { freePort } from '../support/process';
import { waitFor } from '../support/server';

const ROOT = path.join(__dirname, '..', '..');

describe('the embedding example (examples/embed)', function () {
  this.timeout(60_000);
  let app: ChildProcess;
  let output = '';
  let base: string;

  before(async () => {
    const [port, udpPort] = [await freePort(), await freePort()];
    app = spawn(process.execPath, ['--import', 'tsx', path.join('examples', 'embed', 'server.ts')], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), UDP_PORT: String(udpPort), PUBLIC_IPS: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    app.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor('the application to listen', () => (output.includes('listening on') ? true : undefined), 20_000);
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    if (app.exitCode === null) {
      app.kill('SIGTERM');
      await new Promise((resolve) => app.once('exit', resolve));
    }
    cleanupDataChannel();
  });

  async function login(user: string): Promise<string> {
    const res = await fetch(`${base}/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user }) });
    assert.equal(res.status, 200);
    return ((await res.json()) as { token: string }).token;
  }

  it("serves the application's routes and onecast's pages from one port", async () => {
    const bad = await fetch(`${base}/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"user":"no spaces"}' });
    assert.equal(bad.status, 400);
    const home = await fetch(`${base}/`);
    assert.equal(home.status, 200);
    assert.match(await home.text(), /<html/i);
    const player = await fetch(`${base}/whep/`);
    assert.equal(player.status, 200);
    const hls = await fetch(`${base}/vendor/hls.min.js`);
    assert.equal(hls.status, 200, 'hls.js, for recorded playback');
  });

  it('lets a user publish to their own room with their token, refuses them another, and lets another user watch', async () => {
    const media = await loadMedia();
    const alice = await login('alice');
    const publisher = await ObsLikePublisher.start({ endpoint: `${base}/whip/alice`, token: alice, media });
    try {
      assert.match(publisher.resourceUrl, new RegExp(`^${base}/whip/alice/`), 'the Location names the resource under the root mount');
      await publisher.waitConnected(10_000);
      const refused = await ObsLikePublisher.start({ endpoint: `${base}/whip/bob`, token: alice, media }).then(
        async (p) => {
          await p.stop();
          return undefined;
        },
        (error: unknown) => error,
      );
      assert.ok(refused instanceof WhipRequestError, "alice's token is refused in bob's room");
      assert.equal(refused.status, 403, refused.body);

      const carol = await login('carol');
      const viewer = await DataChannelViewer.start(`${base}/whep/alice`, carol);
      try {
        await waitFor('100 video packets at the viewer', () => (viewer.video().length >= 100 ? true : undefined), 15_000);
        // The WHEP events extension's link leads to onecast through the mount too.
        const link = parseLinks(viewer.headers.get('link') ?? undefined).find((l) => l.params['rel'] === EVENTS_REL);
        assert.ok(link, 'the WHEP 201 announces the events extension');
        const events = await fetch(new URL(link.target, base), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${carol}` },
          body: JSON.stringify(['active', 'viewercount']),
        });
        assert.equal(events.status, 201, await events.text());
      } finally {
        assert.equal(await viewer.stop(), 200);
      }
    } finally {
      await publisher.stop();
    }
    await waitFor('the application to hear the publish end', () => (output.includes('alice ended') ? true : undefined), 10_000);
    assert.match(output, /alice is live/);
  });
});
