/** Where tests find the repository and its fixtures, and whether they may skip. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** dist/test/helpers/env.js → repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The reference packages written by eunomia-bpf's ecc (test/fixtures/ecc/README.md says what each shows). */
export const fixturesDir = resolve(repoRoot, 'test/fixtures/ecc');
export const inCi = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Skips a test with a printed reason, except in CI where every integration test must run:
 * there a skip is a failure.
 */
export function skipUnlessCi(t: TestContext, reason: string): void {
  if (inCi) throw new Error(`required in CI but cannot run: ${reason}`);
  t.skip(reason);
}

/** True when running as root; otherwise skips (or fails in CI). */
export function haveRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  skipUnlessCi(t, 'needs root to load BPF programs');
  return false;
}
