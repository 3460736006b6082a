/**
 * A process under measurement: started through bench/c/rusage (which reports the getrusage of
 * the process and all its threads once it ends), with its stdout sent to a file or read line
 * by line, and the time from spawn to a chosen line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface Usage {
  userUs: number;
  sysUs: number;
  /** user + sys of the whole process (every thread). */
  cpuUs: number;
  maxRssKb: number;
  /** Raw wait status of the command. */
  status: number;
}

export interface StartOptions {
  /** Write stdout to this file; by default it is read as lines (see waitForLine). */
  stdoutFile?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

type Stream = 'stdout' | 'stderr';

const CLOCK_TICKS_PER_SECOND = 100;

export class Measured {
  readonly spawnedAt = performance.now();
  private readonly child: ChildProcess;
  private readonly lines: Record<Stream, string[]> = { stdout: [], stderr: [] };
  private readonly waiters: { stream: Stream; test: (line: string) => boolean; resolve: (ms: number) => void }[] = [];
  private readonly ended: Promise<void>;
  private endedAt = Number.NaN;

  constructor(
    rusageBin: string,
    private readonly reportFile: string,
    readonly label: string,
    command: string,
    args: readonly string[],
    options: StartOptions = {},
  ) {
    const out = options.stdoutFile === undefined ? 'pipe' : openSync(options.stdoutFile, 'w');
    this.child = spawn(rusageBin, [reportFile, command, ...args], { stdio: ['ignore', out, 'pipe'], cwd: options.cwd, env: options.env });
    if (typeof out === 'number') closeSync(out);
    this.ended = new Promise((resolve) =>
      this.child.once('close', () => {
        this.endedAt = performance.now();
        resolve();
      }),
    );
    this.follow('stderr');
    if (out === 'pipe') this.follow('stdout');
  }

  /** Milliseconds from spawn to the first line on `stream` that passes `test`. */
  waitForLine(stream: Stream, test: (line: string) => boolean, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.label}: no matching line on ${stream} after ${timeoutMs} ms; stderr: ${this.stderr().slice(-500)}`));
      }, timeoutMs);
      const done = (ms: number): void => {
        clearTimeout(timer);
        resolve(ms);
      };
      this.waiters.push({ stream, test, resolve: done });
      void this.ended.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.label}: exited before printing the expected line; stderr: ${this.stderr().slice(-500)}`));
      });
    });
  }

  /** When the command ended (its output closed), on the clock of `spawnedAt`; NaN before. */
  endedAtMs(): number {
    return this.endedAt;
  }

  /** The measured command's PID (the wrapper's child). */
  pid(): number {
    const first = readFileSync(this.reportFile, 'utf8').split('\n')[0] ?? '';
    const match = /^pid (\d+)$/.exec(first);
    if (!match) throw new Error(`${this.label}: the rusage wrapper did not report a PID`);
    return Number(match[1]);
  }

  /** user + sys so far, from /proc (10 ms resolution). */
  cpuNowUs(): number {
    const stat = readFileSync(`/proc/${this.pid()}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime); the slice starts at field 3.
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  }

  stdout(): string {
    return this.lines.stdout.join('\n');
  }

  stderr(): string {
    return this.lines.stderr.join('\n');
  }

  /** Sends `signal` (passed on by the wrapper) and resolves with the usage once the command ends. */
  async stop(signal: NodeJS.Signals = 'SIGINT', timeoutMs = 20000): Promise<Usage> {
    this.child.kill(signal);
    const timer = setTimeout(() => {
      // The command itself too: it holds our pipes, which would keep us waiting for it.
      try {
        process.kill(this.pid(), 'SIGKILL');
      } catch {
        // already gone
      }
      this.child.kill('SIGKILL');
    }, timeoutMs);
    await this.ended;
    clearTimeout(timer);
    return this.usage();
  }

  /** Resolves with the usage once the command ends by itself. */
  async finished(): Promise<Usage> {
    await this.ended;
    return this.usage();
  }

  private usage(): Usage {
    const last = readFileSync(this.reportFile, 'utf8').trim().split('\n').at(-1) ?? '';
    const match = /^utime_us (\d+) stime_us (\d+) maxrss_kb (\d+) status (-?\d+)$/.exec(last);
    if (!match) throw new Error(`${this.label}: no usage report (wrapper killed?); stderr: ${this.stderr().slice(-500)}`);
    const [userUs, sysUs, maxRssKb, status] = match.slice(1).map(Number) as [number, number, number, number];
    return { userUs, sysUs, cpuUs: userUs + sysUs, maxRssKb, status };
  }

  private follow(stream: Stream): void {
    let partial = '';
    this.child[stream]!.setEncoding('utf8').on('data', (chunk: string) => {
      const now = performance.now();
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        this.lines[stream].push(line);
        for (let i = this.waiters.length - 1; i >= 0; i--) {
          const waiter = this.waiters[i]!;
          if (waiter.stream === stream && waiter.test(line)) {
            this.waiters.splice(i, 1);
            waiter.resolve(now - this.spawnedAt);
          }
        }
      }
    });
  }
}
