/** Byte layouts derived from BTF: struct members and the variables of data sections. */
import { EcliError } from '../errors.js';
import type { ElfFile } from '../elf/elf.js';
import { Btf, kindName } from './btf.js';
import { BtfKind } from './types.js';

export interface MemberLayout {
  name: string;
  /** BTF type id of the member (unresolved, so typedef names stay visible). */
  typeId: number;
  offset: number;
  size: number;
}

export interface StructLayout {
  name: string;
  typeId: number;
  size: number;
  kind: 'struct' | 'union';
  members: MemberLayout[];
}

/** The layout of a STRUCT/UNION type; bitfields and non-byte-aligned members are refused. */
export function structLayout(btf: Btf, typeId: number): StructLayout {
  const t = btf.resolve(typeId);
  if (t.kind !== BtfKind.Struct && t.kind !== BtfKind.Union) {
    throw new EcliError('BTF_INVALID', `BTF type ${typeId} is a ${kindName(t.kind)}, not a struct`, {
      hint: 'export_types must name a struct type of the object',
    });
  }
  const members = t.members.map((m) => {
    if (m.bitfieldSize !== 0 || m.bitOffset % 8 !== 0) {
      throw new EcliError('BTF_INVALID', `struct ${t.name}: member "${m.name}" is a bitfield, which cannot be exported`, {
        hint: 'use a whole integer type for exported members',
      });
    }
    return { name: m.name, typeId: m.type, offset: m.bitOffset / 8, size: btf.sizeOf(m.type) };
  });
  return { name: t.name, typeId: t.id, size: t.size, kind: t.kind === BtfKind.Struct ? 'struct' : 'union', members };
}

export interface DataVariable {
  name: string;
  typeId: number;
  offset: number;
  size: number;
  /** `static` variables are in the image but are not program options. */
  isStatic: boolean;
}

export interface DataSectionLayout {
  name: string;
  size: number;
  /** The ELF bytes of the section (zeros for .bss), resized to `size`. */
  initial: Uint8Array;
  variables: DataVariable[];
}

const BTF_VAR_STATIC = 0;

/**
 * The variables of a data section (`.rodata`, `.bss`, ...) with their real offsets.
 * clang leaves DATASEC offsets (and often sizes) as 0 in the object; like libbpf, take them
 * from the ELF symbol table instead.
 */
export function dataSectionLayout(btf: Btf, elf: ElfFile, sectionName: string): DataSectionLayout | undefined {
  const section = elf.sections.find((s) => s.name === sectionName);
  const datasec = btf.findByName(sectionName, BtfKind.Datasec);
  if (!section || !datasec || datasec.kind !== BtfKind.Datasec) return undefined;
  const symbolOffsets = new Map<string, number>();
  for (const sym of elf.symbols) {
    if (sym.sectionIndex === section.index && sym.name) symbolOffsets.set(sym.name, sym.value);
  }
  const variables: DataVariable[] = [];
  for (const info of datasec.vars) {
    const v = btf.type(info.type);
    if (v.kind !== BtfKind.Var) continue;
    const offset = symbolOffsets.get(v.name) ?? info.offset;
    const size = btf.sizeOf(v.type);
    if (offset + size > section.size) {
      throw new EcliError('BTF_INVALID', `variable ${v.name} at offset ${offset} overruns section ${sectionName} (${section.size} bytes)`);
    }
    variables.push({ name: v.name, typeId: v.type, offset, size, isStatic: v.linkage === BTF_VAR_STATIC });
  }
  const initial = new Uint8Array(section.size);
  initial.set(section.data.subarray(0, section.size));
  return { name: sectionName, size: section.size, initial, variables };
}
