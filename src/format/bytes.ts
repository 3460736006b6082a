/**
 * Byte writers: the text of value.ts's decoders written straight into a TextBuffer, so an event
 * costs no strings. Integers, bools, pointers, ASCII char arrays, small enums and arrays of these
 * are written from the record's bytes; every other value (and any char array that is not plain
 * ASCII) goes through its string decoder, so the output is the same bytes in every case.
 */
import { Buffer } from 'node:buffer';
import type { Btf } from '../btf/btf.js';
import type { Column } from '../btf/columns.js';
import { BtfKind } from '../btf/types.js';
import type { PlainCell } from './record.js';
import type { TextBuffer } from './text-buffer.js';
import { isCharArray, objectPlan, type Decoder, type ValueCompiler } from './value.js';

/** Writes the text of the value at `offset` in `data`. */
export type ByteWriter = (data: Buffer, offset: number, out: TextBuffer) => void;

type Flavour = 'json' | 'plain';

const TWO_POW_32 = 4294967296;
/** As in value.ts: 64-bit values whose high word is in [-2^21, 2^21) are exact doubles. */
const SAFE_HIGH = 0x200000;
/** Distinct enum values whose text is kept, per enum type. */
const MAX_CACHED_TEXTS = 1024;
const QUOTE = 0x22;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

const stringWriter =
  (decoder: Decoder): ByteWriter =>
  (data, offset, out) =>
    out.string(decoder(data, offset));

const boolWriter: ByteWriter = (data, offset, out) => out.constant(data[offset] !== 0 ? TRUE : FALSE);

const u32At = (d: Buffer, o: number): number => (d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16) | (d[o + 3]! << 24)) >>> 0;
const i32At = (d: Buffer, o: number): number => d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16) | (d[o + 3]! << 24);

/** The writer of an integer of `bits` bits; 64-bit values beyond 2^53 and 128-bit ones use `decoder`. */
function integerWriter(bits: number, signed: boolean, decoder: Decoder): ByteWriter | undefined {
  switch (bits) {
    case 8:
      return signed ? (d, o, out) => out.integer((d[o]! << 24) >> 24) : (d, o, out) => out.integer(d[o]!);
    case 16:
      return signed ? (d, o, out) => out.integer(((d[o]! | (d[o + 1]! << 8)) << 16) >> 16) : (d, o, out) => out.integer(d[o]! | (d[o + 1]! << 8));
    case 32:
      return signed ? (d, o, out) => out.integer(i32At(d, o)) : (d, o, out) => out.integer(u32At(d, o));
    case 64:
      return signed
        ? (d, o, out) => {
            const high = i32At(d, o + 4);
            if (high >= -SAFE_HIGH && high < SAFE_HIGH) out.integer(high * TWO_POW_32 + u32At(d, o));
            else out.string(decoder(d, o));
          }
        : (d, o, out) => {
            const high = u32At(d, o + 4);
            if (high < SAFE_HIGH) out.integer(high * TWO_POW_32 + u32At(d, o));
            else out.string(decoder(d, o));
          };
    default:
      return undefined;
  }
}

/** A value of at most 4 bytes whose text depends only on those bytes: texts are kept per raw value. */
function memoWriter(size: number, decoder: Decoder): ByteWriter {
  const texts = new Map<number, Uint8Array>();
  return (d, o, out) => {
    const raw = size === 1 ? d[o]! : size === 2 ? d[o]! | (d[o + 1]! << 8) : u32At(d, o);
    let text = texts.get(raw);
    if (text === undefined) {
      text = Buffer.from(decoder(d, o));
      if (texts.size < MAX_CACHED_TEXTS) texts.set(raw, text);
    }
    out.constant(text);
  };
}

/** JSON of `char[length]`: bytes up to the NUL, quoted, when none is non-ASCII or needs escaping. */
function charArrayJson(length: number, decoder: Decoder): ByteWriter {
  return (d, o, out) => {
    const end = o + length;
    let stop = o;
    let plain = true;
    for (; stop < end; stop++) {
      const c = d[stop]!;
      if (c === 0) break;
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7f) plain = false;
    }
    if (!plain) {
      out.string(decoder(d, o));
      return;
    }
    out.byte(QUOTE);
    out.copy(d, o, stop - o);
    out.byte(QUOTE);
  };
}

/**
 * Plain text of `char[length]`: bytes up to the NUL as they are, when all are printable ASCII;
 * otherwise the decoder's text, which escapes control characters (tab takes that path too).
 */
function charArrayPlain(length: number, decoder: Decoder): ByteWriter {
  return (d, o, out) => {
    const end = o + length;
    let stop = o;
    let printable = true;
    for (; stop < end; stop++) {
      const c = d[stop]!;
      if (c === 0) break;
      if (c < 0x20 || c > 0x7e) printable = false;
    }
    if (printable) out.copy(d, o, stop - o);
    else out.string(decoder(d, o));
  };
}

export class ByteWriterCompiler {
  private readonly writers: Record<Flavour, Map<number, ByteWriter>> = { json: new Map(), plain: new Map() };

  /** `values` must be the compiler whose decoders the output has to match. */
  constructor(
    private readonly btf: Btf,
    readonly values: ValueCompiler,
  ) {}

  /** The writer of the JSON or plain text of a value of type `typeId` (cached). */
  writer(typeId: number, flavour: Flavour): ByteWriter {
    const cached = this.writers[flavour].get(typeId);
    if (cached) return cached;
    const built = this.build(typeId, flavour);
    this.writers[flavour].set(typeId, built);
    return built;
  }

