/**
 * Checks the references between BTF types once, at parse time, as the kernel's BTF verifier
 * does: every type id in range, no type that contains itself, no chain deeper than the kernel's
 * MAX_RESOLVE_DEPTH, no size past 4 GiB. Every later walk of the types (sizes, layouts,
 * formatters, type names, options, inspect) can then recurse without its own guard.
 */
import { EcliError } from '../errors.js';
import { BtfKind, kindName, type BtfType } from './types.js';

/** The kernel's limit on a chain of types it resolves (kernel/bpf/btf.c). */
export const MAX_RESOLVE_DEPTH = 32;
const MAX_SIZE = 0xffffffff;
/** Marks a type that has no size (void, functions, forward declarations). */
export const NO_SIZE = -1;

export function invalidBtf(message: string): never {
  throw new EcliError('BTF_INVALID', `malformed BTF: ${message}`, {
    hint: 'the object was not produced by a BTF-aware clang (-g); recompile it with ./ecc',
  });
}

export function describeType(t: BtfType): string {
  const kind = kindName(t.kind);
  return t.name ? `type ${t.id} (${kind} ${t.name})` : `type ${t.id} (${kind})`;
}

/** The types a value of `t` is made of: what sizes, layouts and formatters walk into. */
function valueParts(t: BtfType): number[] {
  switch (t.kind) {
    case BtfKind.Typedef:
    case BtfKind.Const:
    case BtfKind.Volatile:
    case BtfKind.Restrict:
    case BtfKind.TypeTag:
    case BtfKind.Var:
    case BtfKind.Array:
      return [t.type];
    case BtfKind.Struct:
    case BtfKind.Union:
      return t.members.map((m) => m.type);
    case BtfKind.Datasec:
      return t.vars.map((v) => v.type);
    default:
      return [];
  }
}

/** The types the C spelling of `t` is made of: what type names walk into (a name ends the walk). */
function nameParts(t: BtfType): number[] {
  switch (t.kind) {
    case BtfKind.Const:
    case BtfKind.Volatile:
    case BtfKind.Restrict:
    case BtfKind.TypeTag:
    case BtfKind.Ptr:
    case BtfKind.Array:
    case BtfKind.Func:
      return [t.type];
    case BtfKind.FuncProto:
      return [t.returnType, ...t.params.map((p) => p.type)];
    default:
      return [];
  }
}

/** Every type id `t` refers to. */
function references(t: BtfType): number[] {
  switch (t.kind) {
    case BtfKind.Ptr:
    case BtfKind.Func:
    case BtfKind.DeclTag:
      return [t.type];
    case BtfKind.Array:
      return [t.type, t.indexType];
    default:
      return [...valueParts(t), ...nameParts(t)];
  }
}

/**
 * Depth-first walk over `parts` edges from every type: a type met again while it is being
 * walked is a cycle; a chain of more than MAX_RESOLVE_DEPTH types that have parts is refused,
 * whatever the order of the types (the kernel counts its resolve stack, which depends on the
 * order). `leave` runs once per type after all its parts.
 */
function walkAll(types: readonly BtfType[], parts: (t: BtfType) => number[], leave: (t: BtfType) => void): void {
  const height = new Uint8Array(types.length); // 1 + the longest chain below; 0 = not walked yet
  const onPath = new Uint8Array(types.length);
  const path: number[] = [];
  const visit = (id: number): number => {
    const t = types[id]!;
    if (onPath[id]) {
      const cycle = [...path.slice(path.indexOf(id)), id].join(' → ');
      invalidBtf(`${describeType(t)} contains itself (${cycle})`);
    }
    if (height[id] === 0) {
      const below = parts(t);
      if (below.length > 0 && path.length >= MAX_RESOLVE_DEPTH) tooDeep(types[path[0]!]!);
      path.push(id);
      onPath[id] = 1;
      let longest = 0;
      for (const part of below) longest = Math.max(longest, visit(part) + 1);
      path.pop();
      onPath[id] = 0;
      height[id] = longest + 1;
      leave(t);
    }
    const chain = height[id]! - 1;
    if (path.length + chain > MAX_RESOLVE_DEPTH) tooDeep(types[path[0] ?? id]!);
    return chain;
  };
  for (let id = 1; id < types.length; id++) visit(id);
}

function tooDeep(t: BtfType): never {
  return invalidBtf(`${describeType(t)} nests more than ${MAX_RESOLVE_DEPTH} types deep (the kernel's limit)`);
}

/** Checks `types` (index = id) and returns the size in bytes of each (NO_SIZE where it has none). */
export function checkTypeGraph(types: readonly BtfType[]): number[] {
  for (const t of types) {
    for (const ref of references(t)) {
      if (ref >= types.length) invalidBtf(`${describeType(t)} refers to type ${ref}, which does not exist (the object has ${types.length - 1} types)`);
    }
  }
  walkAll(types, nameParts, () => {});
  const sizes: number[] = new Array<number>(types.length).fill(NO_SIZE);
  walkAll(types, valueParts, (t) => {
    const size = ownSize(t, sizes);
    if (size > MAX_SIZE) invalidBtf(`${describeType(t)} is ${size} bytes, more than the 4 GiB BTF allows`);
    sizes[t.id] = size;
  });
  return sizes;
}

function ownSize(t: BtfType, sizes: readonly number[]): number {
  switch (t.kind) {
    case BtfKind.Int:
    case BtfKind.Struct:
    case BtfKind.Union:
    case BtfKind.Enum:
    case BtfKind.Enum64:
    case BtfKind.Float:
    case BtfKind.Datasec:
      return t.size;
    case BtfKind.Ptr:
      return 8;
    case BtfKind.Array: {
      const element = sizes[t.type]!;
      return element === NO_SIZE ? NO_SIZE : t.nelems * element;
    }
    case BtfKind.Typedef:
    case BtfKind.Const:
    case BtfKind.Volatile:
    case BtfKind.Restrict:
    case BtfKind.TypeTag:
    case BtfKind.Var:
      return sizes[t.type]!;
    default:
      return NO_SIZE;
  }
}
