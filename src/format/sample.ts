/**
 * Formatter for sampled maps (docs/eunomia-spec.md §3.5): one text per map entry per tick, in the
 * `log2_hist`, `linear_hist` or `default_kv` plain layouts, or a JSON line for any type.
 *
 * Contract with the runner: every string `format` returns (and `header`) is written followed by
 * exactly one `\n`, the equivalent of one `println!` in the reference. A `log2_hist` text
 * already holds the reference's two `println!`s but the last newline: its key/member lines, a
 * blank line, then the histogram rows (each ending in `\n`), so after the runner's `\n` the
 * block ends in a blank line, and an all-zero histogram leaves two blank lines.
 */
import { Buffer } from 'node:buffer';
import { EcliError } from '../errors.js';
import type { Btf } from '../btf/btf.js';
import type { Column, Columns } from '../btf/columns.js';
import { BtfKind } from '../btf/types.js';
import type { MapSampleMeta } from '../package/types.js';
import { escapeControls } from '../terminal.js';
import type { OutputFormat } from './event.js';
import { compileRecord, type CompiledRecord } from './record.js';
import { jsonString } from './numbers.js';
import { createEventFormatter } from './event.js';
import { namedKeyColumns, sampleEntryName, selectSampleColumns, type FieldSelection } from './fields.js';
import { createJsonTime, createTimeText, type TimeMode } from './time.js';
import { asBuffer, ValueCompiler } from './value.js';

export interface SampleFormatOptions {
  format: OutputFormat;
  /**
   * Plain text: the time line before each interval's histograms, and default_kv's TIME column
   * (default `hms`); JSON: the `timestamp` member (default `iso`). `none` leaves them out.
   */
  time?: TimeMode;
  /** Plain default_kv rows: widen columns to fit (default), or keep fixed offsets. */
  widen?: boolean;
  /** `--fields`: the key and value columns of default_kv rows (plain text) and JSON lines to show. */
  fields?: FieldSelection;
  /** The map's `sample` meta: `type` (default `default_kv`), `unit` (default `(unit)`), and for
   * `linear_hist` our optional `min` (default 0) and `step` (default 1). */
  sample: MapSampleMeta;
  /** For messages. */
  mapName: string;
  clock?: () => Date;
}

export interface SampleFormatter {
  /** Plain `default_kv` only: the header line, printed once. */
  header: string | undefined;
  /** Plain histograms: the line printed before each interval's entries (its time); undefined for none. */
  intervalHeader(): string | undefined;
  /**
   * The text of one map entry, one of `entries` entries read in this interval; throws
   * EcliError('RUNTIME') when a buffer is too short.
   */
  format(key: Uint8Array, value: Uint8Array, entries?: number): string;
}

/** What the histogram heading shows when a package gives no `unit` (the reference's text). */
export const DEFAULT_UNIT = '(unit)';

