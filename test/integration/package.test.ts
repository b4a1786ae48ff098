// onecast as an npm package: packed with `npm pack` (prepack builds it), installed from the
// tarball into a fresh project as a user installs it (no TypeScript sources, no dev
// dependencies, the native fan-out compiled by the install script), then run there by a
// plain CommonJS script through createServer, with its own listener and an authorize
// callback, while this process publishes to it and watches.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataChannelViewer } from '../clients/dcViewer';
import { loadMedia } from '../clients/media';
import { ObsLikePublisher, WhipRequestError, cleanupDataChannel } from '../clients/obsPublisher';
import { freePort } from '../support/process';
import { waitFor } from '../support/server';

const ROOT = path.join(__dirname, '..', '..');
/** What `npm pack` needs of the repository: the package, the sources it builds from. */
const PACKED_FROM = [
  'package.json',
  'package-lock.json',
  'README.md',
  'tsconfig.json',
  'tsconfig.build.json',
  'src',
  'scripts',
  'common',
  'home',
  'whip',
  'whep',
];

/** A CommonJS program as a user writes it: createServer, an authorize callback, each event one JSON line on stdout. */
const SERVER_PROGRAM = `
const { createServer } = require('onecast');
const [httpPort, udpPort, recordingsDir] = process.argv.slice(2);
const say = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
createServer({
  httpPort: Number(httpPort),
  udpPort: Number(udpPort),
  bind: '127.0.0.1',
  publicIps: ['127.0.0.1'],
  recordingsDir,
  log: 'info',
  // Each room has its own key; anyone may watch.
  authorize: async (action, room, token) => action === 'play' || (room !== undefined && token === 'key-' + room),
}).then((onecast) => {
  for (const event of ['publish', 'unpublish', 'viewer', 'recording']) onecast.on(event, (e) => say({ event, ...e }));
  say({ ready: true, httpPort: onecast.httpPort, udpPort: onecast.udpPort });
  process.on('SIGTERM', () => onecast.close().then(() => process.exit(0)));
});
`;

