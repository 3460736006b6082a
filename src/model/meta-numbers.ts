/**
 * Range checks of the package's numbers that reach libbpf or timers, done on the numbers as
 * JSON gave them (doubles, exact up to 2^53), never through 32-bit bit operations: `x & (x - 1)`
 * truncates to 32 bits, so 3·2^32 would pass as a power of two.
 */
import { EcliError } from '../errors.js';

/** 2^18 pages of 4 KiB: a 1 GiB perf ring per CPU. libbpf multiplies pages by the page size in size_t, so 2^52 wraps to 0. */
export const MAX_PERF_BUFFER_PAGES = 2 ** 18;
/** setInterval's longest delay; beyond it Node fires every millisecond instead. */
export const MAX_SAMPLE_INTERVAL_MS = 2 ** 31 - 1;

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && 2 ** Math.round(Math.log2(n)) === n;
}

export function checkPerfBufferPages(pages: number, source: string): number {
  if (!isPowerOfTwo(pages) || pages > MAX_PERF_BUFFER_PAGES) {
    throw new EcliError('PACKAGE_INVALID', `${source}: perf_buffer_pages must be a power of two from 1 to ${MAX_PERF_BUFFER_PAGES}, not ${pages}`, {
      hint: 'use 64 (the default), 128, 256...',
    });
  }
  return pages;
}

export function checkSampleInterval(interval: number, mapName: string, source: string): number {
  if (interval > MAX_SAMPLE_INTERVAL_MS) {
    throw new EcliError(
      'PACKAGE_INVALID',
      `${source}: map ${mapName}: sample interval ${interval} ms is longer than the ${MAX_SAMPLE_INTERVAL_MS} ms (about 24.8 days) a timer can wait`,
      { hint: 'give the interval in milliseconds, e.g. "interval": 1000' },
    );
  }
  return interval;
}
