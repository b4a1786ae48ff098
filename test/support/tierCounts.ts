// The counts a test tier reports, and the one line CI reads them from. Shared by the mocha
// reporter (one tier) and scripts/testTiers.ts (all three, as `npm test` runs them).

/** Set by scripts/testTiers.ts: the file each tier appends its counts to, one JSON line. */
export const TOTALS_FILE_ENV = 'ONECAST_TEST_TOTALS';

export interface TierCounts {
  passes: number;
  failures: number;
  pending: number;
}

/** "tests: 612 passed, 0 failed[, 3 skipped]": the form CI reads. */
export function countsLine(label: string, c: TierCounts): string {
  const pending = c.pending > 0 ? `, ${c.pending} skipped` : '';
  return `${label}: ${c.passes} passed, ${c.failures} failed${pending}`;
}
