/**
 * Compiled value decoders: for a BTF type, closures that turn the bytes of one value into
 * its JSON text and its plain text (docs/eunomia-spec.md §3.2). All BTF walking happens once, when a
 * type is compiled; decoding an event only reads bytes and concatenates strings.
 */
import { Buffer } from 'node:buffer';
import { EcliError } from '../errors.js';
import type { Btf } from '../btf/btf.js';
import { kindName } from '../btf/btf.js';
import { BtfKind, type BtfType } from '../btf/types.js';
import { escapeControls } from '../terminal.js';
import { formatF64, jsonString } from './numbers.js';

/** Text of the value stored at `offset` in `data`. Little-endian, like every BPF target we run. */
export type Decoder = (data: Buffer, offset: number) => string;

export interface CompiledValue {
  typeId: number;
  /** Bytes one value occupies. */
  size: number;
  /** JSON text: numbers, `true`/`false`, quoted strings, arrays, objects with sorted keys. */
  json: Decoder;
  /**
   * Plain text: like `json`, except that strings, enums and 128-bit integers are unquoted, and
   * control characters are escaped for the terminal (see terminal.ts).
   */
  plain: Decoder;
  /** False when the text is always ASCII, so its UTF-16 length equals its UTF-8 length. */
  mayBeNonAscii: boolean;
}

/** A view of `bytes` as a Buffer, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** One key of a JSON object: its value is either decoded at `offset` or a constant text. */
export interface ObjectField {
  key: string;
  value: Decoder | string;
  offset: number;
}

/** How an object's text is put together: `prefixes[i]` (keys, constant values) precedes decoded value i. */
export interface ObjectPlan<F extends ObjectField> {
  prefixes: string[];
  /** The fields whose values are decoded, in output order. */
  decoded: F[];
  suffix: string;
}

/**
 * The layout of a JSON object with the given fields, keys sorted by byte order like serde_json's
 * map. When two fields share a key, the later one wins, as inserting into that map does.
 */
export function objectPlan<F extends ObjectField>(fields: readonly F[]): ObjectPlan<F> {
  const byKey = new Map<string, F>();
  for (const field of fields) byKey.set(field.key, field);
  const sorted = [...byKey.values()].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  const prefixes: string[] = [];
  const decoded: F[] = [];
  let pending = '{';
  for (const field of sorted) {
    pending += `${pending === '{' ? '' : ','}${jsonString(field.key)}:`;
    if (typeof field.value === 'string') {
      pending += field.value;
    } else {
      prefixes.push(pending);
      decoded.push(field);
      pending = '';
    }
  }
  return { prefixes, decoded, suffix: `${pending}}` };
}

/** A decoder for the JSON object of `fields` (see objectPlan). */
export function objectDecoder(fields: readonly ObjectField[]): Decoder {
  const { prefixes, decoded, suffix } = objectPlan(fields);
  if (decoded.length === 0) return () => suffix;
  const decoders = decoded.map((f) => f.value as Decoder);
  const offsets = decoded.map((f) => f.offset);
  const count = decoders.length;
  return (data, offset) => {
    let text = '';
    for (let i = 0; i < count; i++) text += prefixes[i]! + decoders[i]!(data, offset + offsets[i]!);
    return text + suffix;
  };
}

const TWO_POW_32 = 4294967296;
/** High words in [-2^21, 2^21) keep a 64-bit value inside the exact range of a double. */
const SAFE_HIGH = 0x200000;

function u64Text(data: Buffer, offset: number): string {
  const low = (data[offset]! | (data[offset + 1]! << 8) | (data[offset + 2]! << 16) | (data[offset + 3]! << 24)) >>> 0;
  const high = (data[offset + 4]! | (data[offset + 5]! << 8) | (data[offset + 6]! << 16) | (data[offset + 7]! << 24)) >>> 0;
  if (high < SAFE_HIGH) return `${high * TWO_POW_32 + low}`;
  return data.readBigUInt64LE(offset).toString();
}

function i64Text(data: Buffer, offset: number): string {
  const low = (data[offset]! | (data[offset + 1]! << 8) | (data[offset + 2]! << 16) | (data[offset + 3]! << 24)) >>> 0;
  const high = data[offset + 4]! | (data[offset + 5]! << 8) | (data[offset + 6]! << 16) | (data[offset + 7]! << 24);
  if (high >= -SAFE_HIGH && high < SAFE_HIGH) return `${high * TWO_POW_32 + low}`;
  return data.readBigInt64LE(offset).toString();
}

function u128(data: Buffer, offset: number): bigint {
  return (data.readBigUInt64LE(offset + 8) << 64n) | data.readBigUInt64LE(offset);
}

