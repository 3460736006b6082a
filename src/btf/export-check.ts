/**
 * Checks the package's export types against the object's BTF and turns them into the columns
 * the output formatters print (docs/eunomia-spec.md §3.1 and §2.4). Pure: warnings are returned, not logged.
 */
import { EcliError } from '../errors.js';
import type { ExportCustomMember, ExportedTypesStructMeta } from '../package/types.js';
import { Btf, kindName } from './btf.js';
import type { Column, Columns } from './columns.js';
import { BtfKind, type BtfMember, type BtfType } from './types.js';

const REBUILD_HINT = 'the package meta does not match its BPF object; rebuild the package with ecc';

function mismatch(message: string): EcliError {
  return new EcliError('BTF_INVALID', message, { hint: REBUILD_HINT });
}

function byteOffset(owner: string, member: BtfMember): number {
  if (member.bitfieldSize !== 0 || member.bitOffset % 8 !== 0) {
    throw new EcliError('BTF_INVALID', `${owner}: member "${member.name}" is a bitfield, which cannot be exported`, {
      hint: 'use whole integer types in exported structs',
    });
  }
  return member.bitOffset / 8;
}

/** The member's size, refusing a member that does not fit inside its struct (crafted BTF). */
function memberSize(btf: Btf, owner: string, struct: { size: number }, member: BtfMember, offset: number): number {
  const size = btf.sizeOf(member.type);
  if (offset + size > struct.size) {
    throw new EcliError('BTF_INVALID', `${owner}: member "${member.name}" at offset ${offset} (${size} bytes) ends past the struct's ${struct.size} bytes`, {
      hint: "the BPF object's BTF is damaged; rebuild the package with ecc",
    });
  }
  return size;
}

function existingType(btf: Btf, typeId: number, what: string): BtfType {
  const t = btf.types[typeId];
  if (t === undefined) throw mismatch(`${what}: BTF type id ${typeId} does not exist in the object`);
  return t;
}

/**
 * The strict check of `export_types[0]` for ring buffer and perf event array exports: the type
 * must be the named STRUCT with the same members in the same order. Unlike the reference, which
 * silently drops a member whose name differs, any difference is an error; the optional
 * `offset`/`size` our ecc writes must match too.
 */
export function checkExportStruct(btf: Btf, exportType: ExportedTypesStructMeta): Columns {
  const what = `export type "${exportType.name}"`;
  const t = existingType(btf, exportType.type_id, what);
  if (t.kind !== BtfKind.Struct) {
    throw mismatch(`${what}: BTF type ${t.id} is a ${kindName(t.kind)}, not a struct`);
  }
  if (t.name !== exportType.name) {
    throw mismatch(`${what}: BTF type ${t.id} is struct "${t.name}", not "${exportType.name}"`);
  }
  const owner = `struct ${t.name}`;
  if (t.members.length !== exportType.members.length) {
    throw mismatch(`${owner}: the struct has ${t.members.length} members in BTF but ${exportType.members.length} in the package`);
  }
  const members = t.members.map((m, i): Column => {
    const meta = exportType.members[i]!;
    if (m.name !== meta.name) {
      throw mismatch(`${owner}: member ${i} is "${m.name}" in BTF but "${meta.name}" in the package`);
    }
    const offset = byteOffset(owner, m);
    const size = memberSize(btf, owner, t, m, offset);
    if (meta.offset !== undefined && meta.offset !== offset) {
      throw mismatch(`${owner}: member "${m.name}" is at offset ${offset} in BTF but the package says ${meta.offset}`);
    }
    if (meta.size !== undefined && meta.size !== size) {
      throw mismatch(`${owner}: member "${m.name}" has size ${size} in BTF but the package says ${meta.size}`);
    }
    return {
      name: m.name,
      typeId: m.type,
      offset,
      size,
      ...(meta.display === undefined ? {} : { display: meta.display }),
      ...(meta.container === undefined ? {} : { container: meta.container }),
    };
  });
  if (exportType.size !== t.size) {
    throw mismatch(`${owner}: the struct is ${t.size} bytes in BTF but the package says ${exportType.size}`);
  }
  return { describe: owner, members, size: t.size };
}

export interface SampleColumns {
  columns: Columns;
  /** Why the package's member names were not used, if they were not. */
  warnings: string[];
}

/**
 * The lenient check for a sampled map's key or value type (`typeId` as the map's BTF reports
 * it, not typedef-resolved). A STRUCT gives one column per member, named from `exportType` when
 * its name and member count agree with BTF, else by the member's own name in BTF (the reference
 * names them after the member's type, `u32` or `""`, so that a header-less package's `slots` was
 * not found; an anonymous member still gets its type's name). Any other type is a single column
 * named after the type. Keys are checked without `exportType`.
 */
