/**
 * Formatter for ring buffer and perf event records (reference §3.3 plain text, §3.4 JSON).
 * Everything is compiled once per layout; `format` only reads bytes and builds one line.
 */
import type { Btf } from '../btf/btf.js';
import type { Columns } from '../btf/export-check.js';
import { compileRecord, plainHeader, plainRow } from './record.js';
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
}

const TIME_HEADER = 'TIME     ';

export function createEventFormatter(btf: Btf, columns: Columns, options: EventFormatOptions): EventFormatter {
  const record = compileRecord(new ValueCompiler(btf), columns);
  if (options.format === 'json') {
    const json = record.json;
    return {
      header: undefined,
      format(bytes) {
        const data = asBuffer(bytes);
        record.checkLength(data, 'event');
        return json(data, 0);
      },
    };
  }
  const { header, offsets } = plainHeader(TIME_HEADER, columns.members);
  const row = plainRow(record, offsets);
  const timeOfDay = createTimeOfDay(options.clock);
  return {
    header,
    format(bytes) {
      const data = asBuffer(bytes);
      record.checkLength(data, 'event');
      const time = timeOfDay();
      return row(data, `${time} `, time.length + 1);
    },
  };
}
