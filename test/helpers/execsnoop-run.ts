/**
 * For tests of input forms (files, stdin, URLs, registries): examples/execsnoop compiled and
 * packed, an executable at a unique short path, and a run of ecli that must show its exec.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { jsonOf, startEcliFor, stopAndCheckUnloaded } from './ecli-checks.js';
import { ecliPath, runTool } from './ecli-process.js';
import { compileExample, tempDir } from './examples.js';

export interface PackedExecsnoop {
  packagePath: string;
  tarball: string;
  /** The digest `ecli pack` printed for the tarball. */
  sha256: string;
  /** A copy of /bin/true whose path fits in comm (15 characters). */
  exe: string;
}

/** Compiles execsnoop, packs it, and prepares an executable at a unique short path. */
export function prepareExecsnoop(t: TestContext): PackedExecsnoop {
  const { packagePath } = compileExample(t, 'execsnoop');
  const tarball = path.join(path.dirname(packagePath), 'x.tar.gz');
  const packed = runTool(ecliPath, ['pack', packagePath, '-o', tarball]);
  assert.equal(packed.status, 0, `ecli pack failed:\n${packed.stderr}`);
  const digest = /^sha256 ([0-9a-f]{64})$/m.exec(packed.stdout);
  assert.ok(digest, `ecli pack printed no digest:\n${packed.stdout}`);
  const exe = path.join(tempDir(t, 'x'), 't');
  assert.ok(exe.length <= 15, `${exe} does not fit in comm`);
  copyFileSync('/bin/true', exe);
  return { packagePath, tarball, sha256: digest[1]!, exe };
}

/** Execs `exe` from node (which copies the path into the child, so it is resident). */
export function execOnce(exe: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, [], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('spawn', () => resolve(child.pid!));
  });
}

/**
 * Runs `ecli run -j <args>`, checks the row of one exec of `exe`, stops it and checks the
 * unload. Returns ecli's stderr.
 */
export async function runAndSeeExec(
  t: TestContext,
  exe: string,
  args: string[],
  options: { input?: Buffer; env?: NodeJS.ProcessEnv; prefix?: string[]; ecli?: string; cwd?: string } = {},
): Promise<string> {
  const running = await startEcliFor(t, ['run', '-j', ...args], options);
  const pid = await execOnce(exe);
  const row = jsonOf(await running.waitForLine((l) => jsonOf(l)?.pid === pid));
  assert.equal(row?.comm, exe, `ecli ${args.join(' ')}`);
  assert.equal(row?.ppid, process.pid);
  const ours = await stopAndCheckUnloaded(running);
  assert.equal(ours.length, 1, `ecli held programs ${ours.join(', ')}`);
  return running.stderr();
}
