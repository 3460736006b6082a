/** Reads a map on a timer and hands each read on; clears the map after each read when asked (clear_map). */
import type { MapEntry } from '../format/sample-order.js';
import type { Cancel, Clock } from './clock.js';

/** What sampling reads: a loaded map (BpfMap), or a fake one in tests. */
export interface SampleSource {
  entries(): Iterable<[Uint8Array, Uint8Array]>;
  clear(): void;
}

export interface SampleSchedule {
  interval: number;
  clearMap: boolean;
}

export interface SamplerHooks {
  /** One interval's entries, as read (before clear_map clears the map). */
  interval(entries: MapEntry[]): void;
  /** Reading or clearing the map (or `interval`) failed; sampling goes on, the caller stops the run. */
  onError(error: unknown): void;
}

/** A running sampler. */
export interface Sampler {
  /**
   * Stops the timer. With `lastRead`, reads once more first when time passed since the last
   * read: the partial interval, as libbpf-tools' runqlat prints it on Ctrl-C.
   */
  stop(lastRead: boolean): void;
}

/**
 * Samples every `schedule.interval` ms, the first time one interval after the start (as
 * libbpf-tools' `runqlat 1 1` prints its first histogram after a second: a read at once would
 * show an interval of nothing).
 */
export function startSampler(source: SampleSource, schedule: SampleSchedule, hooks: SamplerHooks, clock: Clock): Sampler {
  let lastReadAt = clock.now();
  const sampleOnce = (): void => {
    lastReadAt = clock.now();
    try {
      const entries = [...source.entries()];
      // The reference only clears at exit; clearing each interval gives per-interval
      // histograms, which is what clear_map asks for (see docs/metrics.md). Cleared before the
      // read is handed on: what the program adds while the output is written is kept for the
      // next interval, not cleared unseen.
      if (schedule.clearMap) source.clear();
      hooks.interval(entries);
    } catch (error) {
      hooks.onError(error);
    }
  };
  const cancel: Cancel = clock.every(schedule.interval, sampleOnce);
  return {
    stop: (lastRead) => {
      cancel();
      if (lastRead && clock.now() > lastReadAt) sampleOnce();
    },
  };
}
