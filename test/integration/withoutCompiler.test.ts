// A machine without a C compiler: npm install still succeeds (the native fan-out's build says
// in one line why it was not built and how to get it, and exits 0), and onecast streams on
// its JavaScript path, saying so at start-up. Run on a copy of the sources, so that this
// checkout's own build/fanout.node stays where it is.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MediaPublisher, MediaViewer } from '../clients/liteMedia';
import { freePort, spawnServer, type ServerProcess } from '../support/process';
import { waitFor } from '../support/server';

const ROOT = path.join(__dirname, '..', '..');

describe('without a C compiler', function () {
  this.timeout(60_000);
  let copy: string;
  let server: ServerProcess | undefined;

  before(() => {
    copy = mkdtempSync(path.join(os.tmpdir(), 'onecast-nocc-'));
    for (const entry of ['package.json', 'tsconfig.json', 'scripts', 'src']) cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  });

  after(async () => {
    await server?.stop();
    rmSync(copy, { recursive: true, force: true });
  });

  it("installs: the addon's build says in one line why there is no fast path and how to get it, and exits 0", () => {
    const build = spawnSync(process.execPath, [path.join(copy, 'scripts', 'buildNative.cjs')], {
      cwd: copy,
      encoding: 'utf8',
      env: { ...process.env, CC: '/bin/false' },
    });
    assert.equal(build.status, 0, build.stdout + build.stderr);
    const lines = build.stdout.trim().split('\n');
    assert.equal(lines.length, 1, build.stdout);
    assert.match(lines[0]!, /native fan-out \(fast path\) was not built: .*\/bin\/false.*JavaScript path.*install a C compiler/);
    assert.equal(existsSync(path.join(copy, 'build', 'fanout.node')), false);
  });

  it('streams on the JavaScript path and says so at start-up', async () => {
    const [httpPort, udpPort] = [await freePort(), await freePort()];
    server = await spawnServer(
      { HTTP_PORT: String(httpPort), UDP_PORT: String(udpPort), BIND: '127.0.0.1', PUBLIC_IPS: '127.0.0.1', FANOUT: 'auto', LOG_LEVEL: 'info' },
      [],
      undefined,
      copy,
    );
    assert.match(server.output(), /fan-out: JavaScript, as the native addon cannot be used: .*fanout\.node is not built/);
    assert.match(server.output(), /"fanout":"js"/);
    const base = `http://127.0.0.1:${httpPort}`;
    const publisher = await MediaPublisher.connect(`${base}/whip/nocc`);
    publisher.start();
    const viewer = await MediaViewer.connect(`${base}/whep/nocc`);
    try {
      await waitFor('100 video packets at the viewer', () => (viewer.of('video').length >= 100 ? true : undefined), 20_000);
      assert.equal(viewer.decryptFailures, 0);
    } finally {
      publisher.stop();
      await Promise.all([viewer.close(), publisher.close()]);
    }
  });
});
