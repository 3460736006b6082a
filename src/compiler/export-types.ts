/**
 * `export_types`: the structs of the user's header, as the object's BTF describes them.
 *
 * The header's struct names come from the same textual rule as the reference (`struct X {`), and
 * each gets a dummy global pointer so that its BTF survives compilation. Members carry, besides
 * the reference's `{name, type}`, our own `offset` and `size` (bytes) and a `kind`, one of
 * EXPORT_MEMBER_KINDS. Bitfields also carry `bit_offset` (within the byte at `offset`) and `bit_size`.
 * A member with a `/// @display` comment carries its plain-text `display` hint, one with a
 * `/// @container` comment the `container` mark (an integer of 8 bytes for a cgroup id, of 4 or
 * 8 for a pid).
 */
import { Btf } from '../btf/btf.js';
import { BtfKind, type BtfMember } from '../btf/types.js';
import { EcliError } from '../errors.js';
import { displayProblem } from '../format/display.js';
import type { ExportedTypesStructMemberMeta, ExportedTypesStructMeta } from '../package/types.js';
import type { MemberContainerMarks, MemberDisplayHints } from './doc-comments.js';
import { stripQualifiers } from './skeleton.js';

export const EXPORT_MEMBER_KINDS = ['int', 'bool', 'float', 'enum', 'ptr', 'struct', 'union', 'array', 'char_array', 'bitfield'] as const;
export type ExportMemberKind = (typeof EXPORT_MEMBER_KINDS)[number];

/** Names of the structs a header defines, in order, without repeats. */
export function headerStructNames(headerText: string): string[] {
  return [...new Set([...headerText.matchAll(/struct\s+(\w+)\s*\{/g)].map((m) => m[1]!))];
}

/** The lines appended to the compiled copy of the source, one per header struct. */
export function dummyPointerDeclarations(structNames: readonly string[]): string {
  return structNames.map((s) => `const volatile struct ${s} * __eunomia_dummy_${s}_ptr  __attribute__((unused));\n`).join('');
}

export interface ExportTypesResult {
  types: ExportedTypesStructMeta[];
  /** Header structs the object has no definition of (e.g. inside `#if 0` or a comment). */
  undefinedStructs: string[];
  /** Display hints that do not fit their member's type, and were left out. */
  warnings: string[];
}

/** Every BTF struct named in the header, in type-id order. */
export function buildExportTypes(
  btf: Btf,
  structNames: readonly string[],
  where: { header: string; source: string },
  hints: MemberDisplayHints = new Map(),
  containers: MemberContainerMarks = new Map(),
): ExportTypesResult {
  const wanted = new Set(structNames);
  const types: ExportedTypesStructMeta[] = [];
  const warnings: string[] = [];
  for (const t of btf.types) {
    if (t.kind !== BtfKind.Struct || !wanted.has(t.name)) continue;
    const members = t.members.map((m) => {
      let member = exportMember(btf, m);
      const mark = containers.get(t.name)?.get(m.name);
      if (mark !== undefined) {
        const sizes = mark === 'cgroup_id' ? [8] : [4, 8];
        if (member.kind === 'int' && sizes.includes(member.size ?? 0)) member = { ...member, container: mark };
        else warnings.push(`@container of member ${m.name} of struct ${t.name} is ignored: a ${mark} is an integer of ${sizes.join(' or ')} bytes`);
      }
      const display = hints.get(t.name)?.get(m.name);
      if (display === undefined) return member;
      const problem = displayProblem(btf, m.type, display);
      if (problem) {
        warnings.push(`@display of member ${m.name} of struct ${t.name} is ignored: ${problem}`);
        return member;
      }
      return { ...member, display };
    });
    types.push({ name: t.name, size: t.size, type_id: t.id, members });
  }
  const defined = new Set(types.map((t) => t.name));
  const undefinedStructs = structNames.filter((s) => !defined.has(s));
  if (structNames.length > 0 && types.length === 0) {
    const header = where.header.split('/').pop();
    throw new EcliError(
      'COMPILE_FAILED',
      `${where.source} does not include ${where.header}: its structs (${structNames.join(', ')}) are not defined in the object`,
      {
        hint: `add #include "${header}" to ${where.source} so the event struct is compiled into the object`,
      },
    );
  }
  return { types, undefinedStructs, warnings };
}

function exportMember(btf: Btf, member: BtfMember): ExportedTypesStructMemberMeta {
  const base = { name: member.name, type: memberTypeName(btf, member.type), size: btf.sizeOf(member.type) };
  if (member.bitfieldSize !== 0 || member.bitOffset % 8 !== 0) {
    const offset = Math.floor(member.bitOffset / 8);
    return { ...base, offset, kind: 'bitfield', bit_offset: member.bitOffset - offset * 8, bit_size: member.bitfieldSize };
  }
  return { ...base, offset: member.bitOffset / 8, kind: memberKind(btf, member.type) };
}

/** The reference's member type string: `composite` for struct/union, `enum` for enums, else the C type. */
function memberTypeName(btf: Btf, typeId: number): string {
  const kind = stripQualifiers(btf, typeId).kind;
  if (kind === BtfKind.Struct || kind === BtfKind.Union) return 'composite';
  if (kind === BtfKind.Enum || kind === BtfKind.Enum64) return 'enum';
  return btf.typeName(typeId);
}

function memberKind(btf: Btf, typeId: number): ExportMemberKind {
  const t = btf.resolve(typeId);
  switch (t.kind) {
    case BtfKind.Int:
      return t.bool ? 'bool' : 'int';
    case BtfKind.Float:
      return 'float';
    case BtfKind.Enum:
    case BtfKind.Enum64:
      return 'enum';
    case BtfKind.Ptr:
      return 'ptr';
    case BtfKind.Struct:
      return 'struct';
    case BtfKind.Union:
      return 'union';
    case BtfKind.Array: {
      const element = btf.resolve(t.type);
      // The runner prints only arrays of `char` as strings (u8/unsigned char arrays are numbers).
      return element.kind === BtfKind.Int && element.name === 'char' ? 'char_array' : 'array';
    }
    default:
      throw new EcliError('BTF_INVALID', `BTF type ${typeId} cannot be the type of a struct member`);
  }
}
