/**
 * Runs `docker-credential-<name> get` as docker does (the registry on stdin, `{"Username",
 * "Secret"}` on stdout), bounded: in a process group of its own, so that a helper's children are
 * stopped with it, whether it answered and left a child holding stdout, or hung.
 */
import { spawn } from 'node:child_process';

export interface HelperOutcome {
  /** The helper's exit status, or the signal that ended it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Why it produced no outcome of its own: it could not be started, took too long, or printed too much. */
  failure?: { kind: 'spawn'; error: NodeJS.ErrnoException } | { kind: 'timeout' } | { kind: 'too-much-output' };
}

export const HELPER_TIMEOUT_MS = 10_000;
const MAX_OUTPUT = 1 << 20;

export function runCredentialHelper(program: string, input: string, env: NodeJS.ProcessEnv, timeoutMs = HELPER_TIMEOUT_MS): Promise<HelperOutcome> {
  return new Promise((resolve) => {
    // detached: a new session and process group, whose id is the helper's pid.
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    let exit: { status: number | null; signal: NodeJS.Signals | null } = { status: null, signal: null };
    let failure: HelperOutcome['failure'];
    let settled = false;
    const stopGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      process.removeListener('exit', stopGroup);
      resolve({ ...exit, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), ...(failure ? { failure } : {}) });
    };
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) {
        failure ??= { kind: 'too-much-output' };
        stopGroup();
        return;
      }
      into.push(chunk);
    };
    const timer = setTimeout(() => {
      failure ??= { kind: 'timeout' };
      stopGroup();
    }, timeoutMs);
    process.once('exit', stopGroup);
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));
    // A helper may exit without reading stdin: EPIPE here; what it printed and its status still count.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.on('error', (error: NodeJS.ErrnoException) => {
      failure ??= { kind: 'spawn', error };
      settle();
    });
    // The helper is done once it exits: children it left behind (holding stdout open) are stopped.
    child.on('exit', (status, signal) => {
      exit = { status, signal };
      stopGroup();
    });
    child.on('close', settle);
  });
}
