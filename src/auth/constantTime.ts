// Secrets compared so that timing says nothing about them: both sides are hashed first
// (neither the length nor the content of the secret leaks) and every candidate is
// compared, so which one matched, or whether any did, takes the same time.
import { createHash, timingSafeEqual } from 'node:crypto';

export function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** The indexes of `candidates` (digests) equal to `given` (a digest); every candidate is compared. */
export function matchingDigests(given: Buffer, candidates: readonly Buffer[]): number[] {
  const found: number[] = [];
  for (let i = 0; i < candidates.length; i++) {
    if (timingSafeEqual(given, candidates[i]!)) found.push(i);
  }
  return found;
}