export function createSampleFormatter(btf: Btf, keyColumns: Columns, valueColumns: Columns, options: SampleFormatOptions): SampleFormatter {
  const compiler = new ValueCompiler(btf);
  const key = compileRecord(compiler, keyColumns);
  const value = compileRecord(compiler, valueColumns);
  const type = options.sample.type ?? 'default_kv';
  const unit = escapeControls(options.sample.unit ?? DEFAULT_UNIT);
  const read = (keyBytes: Uint8Array, valueBytes: Uint8Array): [Buffer, Buffer] => {
    const k = asBuffer(keyBytes);
    const v = asBuffer(valueBytes);
    key.checkLength(k, `key of map ${options.mapName}`);
    value.checkLength(v, `value of map ${options.mapName}`);
    return [k, v];
  };

  const histogram = type === 'log2_hist' || type === 'linear_hist';
  if (!histogram && type !== 'default_kv' && options.format === 'plain') {
    throw new EcliError('PACKAGE_INVALID', `map ${options.mapName}: unknown sample type "${String(type)}"`, {
      hint: 'use log2_hist, linear_hist or default_kv',
    });
  }
  if (histogram && options.fields !== undefined) {
    throw new EcliError('USAGE', `--fields chooses the columns of events and of default_kv maps, but map ${options.mapName} is a ${type} histogram`, {
      hint: 'leave out --fields for this package',
    });
  }
  // JSON prints the value whatever it holds, as the reference does: buckets only when it has slots.
  const hasSlots = histogram && (options.format === 'plain' || value.columns.members.some((c) => c.name === 'slots'));
  const slots = hasSlots ? slotsReader(btf, value, options.mapName, type) : undefined;
  const bounds = hasSlots && type === 'linear_hist' ? linearBounds(options.sample, options.mapName) : undefined;
  const noHeader = (): undefined => undefined;

  if (options.format === 'json') {
    const mode = options.time ?? 'iso';
    const time = mode === 'none' ? undefined : createJsonTime(mode, options.clock);
    const unitJson = jsonString(options.sample.unit ?? DEFAULT_UNIT);
    // --fields keeps some members of the key and value objects (named as the reference names them).
    const kept = options.fields === undefined ? undefined : selectSampleColumns(keyColumns, valueColumns, options.fields);
    const keyJson = kept === undefined ? key : compileRecord(compiler, { ...keyColumns, members: kept.key.map((i) => keyColumns.members[i]!) });
    const valueJson = kept === undefined ? value : compileRecord(compiler, { ...valueColumns, members: kept.value.map((i) => valueColumns.members[i]!) });
    return {
      header: undefined,
      intervalHeader: noHeader,
      format(keyBytes, valueBytes) {
        const [k, v] = read(keyBytes, valueBytes);
        // Sorted keys, like the reference's {"key","value"}: buckets, key, timestamp, unit, value.
        const buckets = slots === undefined ? '' : `"buckets":${bucketsJson(slots.read(v), bounds)},`;
        const stamp = time === undefined ? '' : `,"timestamp":${time()}`;
        const unitField = slots === undefined ? '' : `,"unit":${unitJson}`;
        return `{${buckets}"key":${keyJson.json(k, 0)}${stamp}${unitField},"value":${valueJson.json(v, 0)}}`;
      },
    };
  }

  if (slots === undefined) {
    // Rows of real columns, as events print: key members then value members, one record of
    // the key's bytes followed by the value's (the reference prints two JSON objects instead).
    const keySize = keyColumns.size;
    const record: Columns = {
      describe: sampleEntryName(keyColumns, valueColumns),
      members: [...namedKeyColumns(keyColumns).members, ...valueColumns.members.map((c) => ({ ...c, offset: c.offset + keySize }))],
      size: keySize + valueColumns.size,
    };
    const rows = createEventFormatter(btf, record, {
      format: 'plain',
      ...(options.fields ? { fields: options.fields } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.time === undefined ? {} : { time: options.time }),
      ...(options.widen === undefined ? {} : { widen: options.widen }),
    });
    const joined = Buffer.alloc(record.size);
    return {
      header: rows.header,
      intervalHeader: noHeader,
      format(keyBytes, valueBytes) {
        const [k, v] = read(keyBytes, valueBytes);
        k.copy(joined, 0, 0, keySize);
        v.copy(joined, keySize, 0, valueColumns.size);
        return rows.format(joined);
      },
    };
  }

  const render =
    bounds === undefined ? (counts: bigint[]) => log2Histogram(counts, unit) : (counts: bigint[]) => linearHistogram(counts, unit, bounds.min, bounds.step);
  const others = value.columns.members
    .map((c, i) => ({ c, label: `${escapeControls(c.name)} = `, plain: value.values[i]!.plain }))
    .filter(({ c }) => c !== slots.column);
  const keyPlain = key.values.map((v, i) => ({ plain: v.plain, offset: keyColumns.members[i]!.offset }));
  const mode = options.time ?? 'hms';
  const time = mode === 'none' ? undefined : createTimeText(mode, options.clock);
  return {
    header: undefined,
    intervalHeader: () => time?.(),
    format(keyBytes, valueBytes, entries) {
      const [k, v] = read(keyBytes, valueBytes);
      let text = '';
      if (!(entries === 1 && isPlaceholderKey(k, keyColumns.size))) {
        // Each key column adds a space and its text: a single key reads `key =  4294967295`.
        text = 'key = ';
        for (const { plain, offset } of keyPlain) text += ` ${plain(k, offset)}`;
        text += '\n';
      }
      for (const { c, label, plain } of others) {
        const shown = plain(v, c.offset);
        if (shown !== '') text += `${label}${shown}\n`;
      }
      return `${text}\n${render(slots.read(v))}`;
    },
  };
}

/**
 * The key of a map's only entry that stands for "everything" rather than naming something: all
 * bits set (runqlat's `-1`) or all zero (a `struct key = {}`). Its key line says nothing.
 */
function isPlaceholderKey(key: Buffer, size: number): boolean {
  const bytes = key.subarray(0, size);
  return bytes.every((b) => b === 0xff) || bytes.every((b) => b === 0);
}

/**
 * `[{"count":N,"high":H,"low":L},...]`, one per slot: the inclusive integer bounds each slot
 * counts (log2 slot i: 2^i..2^(i+1)-1, slot 0 from 0; linear: min+i*step..min+(i+1)*step-1).
 */
function bucketsJson(counts: readonly bigint[], linear: LinearBounds | undefined): string {
  const items = counts.map((count, i) => {
    const [low, high] = slotBounds(i, linear);
    return `{"count":${count},"high":${high},"low":${low}}`;
  });
  return `[${items.join(',')}]`;
}

export interface SlotsReader {
  column: Column;
  /** Number of slots. */
  count: number;
  read(value: Buffer): bigint[];
}

