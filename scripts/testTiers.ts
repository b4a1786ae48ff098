// `npm test`'s test step: the unit, integration and e2e tiers as mocha processes, each with its
// tier's config (test/<tier>/.mocharc.json). First the unit tier, in one process and alone (seconds
// of CPU-bound work under 10 s timeouts). Most of the integration and e2e tiers' time is real media
// time and waiting, not CPU (the e2e tier ran at 40 % of one core), so then, side by side, LANES at
// a time, the largest first: the integration files in one process, and each e2e file in its own;
// each process's output is printed whole when it ends. The files that measure rates and delays or
// load the CPU themselves (RUN_ALONE) run last, one after another with nothing beside them, so that
// their figures are not another test's load. Every file runs even when another failed; one closing
// "tests: N passed, N failed" line for all of them (the line CI reads) follows the retried tests,
// named again. Exits non-zero when any run failed. Everything runs on the native fan-out
// (FANOUT=native: a missing addon fails, never silently testing JavaScript twice); the fan-out,
// NACK, keyframe, Sender Report, publisher-change and fuzz files (ON_BOTH_PATHS) run once more,
// in the same phases, on the JavaScript path.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { countsLine, TOTALS_FILE_ENV, type TierCounts } from '../test/support/tierCounts';

const ROOT = path.join(__dirname, '..');
/**
 * Mocha processes at once in the side-by-side phase: TEST_LANES, or 2. With 3, on the 2-core VM at a
 * load average of 10 from other work, servers took over 15 s to start and 9 tests failed; with 2, 2.
 */
const LANES = Number(process.env['TEST_LANES'] ?? 2);
/**
 * Files whose assertions are rates, ratios or delays (bandwidth, attack/victim packet rates, event-loop
 * lateness), or that load the CPU themselves with hundreds of handshakes (scale, shutdown: its 50
 * sessions' handshakes timed out twice beside another file at a load average of 10-13).
 */
const RUN_ALONE = [
  'test/integration/fanout.test.ts',
  'test/integration/fanoutReports.test.ts',
  'test/integration/liteClient.test.ts',
  'test/integration/whipObs.test.ts',
  'test/e2e/dtlsFlood.test.ts',
  'test/e2e/fuzz.test.ts',
  'test/e2e/scale.test.ts',
  'test/e2e/shutdown.test.ts',
  'test/e2e/whepChromium.test.ts',
  'test/e2e/whipBandwidth.test.ts',
];

/** Files that run on both fan-out paths. */
const ON_BOTH_PATHS = [
  'test/integration/badInput.test.ts',
  'test/integration/fanout.test.ts',
  'test/integration/fanoutReports.test.ts',
  'test/integration/reconnect.test.ts',
  'test/integration/relay.test.ts',
  'test/integration/whepDatachannel.test.ts',
  'test/e2e/fuzz.test.ts',
];

interface Job {
  name: string;
  tier: 'unit' | 'integration' | 'e2e';
  /** The files of the tier this process runs (all of them when not given). */
  files?: string[];
  /** FANOUT for its servers (unless the environment names one). */
  fanout: 'native' | 'js';
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'onecast-tiers-'));
const totals: TierCounts = { passes: 0, failures: 0, pending: 0 };
const retried: string[] = [];
let failed = false;

/** The tier's config without its spec list, so that a process runs only the files it is given. */
function configOf(tier: Job['tier']): string {
  const file = path.join(dir, `${tier}.mocharc.json`);
  if (!existsSync(file)) {
    const { spec: _spec, ...config } = JSON.parse(readFileSync(path.join(ROOT, 'test', tier, '.mocharc.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify(config));
  }
  return file;
}

let runs = 0;

function runJob(job: Job): Promise<void> {
  const totalsFile = path.join(dir, `${runs++}.jsonl`);
  const args = job.files === undefined ? ['--config', path.join('test', job.tier, '.mocharc.json')] : ['--config', configOf(job.tier), ...job.files];
  if (process.stdout.isTTY) args.push('--color');
  const started = Date.now();
  const child = spawn(process.execPath, [require.resolve('mocha/bin/mocha.js'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FANOUT: process.env['FANOUT'] ?? job.fanout, [TOTALS_FILE_ENV]: totalsFile },
  });
  const output: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => output.push(d));
  child.stderr.on('data', (d: Buffer) => output.push(d));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      const took = (Date.now() - started) / 1000;
      let counts: TierCounts | undefined;
      try {
        counts = JSON.parse(readFileSync(totalsFile, 'utf8').trim()) as TierCounts;
      } catch {
        counts = undefined; // mocha stopped before its reporter's end (a load error): the exit code says so
      }
      if (counts !== undefined) {
        totals.passes += counts.passes;
        totals.failures += counts.failures;
        totals.pending += counts.pending;
        retried.push(...(counts.retried ?? []));
      } else {
        totals.failures += 1; // a file that could not run must not leave the line at "0 failed"
      }
      if (code !== 0 || counts === undefined) failed = true;
      const exit = counts === undefined ? ` (exit ${code ?? signal})` : '';
      process.stdout.write(`\n── ${job.name}: ${took.toFixed(0)} s${exit}\n${Buffer.concat(output).toString()}`);
      resolve();
    });
  });
}