/** A TypeScript user of the shipped declarations: options, the callback and the events typed. */
const CONSUMER = `
import { createServer, ConfigError, type Onecast, type PublishEvent, type ViewerEvent } from 'onecast';

export async function start(): Promise<Onecast> {
  const onecast = await createServer({
    httpPort: 9000,
    publicIps: ['127.0.0.1'],
    record: true,
    recordingsMaxAgeMs: 86_400_000,
    log: 'warn',
    listen: false,
    authorize: (action, room, token, request) => (action === 'play' ? true : { allowed: false, status: 403, detail: \`\${room} \${token} \${request.ip}\` }),
  });
  onecast.on('publish', (e: PublishEvent) => console.log(e.room, e.sessionId, e.startedAt.toISOString()));
  onecast.once('viewer', (e: ViewerEvent) => console.log(e.viewers + e.joined - e.left));
  onecast.on('unpublish', (e) => console.log(e.reason, e.durationMs));
  const port: number | undefined = onecast.httpPort;
  console.log(port, onecast.udpPort, onecast.rooms().map((r) => r.room), ConfigError.name);
  // @ts-expect-error httpPort is a number
  await createServer({ httpPort: '9000' });
  // @ts-expect-error no such option
  await createServer({ httpPrt: 9000 });
  // @ts-expect-error no such event
  onecast.on('nothing', () => {});
  return onecast;
}
`;

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  assert.equal(result.status, 0, `${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout + result.stderr;
}

describe('the npm package', function () {
  this.timeout(60_000);
  let work: string;
  let project: string;
  let installed: string;
  let installOutput: string;
  let child: ChildProcess | undefined;
  let output = '';

  before(function () {
    this.timeout(180_000);
    work = mkdtempSync(path.join(os.tmpdir(), 'onecast-package-'));
    // Packed from a copy: prepack empties and rebuilds dist/, which this checkout's other tests serve pages from.
    const source = path.join(work, 'source');
    mkdirSync(source);
    for (const entry of PACKED_FROM) cpSync(path.join(ROOT, entry), path.join(source, entry), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(source, 'node_modules'));
    run('npm', ['pack', '--pack-destination', work], source);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball !== undefined, 'npm pack made a tarball');
    project = path.join(work, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'embeds-onecast', private: true }));
    // From npm's cache where it can: the test needs the package's own files, not fresh downloads.
    installOutput = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', path.join(work, tarball)], project);
    installed = path.join(project, 'node_modules', 'onecast');
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    cleanupDataChannel();
    rmSync(work, { recursive: true, force: true });
  });

  it('installs the built server, its declarations and pages, and compiles the native fan-out at install', () => {
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/main.js', 'dist/pages/index.html', 'dist/pages/whep/index.html', 'build/fanout.node']) {
      assert.ok(existsSync(path.join(installed, file)), `node_modules/onecast/${file}`);
    }
    assert.match(installOutput, /built the native fan-out \(fast path\)/);
    assert.equal(existsSync(path.join(installed, 'src', 'server.ts')), false, 'no TypeScript sources');
    assert.equal(existsSync(path.join(project, 'node_modules', 'tsx')), false, 'no dev dependencies');
    assert.ok(existsSync(path.join(project, 'node_modules', 'hls.js', 'dist', 'hls.min.js')), 'hls.js, which the pages play recordings with');
    assert.match(run(path.join(project, 'node_modules', '.bin', 'onecast'), ['--help'], project), /HTTP_PORT/);
    const esm = run(process.execPath, ['--input-type=module', '-e', "import { createServer } from 'onecast'; console.log(typeof createServer)"], project);
    assert.equal(esm.trim(), 'function');
  });

  it("serves a publisher and a viewer from a script's createServer, with its events", async () => {
    const [httpPort, udpPort] = [await freePort(), await freePort()];
    writeFileSync(path.join(project, 'server.cjs'), SERVER_PROGRAM);
    child = spawn(process.execPath, ['server.cjs', String(httpPort), String(udpPort), path.join(work, 'recordings')], {
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const lines = () =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor('the script to say it is ready', () => lines().find((l) => l['ready'] === true), 15_000);
    assert.match(output, /"fanout":"native"/, 'the fan-out built at install runs');
    const base = `http://127.0.0.1:${httpPort}`;
    for (const page of ['/', '/whip/', '/whep/', '/vendor/hls.min.js']) assert.equal((await fetch(`${base}${page}`)).status, 200, page);
    const media = await loadMedia();
    const publisher = await ObsLikePublisher.start({ endpoint: `${base}/whip/library`, token: 'key-library', media });
    try {
      await publisher.waitConnected(10_000);
      const viewer = await DataChannelViewer.start(`${base}/whep/library`);
      try {
        await waitFor('100 video packets at the viewer', () => (viewer.video().length >= 100 ? true : undefined), 15_000);
        await waitFor('the viewer event', () => lines().find((l) => l['event'] === 'viewer' && l['viewers'] === 1), 10_000);
      } finally {
        await viewer.stop();
      }
    } finally {
      await publisher.stop();
    }
    const published = lines().find((l) => l['event'] === 'publish');
    assert.equal(published?.['room'], 'library');
    const ended = await waitFor('the unpublish event', () => lines().find((l) => l['event'] === 'unpublish'), 10_000);
    assert.equal(ended['room'], 'library');
    assert.equal(ended['sessionId'], published?.['sessionId']);
  });

  it('refuses a publisher the authorize callback refuses: 403 with a token, 401 without', async () => {
    assert.ok(child !== undefined, 'the previous test started the server');
    const ready = output.split('\n').find((l) => l.includes('"ready":true'))!;
    const base = `http://127.0.0.1:${(JSON.parse(ready) as { httpPort: number }).httpPort}`;
    const media = await loadMedia();
    for (const [token, status] of [
      ['key-library', 403],
      [undefined, 401],
    ] as const) {
      const refused = await ObsLikePublisher.start({ endpoint: `${base}/whip/elsewhere`, ...(token !== undefined ? { token } : {}), media }).then(
        async (p) => {
          await p.stop();
          return undefined;
        },
        (error: unknown) => error,
      );
      assert.ok(refused instanceof WhipRequestError, `refused (token ${token ?? 'none'})`);
      assert.equal(refused.status, status, refused.body);
    }
  });

  it("its declarations type-check a TypeScript user's options, callback and events", () => {
    writeFileSync(path.join(project, 'consumer.ts'), CONSUMER);
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'node16',
        moduleResolution: 'node16',
        target: 'es2022',
        // The package's own declarations are checked too, not taken on trust.
        skipLibCheck: false,
        types: ['node'],
        // A TypeScript user has @types/node; this project borrows the repository's.
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      },
      files: ['consumer.ts'],
    };
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project], project);
  });
});
