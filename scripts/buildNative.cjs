// Builds the native fan-out (src/engine/native/*.c) into build/fanout.node with the
// system C compiler, against the running Node's own headers (<prefix>/include/node, with
// OpenSSL's in include/node/openssl). The OpenSSL symbols are left undefined and resolve at
// load time to the ones Node itself exports, so nothing is linked in and nothing downloaded.
// It runs at `npm install`, where devDependencies may be absent: plain Node, no packages.
// Whatever fails, it says so in one line and exits 0: onecast then runs its JavaScript path.
//
//   node scripts/buildNative.cjs                build/fanout.node
//   node scripts/buildNative.cjs --sanitize     build/fanout.asan.node, with AddressSanitizer
//                                               and UndefinedBehaviorSanitizer (for the tests)
// CC names the compiler (default cc).
/* global __dirname */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const SOURCES = ['fanout.c', 'output.c', 'batch.c'].map((file) => path.join(ROOT, 'src', 'engine', 'native', file));
const HOW = 'install a C compiler (e.g. apt-get install gcc) and run npm run build:native';

function build(output, sanitize) {
  const include = path.join(path.dirname(process.execPath), '..', 'include', 'node');
  if (!fs.existsSync(path.join(include, 'node_api.h'))) {
    return { error: `this Node has no headers at ${include} (node_api.h)` };
  }
  if (!fs.existsSync(path.join(include, 'openssl', 'evp.h'))) {
    return { error: `this Node has no OpenSSL headers at ${path.join(include, 'openssl')}` };
  }
  const cc = process.env.CC || 'cc';
  const flags = sanitize ? ['-O1', '-g', '-fsanitize=address,undefined,float-cast-overflow', '-fno-omit-frame-pointer', '-fno-sanitize-recover=all'] : ['-O2'];
  // Node resolves the OpenSSL and N-API symbols when it loads the addon; macOS's linker has to be told.
  const link = process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : [];
  fs.mkdirSync(path.dirname(output), { recursive: true });
  // Written next to the target and renamed: a failed build never leaves half a file to load.
  const partial = `${output}.${process.pid}.tmp`;
  const args = [
    ...flags,
    '-std=gnu11',
    '-Wall',
    '-Wextra',
    '-fPIC',
    '-shared',
    '-fvisibility=hidden',
    // No fused multiply-add: the timestamp arithmetic must round as JavaScript's does.
    '-ffp-contract=off',
    // sendmmsg and struct mmsghdr are GNU extensions of glibc's headers.
    '-D_GNU_SOURCE',
    '-DNODE_GYP_MODULE_NAME=fanout',
    `-I${include}`,
    ...SOURCES,
    '-o',
    partial,
    ...link,
    '-lm',
  ];
  const run = spawnSync(cc, args, { encoding: 'utf8' });
  if (run.error !== undefined) {
    return { error: `the C compiler ${JSON.stringify(cc)} could not be run (${run.error.code ?? run.error.message})` };
  }
  if (run.status !== 0) {
    fs.rmSync(partial, { force: true });
    const first = (run.stderr || '').split('\n').find((line) => /error/i.test(line)) || `exit ${run.status ?? run.signal}`;
    return { error: `${cc} failed: ${first.trim()}` };
  }
  fs.renameSync(partial, output);
  return { output: path.relative(ROOT, output), warnings: (run.stderr || '').trim() };
}

const sanitize = process.argv.includes('--sanitize');
const output = path.join(ROOT, 'build', sanitize ? 'fanout.asan.node' : 'fanout.node');
let result;
try {
  result = build(output, sanitize);
} catch (error) {
  result = { error: error instanceof Error ? error.message : String(error) };
}
if (result.error !== undefined) {
  // An addon built from an older source must not be loaded in place of the one that failed.
  fs.rmSync(output, { force: true });
  console.log(`onecast: the native fan-out (fast path) was not built: ${result.error}; onecast will use its JavaScript path. To get it: ${HOW}.`);
} else {
  if (result.warnings) console.log(result.warnings);
  console.log(`onecast: built the native fan-out (fast path) into ${result.output}`);
}
// The sanitizer build is for the tests: there a failure must fail. Install never fails.
process.exit(sanitize && result.error !== undefined ? 1 : 0);
