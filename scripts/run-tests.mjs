#!/usr/bin/env node
// Runs the compiled tests with node's built-in runner.
//   node scripts/run-tests.mjs             unit + integration (integration needs root), then the
//                                          kernel subset again against Debian 12's libbpf 1.1
//   node scripts/run-tests.mjs unit        unit tests only
//   node scripts/run-tests.mjs libbpf-1.1  the libbpf 1.1 pass only
// In CI (CI=true) integration tests are required: a test that would skip fails instead
// (see test/helpers/env.ts), and running as non-root is an error.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/**
 * The kernel tests that run a second time with libbpf 1.1 (the system has 1.4): one file per kind
 * of program and reader (tracepoints and perf buffers, ring buffers, uprobes and USDT, XDP/TC/TCX,
 * sampled maps, perf events and stacks, iterators and the toolchain's own, the loader, the
 * reference packages), about 2.5 minutes of the ~8 of the whole suite.
 */
const LIBBPF_1_1_SUBSET = ['execsnoop', 'examples-tracing', 'examples-network', 'examples-sampling', 'examples-profile', 'toolchain', 'loader', 'fixtures'];
// Integration tests load BPF programs and watch system-wide events: run files one at a time.
// A hung test fails after ECLI_TEST_TIMEOUT_MS (default 5 min) instead of hanging the run.
const timeoutMs = Number(process.env.ECLI_TEST_TIMEOUT_MS ?? 300_000);

function runFiles(paths, env = {}) {
  const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', `--test-timeout=${timeoutMs}`, '--test-reporter=spec', ...paths], {
    stdio: 'inherit',
    env: { ...process.env, ECLI_REPO_ROOT: root, ...env },
  });
  return result.status ?? 1;
}

/** The subset again with Debian 12's libbpf 1.1, unpacked into a temporary folder and loaded by path (ECLI_LIBBPF). */
function runWithLibbpf11() {
  if (process.getuid?.() !== 0) {
    console.error('run-tests: the libbpf 1.1 pass needs root (integration tests)');
    return inCi ? 1 : 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ecli-libbpf-1.1-'));
  try {
    const unpacked = spawnSync('bash', [join(root, 'scripts/unpack-libbpf-1.1.sh'), dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (unpacked.status !== 0) {
      console.error('run-tests: cannot unpack libbpf 1.1 for the second pass');
      return inCi ? 1 : 0;
    }
    const library = unpacked.stdout.trim();
    const subset = LIBBPF_1_1_SUBSET.map((name) => join(root, 'dist/test/integration', `${name}.test.js`));
    console.error(`run-tests: the kernel tests again with libbpf 1.1 (ECLI_LIBBPF=${library}): ${LIBBPF_1_1_SUBSET.join(', ')}`);
    return runFiles(subset, { ECLI_LIBBPF: library });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (only === 'libbpf-1.1') process.exit(runWithLibbpf11());

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
const status = runFiles(files);
if (status !== 0 || only === 'unit' || process.getuid?.() !== 0) process.exit(status);
process.exit(runWithLibbpf11());
