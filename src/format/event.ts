/**
 * Formatter for ring buffer and perf event records (docs/eunomia-spec.md §3.3 plain text, §3.4 JSON).
 * Everything is compiled once per layout; `formatInto` only reads bytes and writes one line.
 */
import { Buffer } from 'node:buffer';
import type { Btf } from '../btf/btf.js';
import type { Column, Columns } from '../btf/columns.js';
import { ByteWriterCompiler, jsonLineWriter, plainRowWriter, type ExtraJsonField } from './bytes.js';
import { hintDecoders, plainCells } from './display.js';
import { currentBootTimeNs, isValueHint, twinKey, type HintContext } from './hints.js';
import { selectColumns, type FieldSelection } from './fields.js';
import type { SampleOrderSettings } from './sample-order.js';
import { compileRecord, plainHeader } from './record.js';
import { TextBuffer } from './text-buffer.js';
import { createTimeText, timeTextWidth, type TimeMode } from './time.js';
import { asBuffer, ValueCompiler } from './value.js';
import { startWidth } from './widths.js';

export type OutputFormat = 'plain' | 'json';

export interface EventFormatOptions {
  format: OutputFormat;
  /** Source of wall-clock time (tests pin it). */
  clock?: () => Date;
  /** `--fields`: the columns to show; all (but hidden ones in plain text) when absent. */
  fields?: FieldSelection;
  /**
   * The time stamp of each line: plain text's first column (default `hms`, the reference's), or
   * JSON's `timestamp` member (default `iso`). `none` leaves it out: JSON is then the reference's.
   */
  time?: TimeMode;
  /**
   * Plain text: a column whose value did not fit becomes wider for the following rows, and the
   * header is printed again (default). False keeps the reference's fixed offsets.
   */
  widen?: boolean;
  /**
   * Wall-clock nanoseconds at which the monotonic clock was 0, for `boot_ns` display hints
   * (default: measured when the formatter is made; tests pin it).
   */
  bootTimeNs?: bigint;
  /**
   * Plain text: the terminal's width, read for every line. A longer line is cut to it, its last
   * character replaced by `…`, instead of wrapping onto the next lines. Absent (`--wide`, or
   * output that is not a terminal): lines are whole.
   */
  maxWidth?: () => number | undefined;
}

/** What the command line chooses about output (`-j`, `--fields`, `--time`, `--no-widen`). */
export type OutputSettings = Omit<EventFormatOptions, 'clock' | 'bootTimeNs'> & SampleOrderSettings;

export interface EventFormatter {
  /** Plain text only: the header line, printed once before the first event (it ends with a space). */
  header: string | undefined;
  /**
   * The text `formatInto` writes for `record`, without its last newline. Throws like formatInto.
   */
  format(record: Uint8Array): string;
  /**
   * One line with its newline (plain text: after a header line when the columns just widened),
   * written as UTF-8 into `out`: the record is the `length` bytes at `offset` in `data`. Throws
   * EcliError('RUNTIME') when the record is shorter than its struct, before writing anything;
   * the caller counts it and goes on with the next record.
   */
  formatInto(data: Buffer, offset: number, length: number, out: TextBuffer): void;
}

/** Name of the time stamp member added to JSON lines (unless the struct has a member of that name). */
export const JSON_TIME_KEY = 'timestamp';

export function createEventFormatter(btf: Btf, columns: Columns, options: EventFormatOptions): EventFormatter {
  const values = new ValueCompiler(btf);
  const whole = compileRecord(values, columns);
  const writers = new ByteWriterCompiler(btf, values);
  const checkLength = (data: Buffer, offset: number, length: number): void => {
    if (length < whole.needed) whole.checkLength(data.subarray(offset, offset + length), 'event');
  };
  const hints: HintContext = { bootTimeNs: options.bootTimeNs ?? currentBootTimeNs() };
  const formatInto =
    options.format === 'json' ? jsonFormatter(btf, writers, columns, options, hints) : plainFormatter(btf, values, writers, columns, options, hints);
  const scratch = new TextBuffer(1024);
  return {
    header: formatInto.header,
    format(bytes) {
      const data = asBuffer(bytes);
      checkLength(data, 0, data.length);
      scratch.clear();
      formatInto.write(data, 0, scratch);
      return scratch.view().toString('utf8', 0, scratch.length - 1);
    },
    formatInto(data, offset, length, out) {
      checkLength(data, offset, length);
      formatInto.write(data, offset, out);
    },
  };
}

interface LineFormatter {
  header: string | undefined;
  write(data: Buffer, offset: number, out: TextBuffer): void;
}

