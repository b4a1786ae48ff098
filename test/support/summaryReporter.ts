// mocha's spec output, plus one closing line in the plain "N passed, N failed"
// form that CI reads to know how many tests ran.
import Mocha from 'mocha';

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats;
      if (s === undefined) return;
      const pending = s.pending > 0 ? `, ${s.pending} skipped` : '';
      process.stdout.write(`\ntests: ${s.passes} passed, ${s.failures} failed${pending}\n`);
    });
  }
}

export = SummaryReporter;
