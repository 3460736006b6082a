/**
 * For the integration tests of examples/: compile one with ./ecc into a temporary folder, start
 * helper processes that are cleaned up after the test, and check that a run loaded its programs
 * and left none of them in the kernel.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { findExecutable } from '../../src/compiler/process.js';
import { KERNEL_BTF_PATH } from '../../src/compiler/vmlinux.js';
import { eccPath, runTool, type RunningEcli } from './ecli-process.js';
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
  const args = [path.join(dir, `${name}.bpf.c`), ...(existsSync(header) ? [header] : []), '-o', out];
  const result = runTool(eccPath, args);
  assert.equal(result.status, 0, `ecc ${args.join(' ')} failed:\n${result.stderr}`);
  const packagePath = path.join(out, 'package.json');
  const pkg = JSON.parse(readFileSync(packagePath, 'utf8')) as { meta: { bpf_skel: { progs: { name: string }[] } } };
  return { packagePath, programNames: pkg.meta.bpf_skel.progs.map((p) => p.name.slice(0, 15)) };
}

interface LoadedProgram {
  id: number;
  name: string;
}

function loadedPrograms(): LoadedProgram[] {
  const result = spawnSync('bpftool', ['prog', 'list', '--json'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bpftool prog list failed: ${result.stderr}`);
  // The kernel keeps 15 characters of a name; bpftool may print more, from the program's BTF.
  return (JSON.parse(result.stdout) as { id: number; name?: string }[]).map((p) => ({ id: p.id, name: (p.name ?? '').slice(0, 15) }));
}

export interface ProgramWatch {
  /** Fails unless every watched name has a program that was not loaded when the watch began. */
  assertLoaded(): void;
  /**
   * Fails unless no watched name is loaded, except programs that were already loaded when the
   * watch began (left by something else). The kernel frees a program shortly after its last
   * reference goes, so this waits up to `timeoutMs`.
   */
  assertUnloaded(timeoutMs?: number): Promise<void>;
}

/** Watches the programs named `names` (15-character prefixes, as the kernel keeps them). */
export function watchPrograms(names: string[]): ProgramWatch {
  const watched = (): LoadedProgram[] => loadedPrograms().filter((p) => names.includes(p.name));
  const before = new Set(watched().map((p) => p.id));
  const fresh = (): LoadedProgram[] => watched().filter((p) => !before.has(p.id));
  return {
    assertLoaded() {
      const loaded = new Set(fresh().map((p) => p.name));
      assert.deepEqual(names.filter((n) => !loaded.has(n)), [], 'programs not loaded while ecli runs');
    },
    async assertUnloaded(timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const left = fresh();
        if (left.length === 0) return;
        if (Date.now() > deadline) assert.fail(`still loaded after ecli exited: ${left.map((p) => `${p.name} (id ${p.id})`).join(', ')}`);
        await sleep(100);
      }
    },
  };
}

/** Stops ecli with SIGINT (never SIGKILL, which would leave TC filters behind) if the test did not. */
export function stopAfterTest(t: TestContext, ecli: RunningEcli): void {
  t.after(async () => {
    await ecli.stop('SIGINT').catch(() => undefined);
  });
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