function jsonFormatter(btf: Btf, writers: ByteWriterCompiler, columns: Columns, options: EventFormatOptions, hints: HintContext): LineFormatter {
  const shown = options.fields ? selectColumns(columns, options.fields) : columns.members;
  const mode = options.time ?? 'iso';
  const extras: ExtraJsonField[] = hintTwins(btf, columns, shown, hints);
  if (mode !== 'none' && !columns.members.some((c) => c.name === JSON_TIME_KEY)) {
    const text = createTimeText(mode, options.clock);
    // ns is a JSON number; the other modes are strings (of digits and punctuation: no escapes).
    const quote = mode === 'ns' ? '' : '"';
    let last = '';
    let bytes: Uint8Array = new Uint8Array(0);
    const write = (out: TextBuffer): void => {
      const now = text();
      if (now !== last) {
        last = now;
        bytes = Buffer.from(`${quote}${now}${quote}`);
      }
      out.constant(bytes);
    };
    extras.push({ key: JSON_TIME_KEY, offset: 0, write: (_data, _offset, out) => write(out) });
  }
  const line = jsonLineWriter(writers, shown, extras);
  return { header: undefined, write: line };
}

/**
 * The readable `<name>_text` twins of shown members with a value display hint; a struct member
 * of that name keeps it, and gets no twin.
 */
function hintTwins(btf: Btf, columns: Columns, shown: readonly Column[], hints: HintContext): ExtraJsonField[] {
  const names = new Set(columns.members.map((c) => c.name));
  return shown.flatMap((column) => {
    const hint = column.display;
    if (hint === undefined || !isValueHint(hint) || names.has(twinKey(column.name))) return [];
    const { json } = hintDecoders(btf, columns.describe, column, hint, hints);
    return [{ key: twinKey(column.name), offset: column.offset, write: (data: Buffer, offset: number, out: TextBuffer) => out.string(json(data, offset)) }];
  });
}

function plainFormatter(
  btf: Btf,
  values: ValueCompiler,
  writers: ByteWriterCompiler,
  columns: Columns,
  options: EventFormatOptions,
  hints: HintContext,
): LineFormatter {
  const shown = options.fields ? plainSelection(columns, options.fields) : columns.members;
  const cells = plainCells(btf, compileRecord(values, { ...columns, members: shown }), hints);
  const mode = options.time ?? 'hms';
  const start = mode === 'none' ? '' : 'TIME'.padEnd(timeTextWidth(mode) + 1);
  const names = cells.map((c) => c.column);
  const widen = options.widen ?? true;
  // Widening columns start at their type's width; the last one has nothing after it to align.
  const lead = mode === 'none' ? 0 : 1;
  const starts = widen ? cells.map((c, i) => (i < cells.length - 1 ? startWidth(btf, c.column) + 1 + (i === 0 ? lead : 0) : 0)) : [];
  let layout = plainHeader(start, names, starts);
  const offsets = [...layout.offsets];
  const row = plainRowWriter(writers, cells, offsets, lead === 1);
  const maxWidth = options.maxWidth;
  const timeText = mode === 'none' ? () => '' : createTimeText(mode, options.clock);
  let time = '';
  let prefix: Uint8Array = new Uint8Array(0);
  return {
    header: layout.header,
    write(data, offset, out) {
      const now = timeText();
      if (now !== time) {
        time = now;
        prefix = Buffer.from(mode === 'none' ? '' : `${now} `);
      }
      const lineStart = out.length;
      const width = maxWidth?.();
      if (row.write(data, offset, prefix, out) || !widen) {
        if (width !== undefined) cutLine(out, lineStart, width);
        return;
      }
      // A value reached into the next column: widen the columns that overflowed (never the
      // last, which has nothing after it), then write the header again and the row under it.
      out.length = lineStart;
      const lengths = row.measure(data, offset, out);
      // The first value starts one byte into its column, after the time's two spaces.
      const wanted = layout.widths.map((w, i) => (i < lengths.length - 1 ? Math.max(w, lengths[i]! + 1 + (i === 0 ? lead : 0)) : w));
      layout = plainHeader(start, names, wanted);
      layout.offsets.forEach((o, i) => (offsets[i] = o));
      out.string(`${layout.header}\n`);
      if (width !== undefined) cutLine(out, lineStart, width);
      const rowStart = out.length;
      row.write(data, offset, prefix, out);
      if (width !== undefined) cutLine(out, rowStart, width);
    },
  };
}

/** The marker of a line cut at the terminal's width. */
export const CUT_MARKER = '…';

/**
 * Cuts the line that starts at `lineStart` (and ends with the buffer's last newline) to `width`
 * characters, the last being CUT_MARKER. Characters are code points: escaped text has no
 * control characters, and wide characters are rare enough in event data to count as one.
 */
export function cutLine(out: TextBuffer, lineStart: number, width: number): void {
  const end = out.length - 1;
  // UTF-8 has at least one byte per character: a line of `width` bytes fits.
  if (end - lineStart <= width || width < 1) return;
  const characters = Array.from(out.view().toString('utf8', lineStart, end));
  if (characters.length <= width) return;
  out.length = lineStart;
  out.string(`${characters.slice(0, width - 1).join('')}${CUT_MARKER}\n`);
}

/** Plain text's selected columns: naming a hidden column shows it (as its type prints). */
function plainSelection(columns: Columns, fields: FieldSelection): Column[] {
  return selectColumns(columns, fields, (c) => c.display !== 'hidden').map((c) => (c.display === 'hidden' ? { ...c, display: undefined } : c));
}
