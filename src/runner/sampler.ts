/** Samples a map on a timer: formats every entry (as a line, or a decoded entry), clears the map when asked, flushes the output. */
import type { Cancel, Clock } from './clock.js';

/** What sampling reads: a loaded map (BpfMap), or a fake one in tests. */
export interface SampleSource {
  entries(): Iterable<[Uint8Array, Uint8Array]>;
  clear(): void;
}

export interface SamplerHooks<T = string> {
  writeLine(line: T): void;
  flush(): void;
  /** A formatter error for one entry: counted by the caller (rethrows what is not a malformed entry). */
  countMalformed(error: unknown): void;
  afterSample(): void;
  /** Reading or clearing the map failed; sampling goes on, the caller stops the run. */
  onError(error: unknown): void;
}

export interface SampleSchedule {
  interval: number;
  clearMap: boolean;
}

/** Samples once at once, then every `schedule.interval` ms; returns what stops it. */
export function startSampler<T>(
  source: SampleSource,
  format: (key: Uint8Array, value: Uint8Array) => T,
  schedule: SampleSchedule,
  hooks: SamplerHooks<T>,
  clock: Clock,
): Cancel {
  const sampleOnce = (): void => {
    try {
      for (const [key, value] of source.entries()) {
        try {
          hooks.writeLine(format(key, value));
        } catch (error) {
          hooks.countMalformed(error);
        }
      }
      // The reference only clears at exit; clearing each interval gives per-interval
      // histograms, which is what clear_map asks for (see the README).
      if (schedule.clearMap) source.clear();
      hooks.flush();
      hooks.afterSample();
    } catch (error) {
      hooks.onError(error);
    }
  };
  const cancel = clock.every(schedule.interval, sampleOnce);
  sampleOnce();
  return cancel;
}
