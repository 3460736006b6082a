/** Parser and queries for raw BTF (the `.BTF` section of a BPF object, or /sys/kernel/btf/vmlinux). */
import { EcliError } from '../errors.js';
import { checkTypeGraph, describeType, invalidBtf as invalid, MAX_RESOLVE_DEPTH, NO_SIZE } from './type-graph.js';
import { BtfKind, kindName, type BtfMember, type BtfType } from './types.js';

const BTF_MAGIC = 0xeb9f;
/** Bits of a type's `info` word the kernel refuses to see set (kind is 5 bits, vlen 16). */
const INFO_UNUSED_BITS = 0x60ff0000;

export class Btf {
  /** Index = type id; entry 0 is `void`. */
  readonly types: readonly BtfType[];
  private byName: Map<string, BtfType[]> | undefined;

  private constructor(
    types: BtfType[],
    private readonly sizes: readonly number[],
  ) {
    this.types = types;
  }

  static parse(data: Uint8Array): Btf {
    if (data.length < 24) invalid('header truncated');
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (view.getUint16(0, true) !== BTF_MAGIC) invalid('bad magic (big-endian BTF is not supported)');
    const hdrLen = view.getUint32(4, true);
    const typeOff = view.getUint32(8, true);
    const typeLen = view.getUint32(12, true);
    const strOff = view.getUint32(16, true);
    const strLen = view.getUint32(20, true);
    const typesStart = hdrLen + typeOff;
    const typesEnd = typesStart + typeLen;
    const stringsStart = hdrLen + strOff;
    if (typesEnd > data.length || stringsStart + strLen > data.length) invalid('sections out of bounds');
    const strings = data.subarray(stringsStart, stringsStart + strLen);
    const decoder = new TextDecoder();
    const stringAt = (offset: number): string => {
      if (offset >= strings.length) {
        if (offset === 0) return '';
        invalid(`string offset ${offset} out of bounds`);
      }
      let end = offset;
      while (end < strings.length && strings[end] !== 0) end++;
      return decoder.decode(strings.subarray(offset, end));
    };

    const types: BtfType[] = [{ id: 0, name: '', kind: BtfKind.Void }];
    let at = typesStart;
    const u32 = (offset: number): number => {
      if (offset + 4 > typesEnd) invalid('type record truncated');
      return view.getUint32(offset, true);
    };
    while (at < typesEnd) {
      const id = types.length;
      const name = stringAt(u32(at));
      const info = u32(at + 4);
      if ((info & INFO_UNUSED_BITS) !== 0) invalid(`type ${id} has unused info bits set (0x${(info >>> 0).toString(16)})`);
      const sizeOrType = u32(at + 8);
      const vlen = info & 0xffff;
      const kind = (info >>> 24) & 0x1f;
      const kindFlag = info >>> 31 === 1;
      at += 12;
      switch (kind) {
        case BtfKind.Int: {
          const enc = u32(at);
          at += 4;
          types.push({
            id,
            name,
            kind,
            size: sizeOrType,
            signed: ((enc >>> 24) & 1) !== 0,
            char: ((enc >>> 24) & 2) !== 0,
            bool: ((enc >>> 24) & 4) !== 0,
            bitOffset: (enc >>> 16) & 0xff,
            bits: enc & 0xff,
          });
          break;
        }
        case BtfKind.Ptr:
        case BtfKind.Typedef:
        case BtfKind.Volatile:
        case BtfKind.Const:
        case BtfKind.Restrict:
        case BtfKind.TypeTag:
          types.push({ id, name, kind, type: sizeOrType });
          break;
        case BtfKind.Array:
          types.push({ id, name, kind, type: u32(at), indexType: u32(at + 4), nelems: u32(at + 8) });
          at += 12;
          break;
        case BtfKind.Struct:
        case BtfKind.Union: {
          const members: BtfMember[] = [];
          for (let i = 0; i < vlen; i++, at += 12) {
            const offset = u32(at + 8);
            members.push({
              name: stringAt(u32(at)),
              type: u32(at + 4),
              bitOffset: kindFlag ? offset & 0xffffff : offset,
              bitfieldSize: kindFlag ? offset >>> 24 : 0,
            });
          }
          types.push({ id, name, kind, size: sizeOrType, members });
          break;
        }
        case BtfKind.Enum: {
          const values = [];
          for (let i = 0; i < vlen; i++, at += 8) {
            const raw = u32(at + 4);
            values.push({ name: stringAt(u32(at)), value: kindFlag ? BigInt(raw) : BigInt(raw | 0) });
          }
          // Without kind_flag the values are signed (the historical meaning of BTF enums).
          types.push({ id, name, kind, size: sizeOrType, signed: !kindFlag, values });
          break;
        }
        case BtfKind.Enum64: {
          const values = [];
          for (let i = 0; i < vlen; i++, at += 12) {
            const raw = (BigInt(u32(at + 8)) << 32n) | BigInt(u32(at + 4));
            values.push({ name: stringAt(u32(at)), value: kindFlag ? raw : BigInt.asIntN(64, raw) });
          }
          types.push({ id, name, kind, size: sizeOrType, signed: !kindFlag, values });
          break;
        }
        case BtfKind.Fwd:
          types.push({ id, name, kind, union: kindFlag });
          break;
        case BtfKind.Func:
          types.push({ id, name, kind, type: sizeOrType, linkage: vlen });
          break;
        case BtfKind.FuncProto: {
          const params = [];
          for (let i = 0; i < vlen; i++, at += 8) params.push({ name: stringAt(u32(at)), type: u32(at + 4) });
          types.push({ id, name, kind, returnType: sizeOrType, params });
          break;
        }
        case BtfKind.Var:
          types.push({ id, name, kind, type: sizeOrType, linkage: u32(at) });
          at += 4;
          break;
        case BtfKind.Datasec: {
          const vars = [];
          for (let i = 0; i < vlen; i++, at += 12) vars.push({ type: u32(at), offset: u32(at + 4), size: u32(at + 8) });
          types.push({ id, name, kind, size: sizeOrType, vars });
          break;
        }
        case BtfKind.Float:
          types.push({ id, name, kind, size: sizeOrType });
          break;
        case BtfKind.DeclTag:
          types.push({ id, name, kind, type: sizeOrType, componentIdx: u32(at) | 0 });
          at += 4;
          break;
        default:
          invalid(`unknown type kind ${kind} at type id ${id}`);
      }
    }
    return new Btf(types, checkTypeGraph(types));
  }

