/**
 * Builds raw little-endian BTF blobs for unit tests that need types no fixture has
 * (floats, enums, 128-bit integers, typedef chains). Each method returns the new type's id.
 */
const KIND = { int: 1, ptr: 2, array: 3, struct: 4, enum: 6, typedef: 8, volatile: 9, const: 10, var: 14, datasec: 15, float: 16 };
const INT_SIGNED = 1;
const INT_CHAR = 2;
const INT_BOOL = 4;

export class BtfBuilder {
  private readonly words: number[] = [];
  private readonly strings: number[] = [0];
  private nextId = 1;

  int(name: string, size: number, encoding: { signed?: boolean; char?: boolean; bool?: boolean } = {}): number {
    const enc = (encoding.signed ? INT_SIGNED : 0) | (encoding.char ? INT_CHAR : 0) | (encoding.bool ? INT_BOOL : 0);
    return this.add(name, KIND.int, 0, size, [(enc << 24) | (size * 8)]);
  }

  float(name: string, size: number): number {
    return this.add(name, KIND.float, 0, size, []);
  }

  ptr(type: number): number {
    return this.add('', KIND.ptr, 0, type, []);
  }

  typedef(name: string, type: number): number {
    return this.add(name, KIND.typedef, 0, type, []);
  }

  constOf(type: number): number {
    return this.add('', KIND.const, 0, type, []);
  }

  volatileOf(type: number): number {
    return this.add('', KIND.volatile, 0, type, []);
  }

  array(element: number, indexType: number, nelems: number): number {
    return this.add('', KIND.array, 0, 0, [element, indexType, nelems]);
  }

  struct(name: string, size: number, members: { name: string; type: number; bitOffset: number }[]): number {
    const extra = members.flatMap((m) => [this.str(m.name), m.type, m.bitOffset]);
    return this.add(name, KIND.struct, members.length, size, extra);
  }

  /** A 4-byte enum; `unsigned` sets the kind flag. */
  enum(name: string, values: [string, number][], unsigned = false): number {
    const extra = values.flatMap(([n, v]) => [this.str(n), v >>> 0]);
    return this.add(name, KIND.enum, values.length | (unsigned ? 0x80000000 : 0), 4, extra);
  }

  /** A global (linkage 1) or static (linkage 0) variable. */
  variable(name: string, type: number, linkage = 1): number {
    return this.add(name, KIND.var, 0, type, [linkage]);
  }

  datasec(name: string, size: number, vars: { type: number; offset: number; size: number }[]): number {
    return this.add(name, KIND.datasec, vars.length, size, vars.flatMap((v) => [v.type, v.offset, v.size]));
  }

  build(): Uint8Array {
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(24 + typeLen + this.strings.length);
    const view = new DataView(out.buffer);
    view.setUint16(0, 0xeb9f, true);
    view.setUint8(2, 1);
    view.setUint32(4, 24, true);
    view.setUint32(8, 0, true);
    view.setUint32(12, typeLen, true);
    view.setUint32(16, typeLen, true);
    view.setUint32(20, this.strings.length, true);
    this.words.forEach((w, i) => view.setUint32(24 + i * 4, w >>> 0, true));
    out.set(this.strings, 24 + typeLen);
    return out;
  }

  /** `vlenAndFlag` carries vlen in the low 16 bits and the kind flag in bit 31. */
  private add(name: string, kind: number, vlenAndFlag: number, sizeOrType: number, extra: number[]): number {
    const info = ((vlenAndFlag & 0x80000000) | (kind << 24) | (vlenAndFlag & 0xffff)) >>> 0;
    this.words.push(this.str(name), info, sizeOrType, ...extra);
    return this.nextId++;
  }

  private str(text: string): number {
    if (text === '') return 0;
    const offset = this.strings.length;
    this.strings.push(...new TextEncoder().encode(text), 0);
    return offset;
  }
}
