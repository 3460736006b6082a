/**
 * Builds raw BTF bytes for unit tests, so formatting can be tested on exact layouts without
 * clang. Structs are laid out with C's natural alignment unless a member gives its bit offset.
 */
import { BtfKind } from '../../src/btf/types.js';

interface Shape {
  size: number;
  align: number;
}

export interface MemberSpec {
  name: string;
  type: number;
  /** Defaults to the next naturally aligned offset. */
  bitOffset?: number;
  bitfieldSize?: number;
}

const INT_SIGNED = 1;
const INT_CHAR = 2;
const INT_BOOL = 4;

export class BtfBuilder {
  private readonly words: number[] = [];
  private readonly shapes: Shape[] = [{ size: 0, align: 1 }];
  private readonly strings: string[] = [''];
  private stringBytes = 1;
  private readonly stringOffsets = new Map<string, number>([['', 0]]);
  private indexType: number | undefined;

  private str(text: string): number {
    const known = this.stringOffsets.get(text);
    if (known !== undefined) return known;
    const offset = this.stringBytes;
    this.strings.push(text);
    this.stringOffsets.set(text, offset);
    this.stringBytes += Buffer.byteLength(text) + 1;
    return offset;
  }

  private add(name: string, kind: BtfKind, vlen: number, sizeOrType: number, extra: number[], shape: Shape, kindFlag = false): number {
    this.words.push(this.str(name), ((kindFlag ? 1 : 0) << 31) | (kind << 24) | vlen, sizeOrType, ...extra);
    this.shapes.push(shape);
    return this.shapes.length - 1;
  }

  private shape(id: number): Shape {
    const s = this.shapes[id];
    if (!s) throw new Error(`builder: unknown type ${id}`);
    return s;
  }

  int(name: string, size: number, options: { signed?: boolean; bool?: boolean; char?: boolean; bits?: number } = {}): number {
    const encoding = (options.signed ? INT_SIGNED : 0) | (options.char ? INT_CHAR : 0) | (options.bool ? INT_BOOL : 0);
    const bits = options.bits ?? size * 8;
    return this.add(name, BtfKind.Int, 0, size, [(encoding << 24) | bits], { size, align: Math.min(size, 8) });
  }

  float(name: string, size: number): number {
    return this.add(name, BtfKind.Float, 0, size, [], { size, align: size });
  }

  ptr(target: number): number {
    return this.add('', BtfKind.Ptr, 0, target, [], { size: 8, align: 8 });
  }

  typedef(name: string, target: number): number {
    return this.add(name, BtfKind.Typedef, 0, target, [], this.shape(target));
  }

  const(target: number): number {
    return this.add('', BtfKind.Const, 0, target, [], this.shape(target));
  }

  volatile(target: number): number {
    return this.add('', BtfKind.Volatile, 0, target, [], this.shape(target));
  }

  array(element: number, nelems: number): number {
    this.indexType ??= this.int('__ARRAY_SIZE_TYPE__', 4);
    const e = this.shape(element);
    return this.add('', BtfKind.Array, 0, 0, [element, this.indexType, nelems], { size: e.size * nelems, align: e.align });
  }

  enum(name: string, size: number, values: Array<[string, number]>, options: { unsigned?: boolean } = {}): number {
    const extra = values.flatMap(([n, v]) => [this.str(n), v]);
    return this.add(name, BtfKind.Enum, values.length, size, extra, { size, align: size }, options.unsigned);
  }

  enum64(name: string, values: Array<[string, bigint]>, options: { unsigned?: boolean } = {}): number {
    const extra = values.flatMap(([n, v]) => {
      const raw = BigInt.asUintN(64, v);
      return [this.str(n), Number(raw & 0xffffffffn), Number(raw >> 32n)];
    });
    return this.add(name, BtfKind.Enum64, values.length, 8, extra, { size: 8, align: 8 }, options.unsigned);
  }

  /** A struct whose declared size is `size`, whatever its members need: damaged BTF, for refusals. */
  structOfSize(name: string, members: MemberSpec[], size: number): number {
    return this.struct(name, members, BtfKind.Struct, size);
  }

  struct(name: string, members: MemberSpec[], kind: BtfKind.Struct | BtfKind.Union = BtfKind.Struct, declaredSize?: number): number {
    let end = 0;
    let align = 1;
    const extra: number[] = [];
    let bitfields = false;
    for (const m of members) {
      const s = this.shape(m.type);
      align = Math.max(align, s.align);
      let bitOffset = m.bitOffset;
      if (bitOffset === undefined) bitOffset = kind === BtfKind.Union ? 0 : Math.ceil(end / s.align) * s.align * 8;
      if (m.bitfieldSize) bitfields = true;
      extra.push(this.str(m.name), m.type, m.bitfieldSize ? (m.bitfieldSize << 24) | bitOffset : bitOffset);
      end = Math.max(end, Math.ceil(bitOffset / 8) + (m.bitfieldSize ? 0 : s.size));
    }
    const size = declaredSize ?? Math.ceil(end / align) * align;
    return this.add(name, kind, members.length, size, extra, { size, align }, bitfields);
  }

  union(name: string, members: MemberSpec[]): number {
    return this.struct(name, members, BtfKind.Union);
  }

  /** A global (linkage 1) or static (linkage 0) variable. */
  variable(name: string, type: number, linkage = 1): number {
    return this.add(name, BtfKind.Var, 0, type, [linkage], this.shape(type));
  }

  datasec(name: string, size: number, vars: { type: number; offset: number; size: number }[]): number {
    return this.add(
      name,
      BtfKind.Datasec,
      vars.length,
      size,
      vars.flatMap((v) => [v.type, v.offset, v.size]),
      { size, align: 1 },
    );
  }

  /** The id the next type will get (for types that refer to themselves). */
  nextId(): number {
    return this.shapes.length;
  }

  /** A type record written as given, without looking at what it refers to: damaged BTF, for refusals. */
  raw(kind: number, sizeOrType: number, extra: number[] = [], options: { name?: string; vlen?: number } = {}): number {
    return this.add(options.name ?? '', kind, options.vlen ?? 0, sizeOrType, extra, { size: 0, align: 1 });
  }

  /** Size in bytes of a type built here (for making records). */
  sizeOf(id: number): number {
    return this.shape(id).size;
  }

  build(): Uint8Array {
    const typeBytes = this.words.length * 4;
    const out = Buffer.alloc(24 + typeBytes + this.stringBytes);
    out.writeUInt16LE(0xeb9f, 0);
    out.writeUInt8(1, 2);
    out.writeUInt32LE(24, 4);
    out.writeUInt32LE(0, 8);
    out.writeUInt32LE(typeBytes, 12);
    out.writeUInt32LE(typeBytes, 16);
    out.writeUInt32LE(this.stringBytes, 20);
    this.words.forEach((w, i) => out.writeUInt32LE(w >>> 0, 24 + i * 4));
    let at = 24 + typeBytes;
    for (const s of this.strings) {
      at += out.write(s, at);
      out.writeUInt8(0, at++);
    }
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
}
