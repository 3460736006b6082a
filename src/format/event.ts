/**
 * Formatter for ring buffer and perf event records (reference §3.3 plain text, §3.4 JSON).
 * Everything is compiled once per layout; `format` only reads bytes and builds one line.
 */
import type { Btf } from '../btf/btf.js';
import type { Columns } from '../btf/columns.js';
import { ByteWriterCompiler, jsonLineWriter, plainRowWriter } from './bytes.js';
import { plainCells } from './display.js';
import { compileRecord, plainHeader, plainRow } from './record.js';
import type { TextBuffer } from './text-buffer.js';
import { createTimeOfDay } from './time.js';
import { asBuffer, ValueCompiler } from './value.js';

export type OutputFormat = 'plain' | 'json';

export interface EventFormatOptions {
  format: OutputFormat;
  /** Source of wall-clock time for plain rows (tests pin it). */
  clock?: () => Date;
}

export interface EventFormatter {
  /** Plain text only: the header line, printed once before the first event (it ends with a space). */
  header: string | undefined;
  /**
   * One line of output without its newline. Throws EcliError('RUNTIME') when the record is
   * shorter than the columns; the caller counts it and goes on with the next record.
   */
  format(record: Uint8Array): string;
  /**
   * The same line, with its newline, written as UTF-8 into `out`: the record is the `length`
   * bytes at `offset` in `data`. Throws like format(), before writing anything.
   */
  formatInto(data: Buffer, offset: number, length: number, out: TextBuffer): void;
}

const TIME_HEADER = 'TIME     ';

export function createEventFormatter(btf: Btf, columns: Columns, options: EventFormatOptions): EventFormatter {
  const values = new ValueCompiler(btf);
  const record = compileRecord(values, columns);
  const writers = new ByteWriterCompiler(btf, values);
  const checkLength = (data: Buffer, offset: number, length: number): void => {
    if (length < record.needed) record.checkLength(data.subarray(offset, offset + length), 'event');
  };
  if (options.format === 'json') {
    const json = record.json;
    const line = jsonLineWriter(writers, columns);
    return {
      header: undefined,
      format(bytes) {
        const data = asBuffer(bytes);
        record.checkLength(data, 'event');
        return json(data, 0);
      },
      formatInto(data, offset, length, out) {
        checkLength(data, offset, length);
        line(data, offset, out);
      },
    };
  }
  const cells = plainCells(btf, record);
  const { header, offsets } = plainHeader(TIME_HEADER, cells.map((c) => c.column));
  const row = plainRow(cells, offsets);
  const rowInto = plainRowWriter(writers, cells, offsets);
  const timeOfDay = createTimeOfDay(options.clock);
  let time = '';
  let start: Uint8Array = new Uint8Array(0);
  return {
    header,
    format(bytes) {
      const data = asBuffer(bytes);
      record.checkLength(data, 'event');
      const time = timeOfDay();
      return row(data, `${time} `, time.length + 1);
    },
    formatInto(data, offset, length, out) {
      checkLength(data, offset, length);
      const now = timeOfDay();
      if (now !== time) {
        time = now;
        start = Buffer.from(`${now} `);
      }
      rowInto(data, offset, start, out);
    },
  };
}
