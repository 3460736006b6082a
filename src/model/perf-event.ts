/**
 * The sampling event behind a `perf_event` program: the package's `perf_event` meta resolved
 * to a perf_event_attr. Pure.
 */
import { EcliError } from '../errors.js';
import type { PerfEventMeta } from '../package/types.js';

export interface PerfEventSpec {
  type: 'software' | 'hardware';
  config: string;
  /** Samples per second when `freq`, else events per sample. */
  sample: number;
  freq: boolean;
  /** False when the package named no event: a missing PMU then falls back to software. */
  explicit: boolean;
}

const HARDWARE: Record<string, number> = {
  'cpu-cycles': 0,
  cycles: 0,
  instructions: 1,
  'cache-references': 2,
  'cache-misses': 3,
  'branch-instructions': 4,
  branches: 4,
  'branch-misses': 5,
  'bus-cycles': 6,
  'stalled-cycles-frontend': 7,
  'stalled-cycles-backend': 8,
  'ref-cycles': 9,
};
const SOFTWARE: Record<string, number> = {
  'cpu-clock': 0,
  'task-clock': 1,
  'page-faults': 2,
  'context-switches': 3,
  'cpu-migrations': 4,
  'minor-faults': 5,
  'major-faults': 6,
  'alignment-faults': 7,
  'emulation-faults': 8,
};
const TABLES = { hardware: HARDWARE, software: SOFTWARE };
const PERF_TYPE = { hardware: 0, software: 1 };

const DEFAULT_SAMPLE_FREQ = 49;
const PERF_ATTR_SIZE = 128;
const ATTR_FLAG_FREQ = 1n << 10n;

/** The default when a package names no event, and the fallback without a CPU PMU. */
export const SOFTWARE_FALLBACK = { type: 'software', config: 'cpu-clock' } as const;

export function resolvePerfEvent(meta: PerfEventMeta | undefined, programName: string): PerfEventSpec {
  const invalid = (what: string) =>
    new EcliError('PACKAGE_INVALID', `program ${programName}: perf_event ${what}`, {
      hint: `use e.g. "perf_event": {"type": "software", "config": "cpu-clock", "sample_freq": ${DEFAULT_SAMPLE_FREQ}}`,
    });
  const explicit = meta?.type !== undefined || meta?.config !== undefined;
  let type = meta?.type;
  if (type !== undefined && type !== 'software' && type !== 'hardware') {
    throw invalid(`type "${String(type)}" is neither "software" nor "hardware"`);
  }
  const config = meta?.config ?? (type === 'software' ? SOFTWARE_FALLBACK.config : 'cpu-cycles');
  type ??= Object.hasOwn(SOFTWARE, config) ? 'software' : 'hardware';
  if (!Object.hasOwn(TABLES[type], config)) {
    throw invalid(`config "${config}" is not a ${type} event; known: ${Object.keys(TABLES[type]).join(', ')}`);
  }
  if (meta?.sample_freq !== undefined && meta.sample_period !== undefined) {
    throw invalid('sets both sample_freq and sample_period; keep one');
  }
  const freq = meta?.sample_period === undefined;
  const sample = freq ? (meta?.sample_freq ?? DEFAULT_SAMPLE_FREQ) : meta!.sample_period!;
  if (!Number.isSafeInteger(sample) || sample <= 0) {
    throw invalid(`${freq ? 'sample_freq' : 'sample_period'} must be a positive integer, not ${sample}`);
  }
  return { type, config, sample, freq, explicit };
}

/** struct perf_event_attr (128 bytes, the layout of <linux/perf_event.h>). */
export function encodePerfEventAttr(spec: PerfEventSpec): Buffer {
  const attr = Buffer.alloc(PERF_ATTR_SIZE);
  attr.writeUInt32LE(PERF_TYPE[spec.type], 0);
  attr.writeUInt32LE(PERF_ATTR_SIZE, 4);
  attr.writeBigUInt64LE(BigInt(TABLES[spec.type][spec.config]!), 8);
  attr.writeBigUInt64LE(BigInt(spec.sample), 16);
  attr.writeBigUInt64LE(spec.freq ? ATTR_FLAG_FREQ : 0n, 40);
  return attr;
}
