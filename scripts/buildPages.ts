// Builds the browser pages (whip/, whep/, home/ and the common/ code they share) into
// dist/pages/, which onecast serves: TypeScript and CSS bundled by esbuild, HTML copied.
// Run by `npm install` (prepare), `npm run build` (and so `npm start`) and `npm test`.
// `--watch` rebuilds on every change while you work on a page.
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { build, context, type BuildOptions } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');
const PAGES_OUT = path.join(ROOT, 'dist', 'pages');

/** Each page's HTML, script and style, written to the same path under dist/pages (home/'s at its root: the home page is `/`). */
const SOURCES = [
  'home/index.html',
  'home/home.ts',
  'home/home.css',
  'whip/index.html',
  'whip/publisher.ts',
  'whip/publisher.css',
  'whep/index.html',
  'whep/player.ts',
  'whep/player.css',
];

const options: BuildOptions = {
  absWorkingDir: ROOT,
  entryPoints: SOURCES.map((source) => ({ in: source, out: source.replace(/\.\w+$/, '').replace(/^home\//, '') })),
  outdir: PAGES_OUT,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Browsers with RTCRtpTransceiver.setCodecPreferences and EventSource: all current ones.
  target: ['chrome111', 'firefox115', 'safari16.4'],
  loader: { '.html': 'copy' },
  sourcemap: true,
  minify: true,
  logLevel: 'info',
};

async function main(): Promise<void> {
  await rm(PAGES_OUT, { recursive: true, force: true });
  if (process.argv.includes('--watch')) {
    await (await context(options)).watch();
  } else {
    await build(options);
  }
}

main().catch(() => {
  // esbuild has already printed what failed, with file and line.
  process.exitCode = 1;
});
