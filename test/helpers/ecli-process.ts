/**
 * Drives the real `./ecli` and `./ecc` in integration tests: start, wait until the programs
 * are attached, trigger events, wait for matching output, stop with a signal.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './env.js';

export const ecliPath = join(repoRoot, 'ecli');
export const eccPath = join(repoRoot, 'ecc');

/** The stderr line ecli prints once every program of a package is attached, or each program a Wasm guest attaches. */
const ATTACHED = /programs? attached|program \S+ attached/;

export interface RunningEcli {
  child: ChildProcess;
  /** Complete stdout lines so far. */
  lines: string[];
  stderr(): string;
  /** Resolves when a stdout line satisfies `match`; rejects after `timeoutMs`. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Sends `signal` (default SIGINT) and resolves with the exit status (or signal name). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
  /** Resolves with the exit status when the process ends by itself. */
  exited(timeoutMs?: number): Promise<number | string>;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms ${what()}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Spawns `ecli <args>` and resolves once its programs are attached (or it exited). `prefix` runs
 * it through a command that execs it, e.g. `['nsenter', '-t', pid, '-n']` for another network
 * namespace, so that signals still reach ecli itself. `input` is written to its stdin, which is
 * then closed (otherwise stdin is /dev/null). `stdoutFd` gives ecli that fd as its stdout
 * instead of a pipe read by the test (then `lines` stays empty). `ecli` runs another ecli than
 * the repository's (an installed one).
 */
export async function startEcli(
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string; prefix?: string[]; input?: Buffer; stdoutFd?: number; ecli?: string } = {},
): Promise<RunningEcli> {
  const [command, ...commandArgs] = [...(options.prefix ?? []), options.ecli ?? ecliPath, ...args];
  const child = spawn(command!, commandArgs, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', options.stdoutFd ?? 'pipe', 'pipe'],
  });
  if (options.input !== undefined) {
    child.stdin!.on('error', () => undefined); // EPIPE when ecli exits without reading: its status tells
    child.stdin!.end(options.input);
  }
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const lineWaiters = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const wake of lineWaiters) wake();
  });
  const exit = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  let attached!: () => void;
  const attachedOrExited = new Promise<void>((resolve) => {
    attached = resolve;
    void exit.then(() => resolve());
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (ATTACHED.test(stderr)) attached();
  });
  const describe = (): string => `(ecli ${args.join(' ')})\nstdout:\n${lines.slice(-20).join('\n')}\nstderr:\n${stderr}`;
  await withTimeout(attachedOrExited, options.timeoutMs ?? 20_000, () => `waiting for ecli to attach ${describe()}`);

  const running: RunningEcli = {
    child,
    lines,
    stderr: () => stderr,
    waitForLine(match, timeoutMs = 10_000) {
      return withTimeout(
        new Promise<string>((resolve) => {
          let seen = 0;
          const check = (): void => {
            for (; seen < lines.length; seen++) {
              if (match(lines[seen]!)) {
                lineWaiters.delete(check);
                resolve(lines[seen]!);
                return;
              }
            }
          };
          lineWaiters.add(check);
          check();
        }),
        timeoutMs,
        () => `waiting for a matching line ${describe()}`,
      );
    },
    stop(signal = 'SIGINT', timeoutMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return withTimeout(exit, timeoutMs, () => `waiting for ecli to exit after ${signal} ${describe()}`);
    },
    exited(timeoutMs = 10_000) {
      return withTimeout(exit, timeoutMs, () => `waiting for ecli to exit ${describe()}`);
    },
  };
  return running;
}

export interface Completed {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (for ecc, and for ecli commands that exit by themselves). */
export function runTool(path: string, args: string[], options: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Completed {
  const result = spawnSync(path, args, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 120_000,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** runTool without blocking the event loop: for tests that serve something (a URL) to the tool in-process. */
export function runToolAsync(path: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Completed> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { cwd: options.cwd ?? repoRoot, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * `./ecc <source> [<header>] -o <outDir>`; fails the calling test (an assertion) when ecc fails.
 * Returns the path of the package.json it wrote.
 */
export function eccCompile(source: string, header: string | undefined, outDir: string): string {
  const args = [source, ...(header === undefined ? [] : [header]), '-o', outDir];
  const result = runTool(eccPath, args);
  assert.equal(result.status, 0, `./ecc ${args.join(' ')} failed:\n${result.stderr}`);
  return join(outDir, 'package.json');
}

export interface LoadedProgram {
  id: number;
  /** Cut to the 15 characters the kernel keeps (bpftool may print longer ones from BTF): compare with `name.slice(0, 15)`. */
  name: string;
}

/** The BPF programs currently loaded in the kernel (bpftool prog list). */
export function loadedPrograms(): LoadedProgram[] {
  const result = spawnSync('bpftool', ['prog', 'list', '--json'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bpftool prog list failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { id: number; name?: string }[]).map((p) => ({ id: p.id, name: (p.name ?? '').slice(0, 15) }));
}

/**
 * Ids of the BPF programs that process `pid` holds through its program and link fds: exactly
 * the programs a running ecli loaded, even when other tests load programs of the same name.
 */
export function programIdsHeldBy(pid: number): number[] {
  const dir = `/proc/${pid}/fdinfo`;
  const ids = new Set<number>();
  for (const fd of readdirSync(dir)) {
    let info: string;
    try {
      info = readFileSync(join(dir, fd), 'utf8');
    } catch {
      continue; // closed since the listing
    }
    const match = /^prog_id:\s*(\d+)$/m.exec(info);
    if (match) ids.add(Number(match[1]));
  }
  return [...ids].sort((a, b) => a - b);
}
