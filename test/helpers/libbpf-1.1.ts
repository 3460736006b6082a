/**
 * Debian 12's libbpf 1.1 (library and headers), unpacked once per test process by
 * scripts/unpack-libbpf-1.1.sh into a temporary folder removed at exit: for the tests that
 * check ecc's and ecli's behaviour with the oldest libbpf they support, beside the system's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { findExecutable } from '../../src/compiler/process.js';
import { repoRoot, skipUnlessCi } from './env.js';

export interface UnpackedLibbpf {
  /** The libbpf.so.1 to load by path (ECLI_LIBBPF). */
  library: string;
  /** The folder holding its `bpf/` headers, for `-I`. */
  includeDir: string;
}

let unpacked: UnpackedLibbpf | undefined;

/** The unpacked libbpf 1.1; undefined (the test skipped, or failed in CI) where apt cannot fetch it. */
export function libbpf11(t: TestContext): UnpackedLibbpf | undefined {
  if (unpacked !== undefined) return unpacked;
  if (!findExecutable(['apt-get']) || !findExecutable(['dpkg'])) {
    skipUnlessCi(t, 'needs apt-get and dpkg to fetch Debian 12’s libbpf 1.1');
    return undefined;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'libbpf-1.1-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const run = spawnSync('bash', [path.join(repoRoot, 'scripts/unpack-libbpf-1.1.sh'), dir], { encoding: 'utf8' });
  if (run.status !== 0) {
    skipUnlessCi(t, `cannot unpack libbpf 1.1: ${run.stderr.trim()}`);
    return undefined;
  }
  unpacked = { library: run.stdout.trim(), includeDir: path.join(dir, 'root/usr/include') };
  return unpacked;
}