export function checkSampleColumns(btf: Btf, typeId: number, exportType?: ExportedTypesStructMeta): SampleColumns {
  const t = existingType(btf, typeId, 'sampled map');
  const warnings: string[] = [];
  let meta = exportType;
  if (meta && meta.name !== t.name) {
    warnings.push(`the map's BTF type is "${t.name}" but the package's export type is "${meta.name}"; using BTF names for the columns`);
    meta = undefined;
  }
  if (t.kind !== BtfKind.Struct) {
    const size = btf.sizeOf(t.id);
    return { columns: { describe: btf.typeName(t.id), members: [{ name: t.name, typeId: t.id, offset: 0, size }], size }, warnings };
  }
  if (meta && meta.members.length !== t.members.length) {
    warnings.push(`struct ${t.name} has ${t.members.length} members in BTF but ${meta.members.length} in the package; using BTF names for the columns`);
    meta = undefined;
  }
  const owner = `struct ${t.name}`;
  const members = t.members.map((m, i): Column => ({
    name: meta ? meta.members[i]!.name : m.name || btf.type(m.type).name,
    typeId: m.type,
    offset: byteOffset(owner, m),
    size: memberSize(btf, owner, t, m, byteOffset(owner, m)),
  }));
  return { columns: { describe: owner, members, size: t.size }, warnings };
}

/** The per-map export description of multiple-export mode (`export_config` other than the strings). */
export type ExportDescriptor = { btf_type_id: number } | { custom_members: ExportCustomMember[] };

/**
 * Columns for multiple-export mode. `btf_type_id`: a struct (typedefs followed) gives its real
 * member names; an array, integer, float or pointer gives one column named `""`.
 * `custom_members`: sorted by offset, must not overlap, and when `recordSize` is known must fit
 * inside it.
 */
export function descriptorColumns(btf: Btf, descriptor: ExportDescriptor, mapName: string, recordSize?: number): Columns {
  const where = `export_config of map "${mapName}"`;
  if ('btf_type_id' in descriptor) {
    const typeId = descriptor.btf_type_id;
    existingType(btf, typeId, where);
    const t = btf.resolve(typeId);
    if (t.kind === BtfKind.Struct) {
      const owner = `struct ${t.name}`;
      const members = t.members.map((m): Column => ({ name: m.name, typeId: m.type, offset: byteOffset(owner, m), size: btf.sizeOf(m.type) }));
      return checkedFit({ describe: owner, members, size: t.size }, where, recordSize);
    }
    if (t.kind === BtfKind.Array || t.kind === BtfKind.Int || t.kind === BtfKind.Float || t.kind === BtfKind.Ptr) {
      const size = btf.sizeOf(typeId);
      return checkedFit({ describe: btf.typeName(typeId), members: [{ name: '', typeId, offset: 0, size }], size }, where, recordSize);
    }
    throw new EcliError('BTF_INVALID', `${where}: BTF type ${typeId} is a ${kindName(t.kind)}, which cannot be exported`, {
      hint: 'use a struct, array, integer, float or pointer type id',
    });
  }
  const sorted = [...descriptor.custom_members].sort((a, b) => a.offset - b.offset);
  const members: Column[] = [];
  let previous: Column | undefined;
  for (const m of sorted) {
    existingType(btf, m.btf_type_id, `${where}: custom member "${m.name}"`);
    const column = { name: m.name, typeId: m.btf_type_id, offset: m.offset, size: btf.sizeOf(m.btf_type_id) };
    if (previous && column.offset < previous.offset + previous.size) {
      throw new EcliError(
        'PACKAGE_INVALID',
        `${where}: field \`${m.name}\` overlapped with other fields (offset ${m.offset} is inside \`${previous.name}\`, which ends at ${previous.offset + previous.size})`,
        { hint: 'give each custom member its own byte range' },
      );
    }
    members.push(column);
    previous = column;
  }
  const end = members.reduce((max, c) => Math.max(max, c.offset + c.size), 0);
  return checkedFit({ describe: 'custom members', members, size: recordSize ?? end }, where, recordSize);
}

function checkedFit(columns: Columns, where: string, recordSize: number | undefined): Columns {
  if (recordSize === undefined) return columns;
  for (const c of columns.members) {
    if (c.offset + c.size > recordSize) {
      throw new EcliError(
        'PACKAGE_INVALID',
        `${where}: member "${c.name}" (offset ${c.offset}, ${c.size} bytes) does not fit the map's ${recordSize}-byte value`,
        { hint: 'fix the offsets or the type ids in export_config' },
      );
    }
  }
  return { ...columns, size: recordSize };
}
