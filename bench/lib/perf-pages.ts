/**
 * Whether `perf_buffer_pages` in a package sets the size of the perf buffers ecli maps: the
 * perf-rate package is run with other values and each CPU's mapping is read from
 * /proc/PID/maps (a perf buffer is one metadata page plus the data pages).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Built } from './build.js';
import { Measured } from './measured.js';

export interface PerfPagesCheck {
  requested: number;
  /** Data pages of each perf buffer mapping found. */
  mapped: number[];
  honoured: boolean;
}

const PAGE_SIZE = 4096;

function perfMappings(pid: number): number[] {
  return readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter((line) => line.includes('[perf_event]'))
    .map((line) => {
      const [start, end] = line
        .split(' ')[0]!
        .split('-')
        .map((hex) => Number.parseInt(hex, 16)) as [number, number];
      return (end - start) / PAGE_SIZE - 1;
    });
}

export async function checkPerfPages(built: Built, ecli: string, workDir: string): Promise<PerfPagesCheck[]> {
  const pkg = JSON.parse(readFileSync(built.perfRate.json, 'utf8')) as { meta: Record<string, unknown> };
  const checks: PerfPagesCheck[] = [];
  for (const requested of [16, 256]) {
    const file = path.join(workDir, `perf-pages-${requested}.json`);
    writeFileSync(file, JSON.stringify({ ...pkg, meta: { ...pkg.meta, perf_buffer_pages: requested } }));
    const measured = new Measured(built.rusage, path.join(workDir, 'perf-pages.rusage'), `perf_buffer_pages ${requested}`, ecli, [
      'run',
      '-j',
      file,
      '--pid',
      '1',
    ]);
    await measured.waitForLine('stderr', (line) => /attached/.test(line), 15000);
    let mapped = perfMappings(measured.pid());
    for (let i = 0; i < 20 && mapped.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      mapped = perfMappings(measured.pid());
    }
    await measured.stop('SIGINT');
    checks.push({ requested, mapped, honoured: mapped.length === os.cpus().length && mapped.every((pages) => pages === requested) });
  }
  return checks;
}