/** The integer text reader for a width in bits; undefined for widths the formats do not know. */
function integerText(bits: number, signed: boolean): Decoder | undefined {
  switch (bits) {
    case 8:
      return signed ? (d, o) => `${(d[o]! << 24) >> 24}` : (d, o) => `${d[o]!}`;
    case 16:
      return signed ? (d, o) => `${((d[o]! | (d[o + 1]! << 8)) << 16) >> 16}` : (d, o) => `${d[o]! | (d[o + 1]! << 8)}`;
    case 32:
      return signed
        ? (d, o) => `${d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16) | (d[o + 3]! << 24)}`
        : (d, o) => `${(d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16) | (d[o + 3]! << 24)) >>> 0}`;
    case 64:
      return signed ? i64Text : u64Text;
    case 128:
      return signed ? (d, o) => BigInt.asIntN(128, u128(d, o)).toString() : (d, o) => u128(d, o).toString();
    default:
      return undefined;
  }
}

/** Bytes up to the first NUL (or the whole array), decoded as UTF-8 with U+FFFD for bad bytes. */
export function cString(length: number): Decoder {
  return (data, offset) => {
    const end = offset + length;
    let stop = offset;
    while (stop < end && data[stop] !== 0) stop++;
    return data.toString('utf8', offset, stop);
  };
}

/** cString as plain text: control characters escaped. */
function cStringPlain(length: number): Decoder {
  const read = cString(length);
  return (data, offset) => escapeControls(read(data, offset));
}

/** cString as a JSON literal; the NUL scan also finds whether any byte needs escaping. */
function cStringJson(length: number): Decoder {
  return (data, offset) => {
    const end = offset + length;
    let stop = offset;
    let plain = true;
    for (let c = data[stop]; stop < end && c !== 0; c = data[++stop]) {
      if (c! < 0x20 || c === 0x22 || c === 0x5c) plain = false;
    }
    const text = data.toString('utf8', offset, stop);
    return plain ? `"${text}"` : jsonString(text);
  };
}

/** Plain text that is JSON (arrays, structs): JSON escapes C0 but not DEL or C1. */
function plainOfJson(json: Decoder): Decoder {
  return (d, o) => escapeControls(json(d, o));
}

function isAscii(text: string): boolean {
  return !/[^\x00-\x7f]/.test(text);
}

/**
 * Arrays printed as strings. Only an element type whose own name is `char` makes a string (not
 * `unsigned char`, `u8`, or `const char`), as in the reference.
 */
export function isCharArray(btf: Btf, t: BtfType): boolean {
  return t.kind === BtfKind.Array && btf.type(t.type).name === 'char';
}

export class ValueCompiler {
  private readonly compiled = new Map<number, CompiledValue>();
  private readonly inProgress = new Set<number>();

  constructor(private readonly btf: Btf) {}

  /** The decoders of type `typeId` (cached). Throws BTF_INVALID for types that have no value text. */
  compile(typeId: number): CompiledValue {
    const cached = this.compiled.get(typeId);
    if (cached) return cached;
    if (this.inProgress.has(typeId)) this.fail(typeId, 'the type contains itself');
    this.inProgress.add(typeId);
    try {
      const value = this.build(this.btf.type(typeId));
      this.compiled.set(typeId, value);
      return value;
    } finally {
      this.inProgress.delete(typeId);
    }
  }

  private build(t: BtfType): CompiledValue {
    switch (t.kind) {
      case BtfKind.Typedef:
      case BtfKind.Const:
      case BtfKind.Volatile:
      case BtfKind.Restrict:
      case BtfKind.TypeTag:
        return { ...this.compile(t.type), typeId: t.id };
      case BtfKind.Int:
        return this.buildInt(t);
      case BtfKind.Ptr: {
        const text = integerText(64, false)!;
        return { typeId: t.id, size: 8, json: text, plain: text, mayBeNonAscii: false };
      }
      case BtfKind.Float: {
        if (t.size !== 4 && t.size !== 8) this.fail(t.id, `${t.size}-byte floats are not supported`);
        const text: Decoder = t.size === 4 ? (d, o) => formatF64(d.readFloatLE(o)) : (d, o) => formatF64(d.readDoubleLE(o));
        return { typeId: t.id, size: t.size, json: text, plain: text, mayBeNonAscii: false };
      }
      case BtfKind.Enum:
      case BtfKind.Enum64:
        return this.buildEnum(t);
      case BtfKind.Array:
        return this.buildArray(t);
      case BtfKind.Struct:
      case BtfKind.Union:
        return this.buildComposite(t);
      default:
        return this.fail(t.id, `a ${kindName(t.kind)} has no value to print`);
    }
  }

