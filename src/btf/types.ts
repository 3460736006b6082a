/** The BTF type model: a pure description of the types in a `.BTF` section. */

export const enum BtfKind {
  Void = 0,
  Int = 1,
  Ptr = 2,
  Array = 3,
  Struct = 4,
  Union = 5,
  Enum = 6,
  Fwd = 7,
  Typedef = 8,
  Volatile = 9,
  Const = 10,
  Restrict = 11,
  Func = 12,
  FuncProto = 13,
  Var = 14,
  Datasec = 15,
  Float = 16,
  DeclTag = 17,
  TypeTag = 18,
  Enum64 = 19,
}

export const BTF_KIND_NAMES: readonly string[] = [
  'VOID',
  'INT',
  'PTR',
  'ARRAY',
  'STRUCT',
  'UNION',
  'ENUM',
  'FWD',
  'TYPEDEF',
  'VOLATILE',
  'CONST',
  'RESTRICT',
  'FUNC',
  'FUNC_PROTO',
  'VAR',
  'DATASEC',
  'FLOAT',
  'DECL_TAG',
  'TYPE_TAG',
  'ENUM64',
];

export function kindName(kind: BtfKind): string {
  return BTF_KIND_NAMES[kind] ?? `KIND_${kind}`;
}

export interface BtfMember {
  name: string;
  type: number;
  /** Offset of the member from the start of the struct, in bits. */
  bitOffset: number;
  /** Non-zero for bitfields. */
  bitfieldSize: number;
}

export interface BtfEnumValue {
  name: string;
  value: bigint;
}

export interface BtfParam {
  name: string;
  type: number;
}

export interface BtfVarSecInfo {
  type: number;
  offset: number;
  size: number;
}

interface Base {
  id: number;
  name: string;
}

export type BtfType =
  | (Base & { kind: BtfKind.Void })
  | (Base & { kind: BtfKind.Int; size: number; signed: boolean; char: boolean; bool: boolean; bits: number; bitOffset: number })
  | (Base & { kind: BtfKind.Ptr; type: number })
  | (Base & { kind: BtfKind.Array; type: number; indexType: number; nelems: number })
  | (Base & { kind: BtfKind.Struct | BtfKind.Union; size: number; members: BtfMember[] })
  | (Base & { kind: BtfKind.Enum | BtfKind.Enum64; size: number; signed: boolean; values: BtfEnumValue[] })
  | (Base & { kind: BtfKind.Fwd; union: boolean })
  | (Base & { kind: BtfKind.Typedef | BtfKind.Volatile | BtfKind.Const | BtfKind.Restrict | BtfKind.TypeTag; type: number })
  | (Base & { kind: BtfKind.Func; type: number; linkage: number })
  | (Base & { kind: BtfKind.FuncProto; returnType: number; params: BtfParam[] })
  | (Base & { kind: BtfKind.Var; type: number; linkage: number })
  | (Base & { kind: BtfKind.Datasec; size: number; vars: BtfVarSecInfo[] })
  | (Base & { kind: BtfKind.Float; size: number })
  | (Base & { kind: BtfKind.DeclTag; type: number; componentIdx: number });