/** The `slots` member's counters, read with their real element type (u8 to u64). */
export function slotsReader(btf: Btf, value: CompiledRecord, mapName: string, type: string): SlotsReader {
  const column = value.columns.members.find((c) => c.name === 'slots');
  if (!column) {
    throw new EcliError('PACKAGE_INVALID', `${type} map ${mapName}: ${value.columns.describe} has no member named "slots"`, {
      hint: 'a histogram map value needs an integer array member named slots',
    });
  }
  const array = btf.resolve(column.typeId);
  const element = array.kind === BtfKind.Array ? btf.resolve(array.type) : undefined;
  if (array.kind !== BtfKind.Array || element?.kind !== BtfKind.Int || element.bool || ![1, 2, 4, 8].includes(element.size)) {
    throw new EcliError('PACKAGE_INVALID', `${type} map ${mapName}: member "slots" is ${btf.typeName(column.typeId)}, not an array of integers`, {
      hint: 'declare the histogram counters as an unsigned integer array, e.g. __u32 slots[26]',
    });
  }
  const count = array.nelems;
  const width = element.size;
  return {
    column,
    count,
    read(data) {
      const counts = new Array<bigint>(count);
      for (let i = 0, at = column.offset; i < count; i++, at += width) {
        counts[i] = width === 8 ? data.readBigUInt64LE(at) : BigInt(data.readUIntLE(at, width));
      }
      return counts;
    },
  };
}

function stars(count: bigint, max: bigint, width: number): string {
  const n = Number((count * BigInt(width)) / max);
  return '*'.repeat(n) + ' '.repeat(width - n);
}

/**
 * bcc's print_log2_hist layout, as the reference prints it: empty when every slot is zero,
 * otherwise a heading and one `\n`-terminated row per slot up to the last non-zero one.
 */
export function log2Histogram(counts: readonly bigint[], unit: string): string {
  let last = -1;
  let max = 0n;
  counts.forEach((c, i) => {
    if (c > 0n) last = i;
    if (c > max) max = c;
  });
  if (last < 0) return '';
  const wide = last > 32;
  const width = wide ? 20 : 10;
  const starWidth = wide ? 20 : 40;
  let text = `${' '.repeat(wide ? 15 : 5)}${unit.padEnd(wide ? 29 : 19)} : count    distribution\n`;
  for (let i = 0; i <= last; i++) {
    const [low, high] = slotBounds(i, undefined);
    const count = counts[i]!;
    text += `${`${low}`.padStart(width)} -> ${`${high}`.padEnd(width)} : ${`${count}`.padEnd(8)} |${stars(count, max, starWidth)}|\n`;
  }
  return text;
}

/** A `linear_hist`'s `min` (default 0) and `step` (default 1): slot i counts [min + i*step, min + (i+1)*step). */
export interface LinearBounds {
  min: bigint;
  step: bigint;
}

/**
 * The inclusive integer bounds of histogram slot `i`: of a log2_hist [2^i, 2^(i+1) - 1] (slot 0
 * holds 0 and 1), of a linear_hist (`linear`) [min + i*step, min + (i+1)*step - 1].
 */
export function slotBounds(i: number, linear: LinearBounds | undefined): [low: bigint, high: bigint] {
  if (linear === undefined) return [i === 0 ? 0n : 1n << BigInt(i), (1n << BigInt(i + 1)) - 1n];
  const low = linear.min + BigInt(i) * linear.step;
  return [low, low + linear.step - 1n];
}

export function linearBounds(sample: MapSampleMeta, mapName: string): LinearBounds {
  const min = sample['min'] ?? 0;
  const step = sample['step'] ?? 1;
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(step) || (step as number) < 1) {
    throw new EcliError('PACKAGE_INVALID', `linear_hist map ${mapName}: sample min must be an integer and step a positive integer`, {
      hint: 'set e.g. "sample": {"interval": 1000, "type": "linear_hist", "min": 0, "step": 10}',
    });
  }
  return { min: BigInt(min as number), step: BigInt(step as number) };
}

/**
 * A linear histogram in the log2 layout: slot `i` counts values in [min + i*step, min + (i+1)*step),
 * shown as inclusive integer bounds. Rows run from the first to the last non-zero slot; columns
 * widen past 10 characters when a bound needs it. Empty when every slot is zero.
 */
export function linearHistogram(counts: readonly bigint[], unit: string, min: bigint, step: bigint): string {
  let first = -1;
  let last = -1;
  let max = 0n;
  counts.forEach((c, i) => {
    if (c > 0n) {
      if (first < 0) first = i;
      last = i;
    }
    if (c > max) max = c;
  });
  if (last < 0) return '';
  const bounds = (i: number): [string, string] => {
    const [low, high] = slotBounds(i, { min, step });
    return [`${low}`, `${high}`];
  };
  let width = 10;
  for (const i of [first, last]) for (const b of bounds(i)) width = Math.max(width, b.length);
  let text = `${' '.repeat(width - 5)}${unit.padEnd(width + 9)} : count    distribution\n`;
  for (let i = first; i <= last; i++) {
    const [low, high] = bounds(i);
    const count = counts[i]!;
    text += `${low.padStart(width)} -> ${high.padEnd(width)} : ${`${count}`.padEnd(8)} |${stars(count, max, 40)}|\n`;
  }
  return text;
}
