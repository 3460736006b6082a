#!/usr/bin/env node
// Runs the compiled tests with node's built-in runner.
//   node scripts/run-tests.mjs            unit + integration (integration needs root)
//   node scripts/run-tests.mjs unit       unit tests only
// In CI (CI=true) integration tests are required: a test that would skip fails instead
// (see test/helpers/env.ts), and running as non-root is an error.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv[2];
const inCi = process.env.CI === 'true' || process.env.CI === '1';

function testFiles(dir) {
  const full = join(root, 'dist/test', dir);
  let names;
  try {
    names = readdirSync(full);
  } catch {
    return [];
  }
  return names
    .flatMap((name) => {
      const path = join(full, name);
      if (statSync(path).isDirectory()) return testFiles(join(dir, name));
      return name.endsWith('.test.js') ? [path] : [];
    })
    .sort();
}

const files = testFiles('unit');
if (only !== 'unit') {
  if (process.getuid?.() === 0) files.push(...testFiles('integration'));
  else if (inCi) {
    console.error('run-tests: integration tests need root, and CI requires them');
    process.exit(1);
  } else console.error('run-tests: not root: integration tests skipped (run `sudo make test`)');
}
if (files.length === 0) {
  console.error('run-tests: no compiled tests found; run `make build` first');
  process.exit(1);
}
// Integration tests load BPF programs and watch system-wide events: run files one at a time.
// A hung test fails after ECLI_TEST_TIMEOUT_MS (default 5 min) instead of hanging the run.
const timeoutMs = Number(process.env.ECLI_TEST_TIMEOUT_MS ?? 300_000);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', `--test-timeout=${timeoutMs}`, '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, ECLI_REPO_ROOT: root },
});
process.exit(result.status ?? 1);
