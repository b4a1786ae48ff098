// createServer in an application's process: its handler mounted on the application's own
// express app at the root (what onecast has no route for goes on to the application), a
// mount under a prefix refused at once, its own listener answering the rest with a 404
// problem, and the rooms read-out.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { createServer, type Onecast } from '../../src/index';
import { loadMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { freePort } from '../support/process';
import { waitFor } from '../support/server';

describe('createServer in an application', function () {
  this.timeout(30_000);
  let recordingsDir: string;

  before(() => {
    recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'onecast-library-'));
  });

  after(() => {
    cleanupDataChannel();
    rmSync(recordingsDir, { recursive: true, force: true });
  });

  async function start(listen: boolean): Promise<Onecast> {
    return createServer({
      httpPort: await freePort(),
      udpPort: await freePort(),
      bind: '127.0.0.1',
      publicIps: ['127.0.0.1'],
      recordingsDir,
      log: 'silent',
      listen,
    });
  }

  it("mounted at the root of the application's express app, leaves what it does not serve to the application", async () => {
    const onecast = await start(false);
    const app = express();
    app.use(onecast.handler);
    app.get('/hello', (_req, res) => {
      res.send('from the application');
    });
    const server: http.Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      assert.equal(onecast.httpPort, undefined, 'no listener of its own');
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const hello = await fetch(`${base}/hello`);
      assert.equal(await hello.text(), 'from the application');
      const rooms = await fetch(`${base}/api/rooms`);
      assert.equal(rooms.status, 200);
      assert.deepEqual(await rooms.json(), []);

      const publisher = await ObsLikePublisher.start({ endpoint: `${base}/whip/mounted`, media: await loadMedia() });
      try {
        assert.match(publisher.resourceUrl, new RegExp(`^${base}/whip/mounted/`));
        await publisher.waitConnected(10_000);
        const state = await waitFor('the room live', () => onecast.rooms().find((r) => r.room === 'mounted' && r.live), 10_000);
        assert.deepEqual(state, { room: 'mounted', live: true, viewers: 0 });
      } finally {
        await publisher.stop();
      }
    } finally {
      server.close();
      await onecast.close();
    }
  });

  it('refuses to be mounted under a prefix, where its absolute links would point outside it', async () => {
    const onecast = await start(false);
    try {
      assert.throws(() => express().use('/live', onecast.handler), /must be mounted at the root \(app\.use\(handler\)\), not at \/live/);
    } finally {
      await onecast.close();
    }
  });

  it('with its own listener, answers what it has no route for with a 404 problem', async () => {
    const onecast = await start(true);
    try {
      assert.equal(typeof onecast.httpPort, 'number');
      const res = await fetch(`http://127.0.0.1:${onecast.httpPort}/nothing-here`);
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    } finally {
      await onecast.close();
    }
  });
});
