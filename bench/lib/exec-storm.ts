/**
 * The exec storm: every exec tracer runs at the same time while exec-gen execs one uniquely
 * named program as fast as the machine allows, so all of them see the same execs. Each
 * tracer's rows for that program are counted against the execs made.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { EXEC_TARGET, type Built, type WasmExecve } from './build.js';
import { execStorm } from './generators.js';
import { Measured } from './measured.js';

export interface Tracer {
  name: string;
  command: string;
  args: string[];
  /** The line on stdout that says the tracer is attached (its header). */
  ready: (line: string) => boolean;
  /** Whether a line of its output is one of the storm's execs; by default, a line naming the target but not exec-gen. */
  isStormExec?: (line: string) => boolean;
}

const namesTarget = (line: string): boolean => line.includes(EXEC_TARGET) && !line.includes('exec-gen');
/**
 * For tracers that read at the syscall's entry, where the caller's name is still exec-gen's: the
 * target as the file executed, and not exec-gen's own exec (by its path), which names the target as an argument.
 */
const execsTarget = (line: string): boolean => line.includes(`./${EXEC_TARGET}`) && !line.includes('/exec-gen');

export interface StormResult {
  tracer: string;
  execs: number;
  delivered: number;
  lostReported: number;
  cpuUs: number;
  cpuAfterAttachUs: number;
  maxRssKb: number;
  startupMs: number;
}

export interface Storm {
  execs: number;
  failures: number;
  execRate: number;
  results: StormResult[];
}

/** Where Debian's bpftrace keeps execsnoop.bt, if anywhere. */
export function findExecsnoopBt(): string | undefined {
  return ['/usr/sbin/execsnoop.bt', '/usr/share/bpftrace/tools/execsnoop.bt'].find((p) => existsSync(p));
}

/** A floor for start-up: Node.js printing a line and nothing else. */
export const BARE_NODE: Tracer = {
  name: 'bare Node.js (`node -e`, prints one line)',
  command: process.execPath,
  args: ['-e', "console.log('TIME'); setInterval(() => {}, 1000)"],
  ready: (l) => l === 'TIME',
};

export function execTracers(built: Built, ecli: string): Tracer[] {
  const tracers: Tracer[] = [
    { name: 'ecli execsnoop-full (ring buffer)', command: ecli, args: ['run', built.execsnoopFull.json], ready: (l) => l.startsWith('TIME ') },
    { name: 'ecli execsnoop (seed, perf buffer)', command: ecli, args: ['run', built.execsnoop.json], ready: (l) => l.startsWith('TIME ') },
  ];
  if (existsSync('/usr/sbin/execsnoop')) {
    // Its stdout is a pipe here: line buffering makes the header (printed once attached) visible at once.
    tracers.push({ name: 'libbpf-tools execsnoop', command: 'stdbuf', args: ['-oL', '/usr/sbin/execsnoop'], ready: (l) => l.startsWith('PCOMM') });
  }
  const bt = findExecsnoopBt();
  if (bt) tracers.push({ name: 'bpftrace execsnoop.bt', command: 'bpftrace', args: [bt], ready: (l) => l.startsWith('TIME(ms)') });
  return tracers;
}

/** The same execve program run as a wasm-bpf guest and as a JSON package, by ecli. */
export function wasmTracers(execve: WasmExecve, ecli: string): { wasm: Tracer; json: Tracer } {
  return {
    wasm: {
      name: 'ecli run execve.wasm (Wasm guest)',
      command: ecli,
      args: ['run', execve.wasm],
      ready: (l) => l.startsWith('PID '),
      isStormExec: execsTarget,
    },
    json: { name: 'ecli run execve package.json', command: ecli, args: ['run', execve.json], ready: (l) => l.startsWith('TIME '), isStormExec: execsTarget },
  };
}

function lostReported(stdout: string, stderr: string): number {
  let lost = 0;
  for (const match of `${stdout}\n${stderr}`.matchAll(/\b[Ll]ost (\d+) events/g)) lost += Number(match[1]);
  return lost;
}

export async function runStorm(built: Built, tracers: Tracer[], workDir: string, count: number, workers: number): Promise<Storm> {
  const running = tracers.map((t, i) => new Measured(built.rusage, path.join(workDir, `storm-${i}.rusage`), t.name, t.command, t.args));
  const startup = await Promise.all(running.map((m, i) => m.waitForLine('stdout', tracers[i]!.ready, 30000)));
  const cpuAtAttach = running.map((m) => m.cpuNowUs());
  const storm = await execStorm(built.execGen, count, 0, workers, `./${EXEC_TARGET}`, built.execDir);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // perf buffers are read every 10-100 ms
  const usage = await Promise.all(running.map((m) => m.stop('SIGINT')));
  return {
    execs: storm.count,
    failures: storm.failures,
    execRate: storm.count / storm.seconds,
    results: running.map((m, i) => ({
      tracer: tracers[i]!.name,
      execs: storm.count,
      // exec-gen's own exec shows the target in its arguments: not one of the storm's execs.
      delivered: m
        .stdout()
        .split('\n')
        .filter(tracers[i]!.isStormExec ?? namesTarget).length,
      lostReported: lostReported(m.stdout(), m.stderr()),
      cpuUs: usage[i]!.cpuUs,
      cpuAfterAttachUs: usage[i]!.cpuUs - cpuAtAttach[i]!,
      maxRssKb: usage[i]!.maxRssKb,
      startupMs: startup[i]!,
    })),
  };
}
