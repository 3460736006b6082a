/** Samples a map on a timer: formats every entry (as a line, or a decoded entry), clears the map when asked, flushes the output. */
import type { MapEntry } from '../format/sample-order.js';
import type { Cancel, Clock } from './clock.js';

/** What sampling reads: a loaded map (BpfMap), or a fake one in tests. */
export interface SampleSource {
  entries(): Iterable<[Uint8Array, Uint8Array]>;
  clear(): void;
}

export interface SamplerHooks<T = string> {
  /** The entries of one interval in the order to print them (`--sort`, `--top`); default: as read. */
  arrange?(entries: MapEntry[]): MapEntry[];
  /** Written before the entries of an interval that has any (its time). */
  intervalHeader?(): T | undefined;
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
  /** `entries`: how many entries the map held in this interval. */
  format: (key: Uint8Array, value: Uint8Array, entries: number) => T,
  schedule: SampleSchedule,
  hooks: SamplerHooks<T>,
  clock: Clock,
): Cancel {
  const sampleOnce = (): void => {
    try {
      const read: MapEntry[] = [...source.entries()];
      const shown = hooks.arrange ? hooks.arrange(read) : read;
      const header = shown.length > 0 ? hooks.intervalHeader?.() : undefined;
      if (header !== undefined) hooks.writeLine(header);
      for (const [key, value] of shown) {
        try {
          hooks.writeLine(format(key, value, read.length));
        } catch (error) {
          hooks.countMalformed(error);
        }
      }
      // The reference only clears at exit; clearing each interval gives per-interval
      // histograms, which is what clear_map asks for (see docs/metrics.md).
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
