/**
 * A record (ring buffer event, map key or map value) compiled from its columns: per-column value
 * decoders, the JSON object of all columns, and the length check of received bytes.
 */
import { Buffer } from 'node:buffer';
import { EcliError } from '../errors.js';
import { escapeControls } from '../terminal.js';
import type { Column, Columns } from '../btf/columns.js';
import type { TextBuffer } from './text-buffer.js';
import { objectDecoder, type CompiledValue, type Decoder, type ValueCompiler } from './value.js';

export interface CompiledRecord {
  columns: Columns;
  /** One compiled value per column, in column order. */
  values: CompiledValue[];
  /** `{"name":value,...}` with sorted keys, as the reference's JSON output. */
  json: Decoder;
  /** Bytes a record needs to hold every column. */
  needed: number;
  /** Throws a RUNTIME error when `data` is too short for a column. */
  checkLength(data: Buffer, what: string): void;
}

export function compileRecord(compiler: ValueCompiler, columns: Columns): CompiledRecord {
  const values = columns.members.map((c) => compiler.compile(c.typeId));
  const json = objectDecoder(columns.members.map((c, i) => ({ key: c.name, value: values[i]!.json, offset: c.offset })));
  const needed = columns.members.reduce((max, c) => Math.max(max, c.offset + c.size), 0);
  return {
    columns,
    values,
    json,
    needed,
    checkLength(data, what) {
      if (data.length < needed) throw tooShort(columns, data.length, what);
    },
  };
}

function tooShort(columns: Columns, length: number, what: string): EcliError {
  const column = columns.members.find((c) => c.offset + c.size > length) as Column;
  return new EcliError(
    'RUNTIME',
    `${what} of ${length} bytes is too short for ${columns.describe}: member "${column.name}" needs bytes ${column.offset}..${column.offset + column.size}`,
    { hint: `the BPF program must submit whole ${columns.describe} records (${columns.size} bytes)` },
  );
}

/** A plain-text header: the text, and each column's byte offset and width (with its separator). */
export interface PlainHeader {
  header: string;
  offsets: number[];
  widths: number[];
}

/**
 * Plain-text header of the reference: each name upper-cased (ASCII only), padded to 6, then a
 * space. A column is wider when `minWidths` asks for more (widths count the separating space).
 * Names come from the package: their control characters are escaped.
 */
export function plainHeader(start: string, columns: readonly Column[], minWidths: readonly number[] = []): PlainHeader {
  let header = start;
  let bytes = Buffer.byteLength(start);
  const offsets: number[] = [];
  const widths: number[] = [];
  columns.forEach((c, i) => {
    offsets.push(bytes);
    const name = escapeControls(c.name.replace(/[a-z]+/g, (s) => s.toUpperCase()));
    const nameBytes = Buffer.byteLength(name);
    const width = Math.max(Math.max(nameBytes, 6) + 1, minWidths[i] ?? 0);
    widths.push(width);
    header += name + ' '.repeat(width - nameBytes);
    bytes += width;
  });
  return { header, offsets, widths };
}

/** How plain text shows one column. */
export interface PlainCell {
  column: Column;
  plain: Decoder;
  /** False when the text is always ASCII, so its UTF-16 length equals its UTF-8 length. */
  mayBeNonAscii: boolean;
  /** Writes the cell's text itself (a cell that is not read from the record's bytes). */
  write?: (data: Buffer, offset: number, out: TextBuffer) => void;
}
