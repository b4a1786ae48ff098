// The native fan-out's tests (byte identity, keyframe gate, fuzz, wire: live fan-out, NACK
// resend, keyframe group, refused and full sends) once more, with the addon built with
// AddressSanitizer and UndefinedBehaviorSanitizer, in a child Node that has the sanitizer
// runtimes preloaded. Any report (an out-of-bounds read, a use after free, undefined
// behaviour) fails the test, as does a failing test in the child.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const SANITIZED = path.join(ROOT, 'build', 'fanout.asan.node');
const TESTS = ['test/unit/nativeFanout.test.ts', 'test/integration/nativeFanoutWire.test.ts'];
const REPORT = /AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|runtime error:/;

/** The compiler's copy of a runtime library, or undefined when it has none. */
function runtime(cc: string, name: string): string | undefined {
  const found = spawnSync(cc, [`-print-file-name=${name}`], { encoding: 'utf8' }).stdout?.trim();
  return found !== undefined && path.isAbsolute(found) && existsSync(found) ? found : undefined;
}

describe('native fan-out under AddressSanitizer and UndefinedBehaviorSanitizer', () => {
  it('its tests pass with the sanitized addon, and the sanitizers report nothing', function () {
    this.timeout(240_000);
    const cc = process.env.CC || 'cc';
    const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'buildNative.cjs'), '--sanitize'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(build.status, 0, `the sanitized build failed: ${build.stdout}${build.stderr}`);
    assert.ok(existsSync(SANITIZED), `${SANITIZED} was not built`);
    const asan = runtime(cc, 'libasan.so');
    const ubsan = runtime(cc, 'libubsan.so');
    assert.ok(asan !== undefined && ubsan !== undefined, `${cc} has no libasan.so or libubsan.so to preload (install the compiler's sanitizer runtimes)`);
    const run = spawnSync(
      process.execPath,
      [require.resolve('mocha/bin/mocha.js'), '-r', 'tsx/cjs', '--reporter', 'dot', '--timeout', '120000', '--exit', ...TESTS],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 220_000,
        env: {
          ...process.env,
          FANOUT_ADDON_FILE: SANITIZED,
          LD_PRELOAD: `${asan} ${ubsan}`,
          // Node itself is not instrumented: its own allocations at exit are not the addon's leaks.
          ASAN_OPTIONS: 'detect_leaks=0',
          UBSAN_OPTIONS: 'print_stacktrace=1',
        },
      },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    const report = REPORT.exec(output);
    assert.equal(report, null, `a sanitizer report:\n${output.slice(Math.max(0, (report?.index ?? 0) - 200), (report?.index ?? 0) + 3000)}`);
    assert.equal(run.status, 0, `the native tests failed under the sanitizers (exit ${run.status ?? run.signal}):\n${output.slice(-4000)}`);
    assert.match(run.stdout, /passing/, 'the child ran the tests');
    assert.doesNotMatch(run.stdout, /pending/, 'no test was skipped');
  });
});
