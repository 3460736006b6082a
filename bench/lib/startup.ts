/**
 * Start-up: spawn to the line that says a tracer is attached, each tracer started alone,
 * several times in turn; the median counts. Also the peak RSS of an idle run.
 */
import path from 'node:path';
import type { Tracer } from './exec-storm.js';
import { Measured } from './measured.js';

export interface StartupResult {
  tracer: string;
  runsMs: number[];
  medianMs: number;
  maxRssKb: number;
  /** Runs that failed (the tracer did not start or stop in time), with why. */
  failures: string[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function measureStartup(rusage: string, tracers: Tracer[], workDir: string, runs: number): Promise<StartupResult[]> {
  const times = tracers.map(() => [] as number[]);
  const rss = tracers.map(() => 0);
  const failures = tracers.map(() => [] as string[]);
  for (let run = 0; run < runs; run++) {
    for (const [i, tracer] of tracers.entries()) {
      const measured = new Measured(rusage, path.join(workDir, `startup-${i}.rusage`), tracer.name, tracer.command, tracer.args);
      try {
        const ms = await measured.waitForLine('stdout', tracer.ready, 30000);
        const usage = await measured.stop('SIGINT');
        times[i]!.push(ms);
        rss[i] = Math.max(rss[i]!, usage.maxRssKb);
      } catch (error) {
        failures[i]!.push((error as Error).message.split('\n')[0]!);
        await measured.stop('SIGKILL', 1000).catch(() => undefined);
      }
    }
  }
  return tracers.map((t, i) => ({
    tracer: t.name,
    runsMs: times[i]!,
    medianMs: times[i]!.length > 0 ? median(times[i]!) : Number.NaN,
    maxRssKb: rss[i]!,
    failures: failures[i]!,
  }));
}

export interface Command {
  name: string;
  command: string;
  args: string[];
}

export interface CommandResult {
  command: string;
  runsMs: number[];
  medianMs: number;
  failures: string[];
}

/** Spawn to exit of short commands (`ecli --version`, `node -e 0`), run in turn `runs` times each. */
export async function measureCommands(rusage: string, commands: Command[], workDir: string, runs: number): Promise<CommandResult[]> {
  const times = commands.map(() => [] as number[]);
  const failures = commands.map(() => [] as string[]);
  for (let run = 0; run < runs; run++) {
    for (const [i, c] of commands.entries()) {
      const measured = new Measured(rusage, path.join(workDir, `command-${i}.rusage`), c.name, c.command, c.args);
      const usage = await measured.finished();
      if (usage.status === 0) times[i]!.push(measured.endedAtMs() - measured.spawnedAt);
      else failures[i]!.push(`exit status ${usage.status}: ${measured.stderr().slice(0, 200)}`);
    }
  }
  return commands.map((c, i) => ({
    command: c.name,
    runsMs: times[i]!,
    medianMs: times[i]!.length > 0 ? median(times[i]!) : Number.NaN,
    failures: failures[i]!,
  }));
}