/** Runs the jobs, `lanes` at a time, in the order given. */
async function runAll(jobs: Job[], lanes: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) await runJob(jobs[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, jobs.length) }, lane));
}

function filesOf(tier: Job['tier']): string[] {
  const folder = path.join('test', tier);
  return readdirSync(path.join(ROOT, folder))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => `${folder}/${f}`);
}

const fileJob = (tier: Job['tier'], file: string): Job => ({ name: file, tier, files: [file], fanout: 'native' });

/** The same runs on the JavaScript path, for the files of ON_BOTH_PATHS among them. */
function onJavaScript(jobs: Job[]): Job[] {
  return jobs.flatMap((job) => {
    const files = job.files!.filter((f) => ON_BOTH_PATHS.includes(f));
    return files.length === 0 ? [] : [{ name: `${files.join(', ')} (FANOUT=js)`, tier: job.tier, files, fanout: 'js' as const }];
  });
}

async function main(): Promise<void> {
  const integration = filesOf('integration');
  const e2e = filesOf('e2e');
  const unknown = [...RUN_ALONE, ...ON_BOTH_PATHS].filter((f) => !integration.includes(f) && !e2e.includes(f));
  if (unknown.length > 0) throw new Error(`RUN_ALONE or ON_BOTH_PATHS names files that do not exist: ${unknown.join(', ')}`);
  const beside = (f: string): boolean => !RUN_ALONE.includes(f);
  // The integration files, seconds each, share one process: a process's start (tsx, werift,
  // playwright) cost ~6 s of a lane on a busy machine, as much as many of them take.
  // The longest first, so that no long one starts last; a file's size foretells its time well
  // enough (simulated on measured times: 191 s for the phase, against 189 s in the measured order).
  const size = (job: Job): number => job.files!.reduce((sum, f) => sum + statSync(path.join(ROOT, f)).size, 0);
  const nativeBeside: Job[] = [
    { name: 'test/integration (all but the files run alone)', tier: 'integration', files: integration.filter(beside), fanout: 'native' },
    ...e2e.filter(beside).map((f) => fileJob('e2e', f)),
  ];
  const sideBySide = [...nativeBeside, ...onJavaScript(nativeBeside)].sort((a, b) => size(b) - size(a));
  // One after another in any case: one process per tier saves the starts.
  const nativeAlone: Job[] = [
    { name: 'test/integration (the files run alone)', tier: 'integration', files: integration.filter((f) => !beside(f)), fanout: 'native' },
    { name: 'test/e2e (the files run alone)', tier: 'e2e', files: e2e.filter((f) => !beside(f)), fanout: 'native' },
  ];
  const alone = [...nativeAlone, ...onJavaScript(nativeAlone)];
  const tUnit = Date.now();
  await runAll([{ name: 'test/unit', tier: 'unit', fanout: 'native' }], 1);
  const t0 = Date.now();
  await runAll(sideBySide, LANES);
  const t1 = Date.now();
  await runAll(alone, 1);
  const t2 = Date.now();
  for (const line of retried) process.stdout.write(`\n${line}`);
  const phases = `unit ${Math.round((t0 - tUnit) / 1000)} s, side by side (${LANES} at once) ${Math.round((t1 - t0) / 1000)} s, alone ${Math.round((t2 - t1) / 1000)} s`;
  process.stdout.write(`\n\ntest files: ${phases}\n${countsLine('tests', totals)}\n`);
}

main()
  .catch((error: unknown) => {
    failed = true;
    process.stderr.write(`${String(error)}\n`);
  })
  .finally(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(failed ? 1 : 0);
  });
