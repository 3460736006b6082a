/**
 * What kind of value a global variable can take from the command line, decided from its BTF
 * type (typedefs resolved) or, for a meta without an object, from its C type string.
 * Pointers, structs, unions, non-char arrays and unknown names have no value type: they are
 * not offered as options.
 */
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/types.js';

export interface Enumerator {
  name: string;
  value: bigint;
}

export type ValueType =
  | {
      kind: 'int';
      /** Bytes: 1, 2, 4, 8 or 16. */
      size: number;
      signed: boolean;
      /** The underlying C type, e.g. `int` for `pid_t`, `enum event_type` for an enum. */
      cName: string;
      /** Enumerators of an enum type; a value may name one of them. Empty for plain integers. */
      enumerators: Enumerator[];
    }
  | { kind: 'bool' }
  | { kind: 'float'; size: 4 | 8; cName: string }
  /** A one-dimensional char array holding a NUL-terminated string; `size` includes the NUL. */
  | { kind: 'string'; size: number };

const INT_SIZES = new Set([1, 2, 4, 8, 16]);

/** The value type of BTF type `typeId`, or undefined when such variables cannot be set. */
export function valueTypeFromBtf(btf: Btf, typeId: number): ValueType | undefined {
  const t = btf.resolve(typeId);
  switch (t.kind) {
    case BtfKind.Int:
      if (t.bitOffset !== 0 || t.bits !== t.size * 8) return undefined;
      if (t.bool && t.size === 1) return { kind: 'bool' };
      if (!INT_SIZES.has(t.size)) return undefined;
      return { kind: 'int', size: t.size, signed: t.signed, cName: btf.typeName(t.id), enumerators: [] };
    case BtfKind.Enum:
    case BtfKind.Enum64:
      if (!INT_SIZES.has(t.size)) return undefined;
      return { kind: 'int', size: t.size, signed: t.signed, cName: btf.typeName(t.id), enumerators: t.values };
    case BtfKind.Float:
      return t.size === 4 || t.size === 8 ? { kind: 'float', size: t.size, cName: btf.typeName(t.id) } : undefined;
    case BtfKind.Array: {
      const element = btf.resolve(t.type);
      const isChar = element.kind === BtfKind.Int && element.size === 1 && (element.char || element.name === 'char');
      return isChar && t.nelems > 0 ? { kind: 'string', size: t.nelems } : undefined;
    }
    default:
      return undefined;
  }
}

interface NamedInt {
  size: number;
  signed: boolean;
  cName: string;
}

function named(cName: string, size: number, signed: boolean, aliases: string[]): [string, NamedInt][] {
  return [cName, ...aliases].map((alias) => [alias, { size, signed, cName }]);
}

/** Integer type names understood without BTF: C spellings plus the common kernel and libc typedefs. */
const INTEGER_NAMES = new Map<string, NamedInt>([
  ...named('char', 1, true, []),
  ...named('signed char', 1, true, ['__s8', 's8', 'int8_t']),
  ...named('unsigned char', 1, false, ['__u8', 'u8', 'uint8_t']),
  ...named('short', 2, true, ['short int', 'signed short', 'signed short int', '__s16', 's16', 'int16_t']),
  ...named('unsigned short', 2, false, ['unsigned short int', '__u16', 'u16', 'uint16_t']),
  ...named('int', 4, true, ['signed', 'signed int', '__s32', 's32', 'int32_t', 'pid_t']),
  ...named('unsigned int', 4, false, ['unsigned', '__u32', 'u32', 'uint32_t', 'uid_t', 'gid_t']),
  ...named('long', 8, true, ['long int', 'signed long', 'signed long int', 'ssize_t']),
  ...named('unsigned long', 8, false, ['unsigned long int', 'size_t']),
  ...named('long long', 8, true, ['long long int', 'signed long long', 'signed long long int', '__s64', 's64', 'int64_t']),
  ...named('unsigned long long', 8, false, ['unsigned long long int', '__u64', 'u64', 'uint64_t']),
  ...named('__int128', 16, true, ['__int128_t', '__s128', 's128']),
  ...named('unsigned __int128', 16, false, ['__uint128_t', '__u128', 'u128']),
]);

/**
 * The value type named by a meta `type` string, for metas without a BPF object. An `enum X`
 * is taken as a 4-byte signed integer (its enumerators are unknown without BTF).
 */
export function valueTypeFromName(typeName: string): ValueType | undefined {
  const name = typeName
    .replace(/\b(const|volatile)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (name === 'bool' || name === '_Bool') return { kind: 'bool' };
  if (name === 'float') return { kind: 'float', size: 4, cName: name };
  if (name === 'double') return { kind: 'float', size: 8, cName: name };
  const charArray = /^char ?\[(\d+)\]$/.exec(name);
  if (charArray) {
    const size = Number(charArray[1]);
    return size > 0 ? { kind: 'string', size } : undefined;
  }
  if (/^enum [A-Za-z_]\w*$/.test(name)) return { kind: 'int', size: 4, signed: true, cName: name, enumerators: [] };
  const int = INTEGER_NAMES.get(name);
  return int ? { kind: 'int', ...int, enumerators: [] } : undefined;
}
