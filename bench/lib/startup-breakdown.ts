/**
 * Where `ecli run`'s start-up goes: ecli runs with bench/lib/startup-marks.cjs preloaded, which
 * reports Node's bootstrap time and ecli's `ecli:*` performance marks; each phase is the time
 * between two of them, and the median of each phase over the runs is reported.
 */
import path from 'node:path';
import type { Tracer } from './exec-storm.js';
import { Measured } from './measured.js';
import { median } from './startup.js';

export interface Phase {
  name: string;
  medianMs: number;
}

export interface Breakdown {
  tracer: string;
  runs: number;
  /** Median spawn → header line seen by the benchmark. */
  totalMs: number;
  phases: Phase[];
  failures: string[];
}

interface Reported {
  bootstrapMs: number;
  marks: Record<string, number>;
}

/**
 * The phases, each ending at a mark (`bootstrap` = Node's bootstrap done). The process's clock
 * starts after exec, so the first phase is what is left of the total: exec, the wrapper script,
 * Node's bootstrap, and the header line's way through the pipe to the benchmark.
 */
const PHASES: { name: string; end: string }[] = [
  { name: 'Node.js: exec, the wrapper script, Node’s own bootstrap (and the header’s way through the pipe)', end: 'bootstrap' },
  { name: 'module load: the bundle compiled and evaluated, the command line parsed', end: 'ecli:run' },
  { name: 'package decode: read, JSON, schema, base64 + zlib, BTF, the package model, options, formatters', end: 'ecli:decoded' },
  { name: 'koffi and the libbpf bindings loaded', end: 'ecli:ffi' },
  { name: 'libbpf open (`bpf_object__open_mem`, data sections)', end: 'ecli:opened' },
  { name: 'export and privilege checks, tracefs', end: 'ecli:checked' },
  { name: 'libbpf load (verifier)', end: 'ecli:loaded' },
  { name: 'attach', end: 'ecli:attached' },
  { name: 'buffer readers, first header written', end: 'ecli:header' },
];

function parseReport(stderr: string): Reported {
  const line = stderr.split('\n').find((l) => l.startsWith('ecli-bench-marks '));
  if (!line) throw new Error('ecli did not report its start-up marks');
  return JSON.parse(line.slice('ecli-bench-marks '.length)) as Reported;
}

/** Phase durations of one run, in PHASES order. */
function phasesOf(report: Reported, seenMs: number): number[] {
  const headerMs = report.marks['ecli:header'];
  if (headerMs === undefined) throw new Error('ecli reported no ecli:header mark');
  const beforeClock = seenMs - headerMs;
  const at = (end: string): number => {
    if (end === 'bootstrap') return beforeClock + report.bootstrapMs;
    const mark = report.marks[end];
    if (mark === undefined) throw new Error(`ecli reported no ${end} mark`);
    return beforeClock + mark;
  };
  let previous = 0;
  return PHASES.map(({ end }) => {
    const now = at(end);
    const phase = now - previous;
    previous = now;
    return phase;
  });
}

export async function measureBreakdown(rusage: string, tracer: Tracer, preload: string, workDir: string, runs: number): Promise<Breakdown> {
  const perRun: number[][] = [];
  const totals: number[] = [];
  const failures: string[] = [];
  const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim() };
  for (let run = 0; run < runs; run++) {
    const measured = new Measured(rusage, path.join(workDir, 'breakdown.rusage'), tracer.name, tracer.command, tracer.args, { env });
    try {
      const seenMs = await measured.waitForLine('stdout', tracer.ready, 30000);
      await measured.stop('SIGINT');
      perRun.push(phasesOf(parseReport(measured.stderr()), seenMs));
      totals.push(seenMs);
    } catch (error) {
      failures.push((error as Error).message.split('\n')[0]!);
      await measured.stop('SIGKILL', 1000).catch(() => undefined);
    }
  }
  return {
    tracer: tracer.name,
    runs: perRun.length,
    totalMs: totals.length > 0 ? median(totals) : Number.NaN,
    phases: PHASES.map(({ name }, i) => ({ name, medianMs: perRun.length > 0 ? median(perRun.map((p) => p[i]!)) : Number.NaN })),
    failures,
  };
}
