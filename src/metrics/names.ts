/**
 * Prometheus names for what a package exports: snake_case metric and label names, and the base
 * unit (seconds, bytes) of a sampled map's `unit`.
 */
import { DEFAULT_UNIT } from '../format/sample.js';

/** Every metric a package's maps produce starts with this; ecli's own families too. */
export const METRIC_PREFIX = 'ecli_';

/** `hardIrqs`, `hard-irqs`, `HARD_IRQS` → `hard_irqs`; empty when nothing usable is left. */
export function snakeCase(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
}

/**
 * A label name from a struct member name. Prometheus reserves names starting with `__`, and
 * a leading digit is invalid, so those get the `fallback` prefix.
 */
export function labelName(member: string, fallback: string): string {
  const name = snakeCase(member);
  if (name === '') return fallback;
  return /^[0-9]/.test(name) ? `${fallback}_${name}` : name;
}

export interface BaseUnit {
  /** Appended to the metric name (`seconds`), or empty when the unit is unknown or not given. */
  suffix: string;
  /** Map values are divided by this to get the base unit (1e6 for microseconds). */
  divisor: number;
}

const TIME_UNITS: ReadonlyArray<[string[], number]> = [
  [['ns', 'nsec', 'nsecs', 'nanosecond', 'nanoseconds'], 1e9],
  [['us', 'usec', 'usecs', 'microsecond', 'microseconds'], 1e6],
  [['ms', 'msec', 'msecs', 'millisecond', 'milliseconds'], 1e3],
  [['s', 'sec', 'secs', 'second', 'seconds'], 1],
];

const BYTE_UNITS: ReadonlyArray<[string[], number]> = [
  [['b', 'byte', 'bytes'], 1],
  [['kb', 'kib', 'kbytes', 'kilobytes'], 1 / 1024],
  [['mb', 'mib', 'mbytes', 'megabytes'], 1 / (1024 * 1024)],
];

/**
 * Time units become seconds and byte units bytes (Prometheus' base units), scaling the bucket
 * bounds; any other unit is kept as a name suffix (`packets`), unscaled.
 */
export function baseUnit(unit: string | undefined): BaseUnit {
  if (unit === undefined || unit === DEFAULT_UNIT) return { suffix: '', divisor: 1 };
  const key = unit.trim().toLowerCase();
  for (const [names, divisor] of TIME_UNITS) if (names.includes(key)) return { suffix: 'seconds', divisor };
  for (const [names, divisor] of BYTE_UNITS) if (names.includes(key)) return { suffix: 'bytes', divisor };
  return { suffix: snakeCase(unit), divisor: 1 };
}

/** `ecli_<parts joined by _>`, leaving out empty parts. */
export function metricName(...parts: string[]): string {
  return METRIC_PREFIX + parts.filter((p) => p !== '').join('_');
}