  private build(typeId: number, flavour: Flavour): ByteWriter {
    const compiled = this.values.compile(typeId);
    const decoder = compiled[flavour];
    const t = this.btf.resolve(typeId);
    switch (t.kind) {
      case BtfKind.Int:
        if (t.bool) return boolWriter;
        return integerWriter(t.bits, t.signed, decoder) ?? stringWriter(decoder);
      case BtfKind.Ptr:
        return integerWriter(64, false, decoder)!;
      case BtfKind.Enum:
      case BtfKind.Enum64:
        return t.size <= 4 ? memoWriter(t.size, decoder) : stringWriter(decoder);
      case BtfKind.Array: {
        if (this.btf.type(t.type).name === 'char') {
          return flavour === 'json' ? charArrayJson(t.nelems, decoder) : charArrayPlain(t.nelems, decoder);
        }
        // Arrays print the JSON of their elements in both flavours; in plain text only numbers
        // are written without the decoder, which escapes control characters in the JSON.
        const count = t.nelems;
        if (count === 0 || (flavour === 'plain' && !this.isNumeric(t.type))) return stringWriter(decoder);
        const each = this.writer(t.type, 'json');
        const step = this.values.compile(t.type).size;
        return (d, o, out) => {
          out.byte(0x5b);
          each(d, o, out);
          for (let i = 1; i < count; i++) {
            out.byte(0x2c);
            each(d, o + i * step, out);
          }
          out.byte(0x5d);
        };
      }
      default:
        return stringWriter(decoder);
    }
  }

  /** Whether the text of `typeId` is made of numbers only: integers, pointers, floats, arrays of those (not strings). */
  private isNumeric(typeId: number): boolean {
    const t = this.btf.resolve(typeId);
    if (t.kind === BtfKind.Array) return !isCharArray(this.btf, t) && this.isNumeric(t.type);
    return t.kind === BtfKind.Int || t.kind === BtfKind.Ptr || t.kind === BtfKind.Float;
  }
}

/** A JSON member that is not one of the record's columns: the line's time stamp, a display hint's readable twin. */
export interface ExtraJsonField {
  key: string;
  /** Where in the record `write` reads (0 for a member that reads nothing). */
  offset: number;
  write: ByteWriter;
}

/**
 * One JSON line (with its newline) for a record of `columns`, as compileRecord's `json` prints it,
 * plus `extras` among the sorted keys.
 */
export function jsonLineWriter(compiler: ByteWriterCompiler, columns: readonly Column[], extras: readonly ExtraJsonField[] = []): ByteWriter {
  type Field = { key: string; value: Decoder; offset: number; write: ByteWriter };
  const fields: Field[] = columns.map((column) => ({
    key: column.name,
    value: compiler.values.compile(column.typeId).json,
    offset: column.offset,
    write: compiler.writer(column.typeId, 'json'),
  }));
  for (const extra of extras) fields.push({ key: extra.key, value: () => '', offset: extra.offset, write: extra.write });
  const plan = objectPlan(fields);
  const prefixes = plan.prefixes.map((p) => Buffer.from(p));
  const writers = plan.decoded.map((f) => f.write);
  const offsets = plan.decoded.map((f) => f.offset);
  const end = Buffer.from(`${plan.suffix}\n`);
  const count = writers.length;
  return (data, offset, out) => {
    for (let i = 0; i < count; i++) {
      out.constant(prefixes[i]!);
      writers[i]!(data, offset + offsets[i]!, out);
    }
    out.constant(end);
  };
}

export interface PlainRowWriter {
  /**
   * Writes one plain row (with its newline) after `start`: each cell padded to its offset in
   * `offsets` (read at every call, so the caller may move them), or after one space when the
   * previous value reached past it, as the reference does. Returns false in that case.
   */
  write(data: Buffer, offset: number, start: Uint8Array, out: TextBuffer): boolean;
  /** The UTF-8 byte length of each cell's text (written and taken back). */
  measure(data: Buffer, offset: number, out: TextBuffer): number[];
}

/**
 * `offsets` are UTF-8 byte positions in the line. With `lead`, the first cell follows the start
 * after at least one space (the reference's two spaces after the time); without, it starts the line.
 */
export function plainRowWriter(compiler: ByteWriterCompiler, cells: readonly PlainCell[], offsets: readonly number[], lead = true): PlainRowWriter {
  // A cell shown as its type's plain text gets that type's writer; display hints keep their decoder.
  const writerOf = (cell: PlainCell): ByteWriter =>
    cell.write ?? (cell.plain === compiler.values.compile(cell.column.typeId).plain ? compiler.writer(cell.column.typeId, 'plain') : stringWriter(cell.plain));
  const writers = cells.map(writerOf);
  const positions = cells.map((c: { column: Column }) => c.column.offset);
  const count = writers.length;
  return {
    write(data, offset, start, out) {
      const lineStart = out.length;
      let fits = true;
      out.constant(start);
      for (let i = 0; i < count; i++) {
        const pad = offsets[i]! - (out.length - lineStart);
        if (pad > 0) for (let n = 0; n < pad; n++) out.byte(SPACE);
        else if (i > 0) {
          out.byte(SPACE);
          fits = false;
        } else if (lead) out.byte(SPACE);
        writers[i]!(data, offset + positions[i]!, out);
      }
      out.byte(NEWLINE);
      return fits;
    },
    measure(data, offset, out) {
      const before = out.length;
      return writers.map((write, i) => {
        write(data, offset + positions[i]!, out);
        const length = out.length - before;
        out.length = before;
        return length;
      });
    },
  };
}
