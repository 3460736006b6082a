/** Drivers of the two load generators in bench/c: getppid() calls and an exec storm. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Generated {
  count: number;
  seconds: number;
}

/** rate-gen, started and waiting: its PID is known before the first call, so tracers can filter on it. */
export class RateGenerator {
  private constructor(
    readonly pid: number,
    private readonly go: () => void,
    private readonly done: Promise<Generated>,
  ) {}

  static start(bin: string, count: number, rate = 0): Promise<RateGenerator> {
    const child = spawn(bin, [String(count), String(rate)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout });
    let ready: (pid: number) => void;
    let finished: (result: Generated) => void;
    const readyPid = new Promise<number>((resolve) => (ready = resolve));
    const done = new Promise<Generated>((resolve) => (finished = resolve));
    lines.on('line', (line) => {
      const [word, a, b] = line.split(' ');
      if (word === 'ready') ready(Number(a));
      if (word === 'done') finished({ count: Number(a), seconds: Number(b) / 1e9 });
    });
    return readyPid.then((pid) => new RateGenerator(pid, () => child.stdin.end('go\n'), done));
  }

  /** Starts the calls; resolves when they are all made. */
  run(): Promise<Generated> {
    this.go();
    return this.done;
  }
}

export interface ExecStorm extends Generated {
  failures: number;
}

/** exec-gen: `count` execs of `target` by `workers` processes, unpaced when rate is 0. */
export function execStorm(bin: string, count: number, rate: number, workers: number, target: string, cwd: string): Promise<ExecStorm> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [String(count), String(rate), String(workers), target], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('close', () => {
      const match = /^done (\d+) (\d+) (\d+)/.exec(out);
      if (!match) reject(new Error(`exec-gen printed no result: ${out}`));
      else resolve({ count: Number(match[1]), failures: Number(match[2]), seconds: Number(match[3]) / 1e9 });
    });
  });
}
