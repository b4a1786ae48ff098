// `npm test`'s test step: the unit, integration and e2e tiers one after another, each in its
// own mocha process with its own config (test/<tier>/.mocharc.json), every tier run even when
// an earlier one failed, then one closing "tests: N passed, N failed" line for all of them
// (the line CI reads) and how long each tier took. Exits non-zero when any tier failed.
// The tiers run on the native fan-out (a missing addon fails them, never silently testing
// JavaScript twice); then the fan-out, NACK, keyframe, Sender Report, publisher-change and
// fuzz tests run again on the JavaScript path (test/jsFanout.mocharc.json).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { countsLine, TOTALS_FILE_ENV, type TierCounts } from '../test/support/tierCounts';

const ROOT = path.join(__dirname, '..');
const TIERS = [
  { name: 'unit', config: 'test/unit/.mocharc.json', fanout: 'native' },
  { name: 'integration', config: 'test/integration/.mocharc.json', fanout: 'native' },
  { name: 'e2e', config: 'test/e2e/.mocharc.json', fanout: 'native' },
  { name: 'fan-out on js', config: 'test/jsFanout.mocharc.json', fanout: 'js' },
] as const;

const dir = mkdtempSync(path.join(os.tmpdir(), 'onecast-tiers-'));
const totals: TierCounts = { passes: 0, failures: 0, pending: 0 };
const timings: string[] = [];
let failed = false;
try {
  for (const tier of TIERS) {
    const file = path.join(dir, `${tier.name.replace(/\W/g, '-')}.jsonl`);
    const started = Date.now();
    const run = spawnSync(process.execPath, [require.resolve('mocha/bin/mocha.js'), '--config', tier.config], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, FANOUT: process.env['FANOUT'] ?? tier.fanout, [TOTALS_FILE_ENV]: file },
    });
    const seconds = Math.round((Date.now() - started) / 1000);
    let counts: TierCounts | undefined;
    try {
      counts = JSON.parse(readFileSync(file, 'utf8').trim()) as TierCounts;
    } catch {
      counts = undefined; // mocha stopped before its reporter's end (a load error): the exit code says so
    }
    if (counts !== undefined) {
      totals.passes += counts.passes;
      totals.failures += counts.failures;
      totals.pending += counts.pending;
    } else {
      totals.failures += 1; // a tier that could not run must not leave the line at "0 failed"
    }
    if (run.status !== 0 || counts === undefined) failed = true;
    timings.push(`${tier.name} ${seconds} s${counts === undefined ? ` (exit ${run.status ?? run.signal})` : ''}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`\ntiers: ${timings.join(', ')}\n${countsLine('tests', totals)}\n`);
process.exit(failed ? 1 : 0);