  private buildInt(t: Extract<BtfType, { kind: BtfKind.Int }>): CompiledValue {
    if (t.bool) {
      const text: Decoder = (d, o) => (d[o] !== 0 ? 'true' : 'false');
      return { typeId: t.id, size: t.size, json: text, plain: text, mayBeNonAscii: false };
    }
    const text = t.bits <= t.size * 8 ? integerText(t.bits, t.signed) : undefined;
    if (!text) return this.fail(t.id, `${t.bits}-bit integers are not supported`);
    // 128-bit integers do not fit a JSON number: they are JSON strings of their digits.
    const json: Decoder = t.bits === 128 ? (d, o) => `"${text(d, o)}"` : text;
    return { typeId: t.id, size: t.size, json, plain: text, mayBeNonAscii: false };
  }

  private buildEnum(t: Extract<BtfType, { kind: BtfKind.Enum | BtfKind.Enum64 }>): CompiledValue {
    if (t.size !== 1 && t.size !== 2 && t.size !== 4 && t.size !== 8) this.fail(t.id, `${t.size}-byte enums are not supported`);
    const bits = t.size * 8;
    // clang before 15 never marks enums unsigned; a packed enum holding values past the signed
    // range of its size is unsigned all the same.
    const signed = t.signed && t.values.every((v) => v.value < 1n << BigInt(bits - 1));
    const read = integerText(bits, signed)!;
    const names = new Map<string, string>();
    for (const v of t.values) {
      const key = v.value.toString();
      if (!names.has(key)) names.set(key, `${v.name}(${key})`);
    }
    const text = (d: Buffer, o: number): string => {
      const value = read(d, o);
      return names.get(value) ?? `<UNKNOWN_VARIANT>(${value})`;
    };
    const plain: Decoder = (d, o) => escapeControls(text(d, o));
    const json: Decoder = (d, o) => jsonString(text(d, o));
    return { typeId: t.id, size: t.size, json, plain, mayBeNonAscii: t.values.some((v) => !isAscii(v.name)) };
  }

  private buildArray(t: Extract<BtfType, { kind: BtfKind.Array }>): CompiledValue {
    const count = t.nelems;
    if (isCharArray(this.btf, t)) {
      return { typeId: t.id, size: count * this.btf.sizeOf(t.type), json: cStringJson(count), plain: cStringPlain(count), mayBeNonAscii: true };
    }
    const element = this.compile(t.type);
    const step = element.size;
    // Without this, 2^32 empty structs in zero bytes would print for ever.
    if (step === 0 && count > 0) this.fail(t.id, 'its elements have no bytes');
    const each = element.json;
    const json: Decoder =
      count === 0
        ? () => '[]'
        : (d, o) => {
            let text = '[' + each(d, o);
            for (let i = 1; i < count; i++) text += ',' + each(d, o + i * step);
            return text + ']';
          };
    return { typeId: t.id, size: count * step, json, plain: plainOfJson(json), mayBeNonAscii: element.mayBeNonAscii };
  }

  private buildComposite(t: Extract<BtfType, { kind: BtfKind.Struct | BtfKind.Union }>): CompiledValue {
    const what = t.kind === BtfKind.Struct ? 'struct' : 'union';
    const fields: ObjectField[] = [
      { key: '__EUNOMIA_TYPE', value: `"${what}"`, offset: 0 },
      { key: '__EUNOMIA_TYPE_NAME', value: jsonString(t.name), offset: 0 },
    ];
    let mayBeNonAscii = !isAscii(t.name);
    for (const m of t.members) {
      const where = `${what} ${t.name || '(anonymous)'}: member "${m.name}"`;
      if (m.bitfieldSize !== 0 || m.bitOffset % 8 !== 0) {
        throw new EcliError('BTF_INVALID', `${where} is a bitfield, which cannot be printed`, {
          hint: 'use whole integer types in exported structs',
        });
      }
      const member = this.compile(m.type);
      const offset = m.bitOffset / 8;
      if (offset + member.size > t.size) {
        throw new EcliError('BTF_INVALID', `${where} (offset ${offset}, ${member.size} bytes) overruns the ${t.size}-byte ${what}`);
      }
      fields.push({ key: m.name, value: member.json, offset });
      mayBeNonAscii ||= member.mayBeNonAscii || !isAscii(m.name);
    }
    const json = objectDecoder(fields);
    return { typeId: t.id, size: t.size, json, plain: plainOfJson(json), mayBeNonAscii };
  }

  private fail(typeId: number, reason: string): never {
    throw new EcliError('BTF_INVALID', `cannot print values of type ${this.btf.typeName(typeId)} (BTF type ${typeId}): ${reason}`, {
      hint: 'export integers, floats, enums, pointers, arrays and structs of those',
    });
  }
}
