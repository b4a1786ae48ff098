// mocha's spec output, plus one closing line in the plain "N passed, N failed" form that CI
// reads to know how many tests ran. Under scripts/testTiers.ts (which runs the tiers as many
// mocha processes and prints that line once for all of them), a run's counts and retried tests
// go to the file it names instead, and the run closes with a line of its own that CI does not read.
// A test retried (the e2e tier allows one retry: real browsers on a 2-core machine) is
// named with the error of its first attempt, at once and again at the end, so a retry
// never goes unseen.
import { appendFileSync } from 'node:fs';
import Mocha from 'mocha';
import { countsLine, TOTALS_FILE_ENV, type TierCounts } from './tierCounts';

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
    super(runner, options);
    const retried: string[] = [];
    runner.on(Mocha.Runner.constants.EVENT_TEST_RETRY, (test: Mocha.Test, error: Error) => {
      const line = `retried: ${test.fullTitle()}: ${String(error?.message ?? error).split('\n')[0]}`;
      retried.push(line);
      process.stdout.write(`      ${line}\n`);
    });
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      for (const line of retried) process.stdout.write(`\n${line}`);
      const s = runner.stats;
      if (s === undefined) return;
      const counts: TierCounts = { passes: s.passes, failures: s.failures, pending: s.pending, retried };
      const totalsFile = process.env[TOTALS_FILE_ENV];
      if (totalsFile === undefined || totalsFile === '') {
        process.stdout.write(`\n${countsLine('tests', counts)}\n`);
        return;
      }
      appendFileSync(totalsFile, `${JSON.stringify(counts)}\n`);
      process.stdout.write(`\n${countsLine('run', counts)}\n`);
    });
  }
}

export = SummaryReporter;
