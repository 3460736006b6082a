/**
 * For the integration tests of examples/: compile one with ./ecc into a temporary folder, start
 * helper processes that are cleaned up after the test, and read `-j` output. Starting ecli and
 * checking its programs are in ecli-checks.ts.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { findExecutable } from '../../src/compiler/process.js';
import { KERNEL_BTF_PATH } from '../../src/btf/kernel-btf-path.js';
import { eccCompile, type RunningEcli } from './ecli-process.js';
import { repoRoot, skipUnlessCi } from './env.js';

export interface CompiledExample {
  /** `<tmp>/package.json`. */
  packagePath: string;
  /** The program names of the package meta, as the kernel keeps them (15 characters at most). */
  programNames: string[];
}

/** True when ecc can run here (clang, llvm-strip, bpftool, kernel BTF); otherwise skips. */
export function haveToolchain(t: TestContext): boolean {
  const missing = ['clang', 'llvm-strip', 'bpftool'].filter((tool) => !findExecutable([tool, `${tool}-14`]));
  if (!existsSync(KERNEL_BTF_PATH)) missing.push(KERNEL_BTF_PATH);
  if (missing.length === 0) return true;
  skipUnlessCi(t, `ecc needs ${missing.join(', ')}`);
  return false;
}

/** True when every command is on PATH; otherwise skips (or fails in CI). */
export function haveCommands(t: TestContext, commands: string[]): boolean {
  const missing = commands.filter((c) => !findExecutable([c]));
  if (missing.length === 0) return true;
  skipUnlessCi(t, `needs ${missing.join(', ')}`);
  return false;
}

/** A folder removed after the test. */
export function tempDir(t: TestContext, prefix = 'ecli-example-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `./ecc examples/<name>/<name>.bpf.c [<name>.h] -o <tmp>`; fails the test when ecc fails. */
export function compileExample(t: TestContext, name: string): CompiledExample {
  const dir = path.join(repoRoot, 'examples', name);
  const header = path.join(dir, `${name}.h`);
  const out = tempDir(t, `ecli-${name}-`);
  const packagePath = eccCompile(path.join(dir, `${name}.bpf.c`), existsSync(header) ? header : undefined, out);
  const pkg = JSON.parse(readFileSync(packagePath, 'utf8')) as { meta: { bpf_skel: { progs: { name: string }[] } } };
  return { packagePath, programNames: pkg.meta.bpf_skel.progs.map((p) => p.name.slice(0, 15)) };
}

export interface Helper {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  /** Resolves with the exit status (or signal name). */
  exited: Promise<number | string>;
}

/** Spawns a helper process that is killed after the test if it is still running. */
export function startHelper(t: TestContext, command: string, args: string[], options: SpawnOptions = {}): Helper {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], ...options });
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  const exited = new Promise<number | string>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  assert.ok(child.pid !== undefined, `cannot start ${command}`);
  return { child, pid: child.pid, stdout: () => stdout, exited };
}

/** The stdout lines of `ecli run -j` that are JSON objects (ecli's notices go to stderr). */
export function jsonRows(ecli: RunningEcli): Record<string, unknown>[] {
  return ecli.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A predicate for waitForLine on `-j` output. */
export function jsonLine(match: (row: Record<string, unknown>) => boolean): (line: string) => boolean {
  return (line) => line.startsWith('{') && match(JSON.parse(line) as Record<string, unknown>);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A short token for unique file names and commands. */
export function uniqueToken(): string {
  return `${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 5).toString(36)}`;
}
