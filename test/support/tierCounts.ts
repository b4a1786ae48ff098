// The counts a mocha run reports, and the one line CI reads them from. Shared by the mocha
// reporter (one run: a tier or one of its files) and scripts/testTiers.ts (all of them, as
// `npm test` runs them).

/** Set by scripts/testTiers.ts: the file each run appends its counts to, one JSON line. */
export const TOTALS_FILE_ENV = 'ONECAST_TEST_TOTALS';

export interface TierCounts {
  passes: number;
  failures: number;
  pending: number;
  /** "retried: <test>: <first error>" for each test that passed or failed only on its retry. */
  retried?: string[];
}

/** "tests: 612 passed, 0 failed[, 3 skipped]": the form CI reads. */
export function countsLine(label: string, c: TierCounts): string {
  const pending = c.pending > 0 ? `, ${c.pending} skipped` : '';
  return `${label}: ${c.passes} passed, ${c.failures} failed${pending}`;
}
