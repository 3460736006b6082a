/**
 * Formatter for ring buffer and perf event records (docs/eunomia-spec.md §3.3 plain text, §3.4 JSON).
 * Everything is compiled once per layout; `formatInto` only reads bytes and writes one line.
 */
import { Buffer } from 'node:buffer';
import { escapeControls } from '../terminal.js';
import type { Btf } from '../btf/btf.js';
import type { Column, Columns } from '../btf/columns.js';
import { ByteWriterCompiler, jsonLineWriter, plainRowWriter, type ExtraJsonField } from './bytes.js';
import { hintDecoders, plainCells } from './display.js';
import { currentBootTimeNs, isValueHint, twinKey, type HintContext } from './hints.js';
import { CONTAINER_COLUMN, selectColumns, type FieldSelection } from './fields.js';
import { CONTAINER_KEY, containerCell, containerJson, type ContainerInfo } from './container.js';
import type { SampleOrderSettings } from './sample-order.js';
import { compileRecord, plainHeader, type PlainCell } from './record.js';
import { TextBuffer } from './text-buffer.js';
import { createJsonTime, createTimeText, timeTextWidth, type TimeMode } from './time.js';
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
  /**
   * The records come with their container (the run looks it up): JSON lines show it as a
   * `container` member (none for host processes), plain text as a CONTAINER column when
   * `fields` asks for it.
   */
  containers?: boolean;
}

/** What the command line chooses about output (`-j`, `--fields`, `--time`, `--no-widen`). */
export type OutputSettings = Omit<EventFormatOptions, 'clock' | 'bootTimeNs'> & SampleOrderSettings;

export interface EventFormatter {
  /** Plain text only: the header line, printed once before the first event (it ends with a space). */
  header: string | undefined;
  /**
   * The text `formatInto` writes for `record`, without its last newline. Throws like formatInto.
   */
  format(record: Uint8Array, container?: ContainerInfo): string;
  /**
   * One line with its newline (plain text: after a header line when the columns just widened),
   * written as UTF-8 into `out`: the record is the `length` bytes at `offset` in `data`. Throws
   * EcliError('RUNTIME') when the record is shorter than its struct, before writing anything;
   * the caller counts it and goes on with the next record. `container`: the record's, when the
   * formatter was made with `containers` (undefined for a host process).
   */
  formatInto(data: Buffer, offset: number, length: number, out: TextBuffer, container?: ContainerInfo): void;
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
    format(bytes, container) {
      const data = asBuffer(bytes);
      checkLength(data, 0, data.length);
      scratch.clear();
      formatInto.write(data, 0, scratch, container);
      return scratch.view().toString('utf8', 0, scratch.length - 1);
    },
    formatInto(data, offset, length, out, container) {
      checkLength(data, offset, length);
      formatInto.write(data, offset, out, container);
    },
  };
}

interface LineFormatter {
  header: string | undefined;
  write(data: Buffer, offset: number, out: TextBuffer, container: ContainerInfo | undefined): void;
}

function jsonFormatter(btf: Btf, writers: ByteWriterCompiler, columns: Columns, options: EventFormatOptions, hints: HintContext): LineFormatter {
  const selected = selectColumns(columns, options.fields ?? { kind: 'change', add: [], remove: [] }, () => true, options.containers === true);
  const shown = selected.filter((c) => c !== CONTAINER_COLUMN);
  const mode = options.time ?? 'iso';
  const extras: ExtraJsonField[] = hintTwins(btf, columns, shown, hints);
  if (mode !== 'none' && !columns.members.some((c) => c.name === JSON_TIME_KEY)) {
    const json = createJsonTime(mode, options.clock);
    let last = '';
    let bytes: Uint8Array = new Uint8Array(0);
    const write = (out: TextBuffer): void => {
      const now = json();
      if (now !== last) {
        last = now;
        bytes = Buffer.from(now);
      }
      out.constant(bytes);
    };
    extras.push({ key: JSON_TIME_KEY, offset: 0, write: (_data, _offset, out) => write(out) });
  }
  const line = jsonLineWriter(writers, shown, extras);
  if (!selected.includes(CONTAINER_COLUMN)) return { header: undefined, write: line };
  // Two writers: a host process's line has no container member at all.
  let current: ContainerInfo | undefined;
  const containerJsonWriter = { key: CONTAINER_KEY, offset: 0, write: (_d: Buffer, _o: number, out: TextBuffer) => out.string(containerJson(current!)) };
  const withContainer = jsonLineWriter(writers, shown, [...extras, containerJsonWriter]);
  return {
    header: undefined,
    write(data, offset, out, container) {
      if (container === undefined) return line(data, offset, out);
      current = container;
      withContainer(data, offset, out);
    },
  };
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
  const shown = options.fields ? plainSelection(columns, options.fields, options.containers === true) : columns.members;
  const members = shown.filter((c) => c !== CONTAINER_COLUMN);
  const cells = plainCells(btf, compileRecord(values, { ...columns, members }), hints);
  // The CONTAINER column writes the current record's container, which write() sets.
  let current: ContainerInfo | undefined;
  const at = shown.indexOf(CONTAINER_COLUMN);
  if (at >= 0) {
    const text = (): string => escapeControls(containerCell(current));
    cells.splice(at, 0, { column: CONTAINER_COLUMN, plain: text, mayBeNonAscii: true, write: (_d, _o, out) => out.string(text()) });
  }
  const mode = options.time ?? 'hms';
  const start = mode === 'none' ? '' : 'TIME'.padEnd(timeTextWidth(mode) + 1);
  const names = cells.map((c) => c.column);
  const widen = options.widen ?? true;
  // Widening columns start at their type's width; the last one has nothing after it to align.
  const lead = mode === 'none' ? 0 : 1;
  const typical = (c: PlainCell): number => (c.column === CONTAINER_COLUMN ? CONTAINER_START_WIDTH : startWidth(btf, c.column));
  const starts = widen ? cells.map((c, i) => (i < cells.length - 1 ? typical(c) + 1 + (i === 0 ? lead : 0) : 0)) : [];
  let layout = plainHeader(start, names, starts);
  const offsets = [...layout.offsets];
  const row = plainRowWriter(writers, cells, offsets, lead === 1);
  const maxWidth = options.maxWidth;
  const timeText = mode === 'none' ? () => '' : createTimeText(mode, options.clock);
  let time = '';
  let prefix: Uint8Array = new Uint8Array(0);
  return {
    header: layout.header,
    write(data, offset, out, container) {
      current = container;
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
function plainSelection(columns: Columns, fields: FieldSelection, containers: boolean): Column[] {
  // Plain text shows the container only when asked (+container), as it does hidden members.
  return selectColumns(columns, fields, (c) => c.display !== 'hidden' && c !== CONTAINER_COLUMN, containers).map((c) =>
    c.display === 'hidden' ? { ...c, display: undefined } : c,
  );
}

/** Container names as podman makes them up (`sharp_turing`) fit; longer ones widen the column. */
const CONTAINER_START_WIDTH = 16;
