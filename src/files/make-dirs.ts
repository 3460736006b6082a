/**
 * `mkdir -p`, one level at a time. Node's `mkdirSync(dir, { recursive: true })` never returns when
 * a filesystem answers ENOENT to a mkdir under a folder that exists (procfs and sysfs do): it
 * retries in one synchronous loop at full CPU, which no signal can interrupt. A cache or config
 * folder set under /proc must be an error, not a hang.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { statOrUndefined } from './stat.js';

/** Creates `dir` and the folders missing above it (`mode` for each one created); throws the first error as Node reports it. */
export function makeDirs(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); statOrUndefined(at)?.isDirectory() !== true; at = path.dirname(at)) {
    missing.push(at);
    if (path.dirname(at) === at) break;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder, mode === undefined ? undefined : { mode });
    } catch (error) {
      // Made meanwhile by another process: fine, when it is a folder.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || statOrUndefined(folder)?.isDirectory() !== true) throw error;
    }
  }
}
