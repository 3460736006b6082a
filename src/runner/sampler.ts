/** Reads a map on a timer and hands each read on; with clear_map, each read takes the entries out of the map. */
import type { MapEntry } from '../format/sample-order.js';
import type { Cancel, Clock } from './clock.js';

/** What sampling reads: a loaded map (BpfMap), or a fake one in tests. */
export interface SampleSource {
  entries(): Iterable<[Uint8Array, Uint8Array]>;
  /** The entries, each removed from the map as it is read (BpfMap.take). */
  take(): Iterable<[Uint8Array, Uint8Array]>;
}

export interface SampleSchedule {
  interval: number;
  clearMap: boolean;
}

export interface SamplerHooks {
  /** One interval's entries, as read. */
  interval(entries: MapEntry[]): void;
  /** Reading the map (or `interval`) failed; sampling goes on, the caller stops the run. */
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
      // The reference only clears at exit; taking the entries each interval gives per-interval
      // histograms, which is what clear_map asks for (see docs/metrics.md). Only what was read
      // leaves the map: what the program adds meanwhile is kept for the next interval.
      hooks.interval([...(schedule.clearMap ? source.take() : source.entries())]);
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
