/**
 * A record (ring buffer event, map key or map value) compiled from its columns: per-column value
 * decoders, the JSON object of all columns, and the length check of received bytes.
 */
import { Buffer } from 'node:buffer';
import { EcliError } from '../errors.js';
import type { Column, Columns } from '../btf/columns.js';
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

/** Plain-text header of the reference: each name upper-cased (ASCII only), padded to 6, then a space. */
export function plainHeader(start: string, columns: readonly Column[]): { header: string; offsets: number[] } {
  let header = start;
  let bytes = Buffer.byteLength(start);
  const offsets: number[] = [];
  for (const c of columns) {
    offsets.push(bytes);
    const name = c.name.replace(/[a-z]+/g, (s) => s.toUpperCase());
    const nameBytes = Buffer.byteLength(name);
    const padding = nameBytes < 6 ? 6 - nameBytes : 0;
    header += name + ' '.repeat(padding + 1);
    bytes += nameBytes + padding + 1;
  }
  return { header, offsets };
}

/** How plain text shows one column. */
export interface PlainCell {
  column: Column;
  plain: Decoder;
  /** False when the text is always ASCII, so its UTF-16 length equals its UTF-8 length. */
  mayBeNonAscii: boolean;
}

/** Appends the plain text of each cell after `start`, aligned to `offsets` (UTF-8 byte positions). */
export type PlainRow = (data: Buffer, start: string, startBytes: number) => string;

export function plainRow(cells: readonly PlainCell[], offsets: readonly number[]): PlainRow {
  const count = cells.length;
  const decoders = cells.map((c) => c.plain);
  const positions = cells.map((c) => c.column.offset);
  const nonAscii = cells.map((c) => c.mayBeNonAscii);
  const widest = offsets.reduce((max, o) => Math.max(max, o), 0);
  const pads = Array.from({ length: widest + 1 }, (_, n) => ' '.repeat(n));
  return (data, start, startBytes) => {
    let text = start;
    let at = startBytes;
    for (let i = 0; i < count; i++) {
      const column = offsets[i]!;
      if (at < column) {
        text += pads[column - at]!;
        at = column;
      } else {
        text += ' ';
        at++;
      }
      const value = decoders[i]!(data, positions[i]!);
      text += value;
      at += nonAscii[i] ? Buffer.byteLength(value) : value.length;
    }
    return text;
  };
}