  type(id: number): BtfType {
    const t = this.types[id];
    if (t === undefined) {
      throw new EcliError('BTF_INVALID', `BTF type id ${id} does not exist (the object has ${this.types.length - 1} types)`, {
        hint: 'the package meta does not match its BPF object; recompile it with ./ecc',
      });
    }
    return t;
  }

  /** Follows typedef, const, volatile, restrict and type tags to the underlying type. */
  resolve(id: number): BtfType {
    let t = this.type(id);
    for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
      switch (t.kind) {
        case BtfKind.Typedef:
        case BtfKind.Const:
        case BtfKind.Volatile:
        case BtfKind.Restrict:
        case BtfKind.TypeTag:
          t = this.type(t.type);
          break;
        default:
          return t;
      }
    }
    return invalid(`type ${id} has a modifier loop`);
  }

  /** Size in bytes of a value of type `id`. */
  sizeOf(id: number): number {
    const size = this.sizes[this.type(id).id]!;
    if (size === NO_SIZE) throw new EcliError('BTF_INVALID', `BTF ${describeType(this.resolve(id))} has no size`);
    return size;
  }

  findByName(name: string, kind?: BtfKind): BtfType | undefined {
    if (!this.byName) {
      this.byName = new Map();
      for (const t of this.types) {
        if (!t.name) continue;
        const list = this.byName.get(t.name);
        if (list) list.push(t);
        else this.byName.set(t.name, [t]);
      }
    }
    const candidates = this.byName.get(name) ?? [];
    return kind === undefined ? candidates[0] : candidates.find((t) => t.kind === kind);
  }

  /**
   * The C spelling of a type with its qualifiers dropped, as bpftool writes it in skeleton
   * metadata: `int`, `unsigned long long`, `char[16]`, `__u32[26]`, `struct event *`, `enum e`.
   */
  typeName(id: number): string {
    return this.declaredName(id, 0);
  }

  private declaredName(id: number, depth: number): string {
    const { base, suffix } = this.declarator(id, depth);
    return suffix ? `${base}${suffix.startsWith('[') ? '' : ' '}${suffix}` : base;
  }

  private declarator(id: number, depth: number): { base: string; suffix: string } {
    if (depth > MAX_RESOLVE_DEPTH) invalid(`type ${id} nests too deeply`);
    const t = this.type(id);
    switch (t.kind) {
      case BtfKind.Void:
        return { base: 'void', suffix: '' };
      case BtfKind.Const:
      case BtfKind.Volatile:
      case BtfKind.Restrict:
      case BtfKind.TypeTag:
        return this.declarator(t.type, depth + 1);
      case BtfKind.Ptr: {
        const inner = this.declarator(t.type, depth + 1);
        if (inner.suffix.startsWith('[') || inner.suffix.startsWith('(')) return { base: inner.base, suffix: `(*)${inner.suffix}` };
        return { base: inner.base, suffix: inner.suffix ? `${inner.suffix}*` : '*' };
      }
      case BtfKind.Array: {
        // C writes the outer dimension first: an array of 2 char[8] is char[2][8].
        const inner = this.declarator(t.type, depth + 1);
        const suffix = inner.suffix.startsWith('[') ? `[${t.nelems}]${inner.suffix}` : `${inner.suffix}[${t.nelems}]`;
        return { base: inner.base, suffix };
      }
      case BtfKind.Struct:
        return { base: t.name ? `struct ${t.name}` : 'struct {...}', suffix: '' };
      case BtfKind.Union:
        return { base: t.name ? `union ${t.name}` : 'union {...}', suffix: '' };
      case BtfKind.Enum:
      case BtfKind.Enum64:
        return { base: t.name ? `enum ${t.name}` : 'enum {...}', suffix: '' };
      case BtfKind.Fwd:
        return { base: `${t.union ? 'union' : 'struct'} ${t.name}`, suffix: '' };
      case BtfKind.FuncProto:
        return { base: this.declaredName(t.returnType, depth + 1), suffix: '()' };
      default:
        return { base: t.name || kindName(t.kind).toLowerCase(), suffix: '' };
    }
  }
}

export { kindName };
