/** Where tests find the repository, the shared fixtures, and whether they may skip. */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** dist/test/helpers/env.js → repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixturesDir = locateFixtures();
export const inCi = process.env.CI === 'true' || process.env.CI === '1';

/**
 * The reference packages (written by eunomia-bpf's ecc): $ECLI_FIXTURES, else the first
 * `shared/fixtures/ecc` beside the repository or one of its parents (a worktree in /work/wt/NAME
 * finds /work/shared). When none exists, the path beside the repository, for messages.
 */
function locateFixtures(): string {
  if (process.env.ECLI_FIXTURES) return resolve(process.env.ECLI_FIXTURES);
  for (let dir = dirname(repoRoot); ; dir = dirname(dir)) {
    const candidate = resolve(dir, 'shared/fixtures/ecc');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return resolve(repoRoot, '../shared/fixtures/ecc');
  }
}

/**
 * Skips a test with a printed reason, except in CI where every integration test must run:
 * there a skip is a failure.
 */
export function skipUnlessCi(t: TestContext, reason: string): void {
  if (inCi) throw new Error(`required in CI but cannot run: ${reason}`);
  t.skip(reason);
}

/** True when the reference fixtures are present; otherwise skips (or fails in CI). */
export function haveFixtures(t: TestContext): boolean {
  if (existsSync(fixturesDir)) return true;
  skipUnlessCi(t, `reference fixtures not found at ${fixturesDir}`);
  return false;
}

/** True when running as root; otherwise skips (or fails in CI). */
export function haveRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  skipUnlessCi(t, 'needs root to load BPF programs');
  return false;
}
