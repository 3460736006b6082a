/**
 * The skeleton part of a package meta (`bpf_skel` without doc comments), computed from a BPF
 * object the way bpftool's JSON skeleton reports what libbpf will create: maps in libbpf's
 * creation order with their libbpf names, programs in libbpf's order, and the option-bearing
 * data sections.
 */
import { Btf } from '../btf/btf.js';
import { dataSectionLayout } from '../btf/layout.js';
import { BtfKind } from '../btf/types.js';
import { STT_FUNC, SHT_NOBITS, type ElfFile, type ElfSection } from '../elf/elf.js';
import { EcliError } from '../errors.js';
import type { BpfSkeletonMeta, DataSectionMeta, DataSectionVariableMeta, MapMeta, ProgMeta } from '../package/types.js';
import { sanitizeIdentifier } from './naming.js';

const SHT_PROGBITS = 1;
const SHF_EXECINSTR = 0x4n;
const STB_LOCAL = 0;
const BTF_VAR_STATIC = 0;
/** BPF_OBJ_NAME_LEN: kernel object names hold 15 characters plus the NUL. */
const OBJ_NAME_LEN = 16;
const KCONFIG_SECTION = '.kconfig';
/** bpftool looks for these in an internal map's name to form its skeleton identifier. */
const IDENT_SUFFIXES = ['.data', '.rodata', '.bss', '.kconfig'];

interface InternalMap {
  section: string;
  meta: MapMeta;
  variables?: DataSectionVariableMeta[];
}

export function buildSkeleton(elf: ElfFile, btf: Btf, objName: string): BpfSkeletonMeta {
  const internal = [...dataSectionMaps(elf, btf, objName), ...kconfigMap(btf, objName)];
  const data_sections: DataSectionMeta[] = internal.flatMap((m) => (m.variables ? [{ name: m.section, variables: m.variables }] : []));
  return {
    obj_name: objName,
    maps: [...userMaps(elf, btf), ...internal.map((m) => m.meta)],
    progs: programs(elf),
    data_sections,
  };
}

/** The C type of a global as the skeleton spells it; struct/union globals read `composite`. */
function variableTypeName(btf: Btf, typeId: number): string {
  const kind = stripQualifiers(btf, typeId).kind;
  return kind === BtfKind.Struct || kind === BtfKind.Union ? 'composite' : btf.typeName(typeId);
}

/** Skips const/volatile/restrict/type tags but, unlike Btf.resolve, keeps typedefs. */
export function stripQualifiers(btf: Btf, typeId: number): ReturnType<Btf['type']> {
  let t = btf.type(typeId);
  while (t.kind === BtfKind.Const || t.kind === BtfKind.Volatile || t.kind === BtfKind.Restrict || t.kind === BtfKind.TypeTag) {
    t = btf.type(t.type);
  }
  return t;
}

/** libbpf's name for an internal map: `.rodata` of `client_bpf` → `client_b.rodata`. */
export function internalMapName(objName: string, sectionName: string): string {
  const suffixLength = Math.max(7, sectionName.length);
  // Sections such as `.rodata.str1.1` keep their bare name.
  const prefixLength = sectionName.indexOf('.', 1) >= 0 ? 0 : Math.min(OBJ_NAME_LEN - suffixLength - 1, objName.length);
  const name = (objName.slice(0, prefixLength) + sectionName).slice(0, OBJ_NAME_LEN - 1);
  return name.replace(/[^A-Za-z0-9_.]/g, '_');
}

/** bpftool's skeleton identifier of an internal map: `client_b.rodata` → `rodata`. */
export function internalMapIdent(mapName: string): string {
  for (const suffix of IDENT_SUFFIXES) {
    const at = mapName.indexOf(suffix);
    if (at >= 0) return sanitizeIdentifier(mapName.slice(at + 1));
  }
  return sanitizeIdentifier(mapName);
}

/** BTF-defined maps: the variables of the `.maps` section, in offset order. */
function userMaps(elf: ElfFile, btf: Btf): MapMeta[] {
  const layout = dataSectionLayout(btf, elf, '.maps');
  if (!layout) return [];
  return [...layout.variables].sort((a, b) => a.offset - b.offset).map((v) => ({ name: v.name, ident: v.name }));
}

function isDataSection(section: ElfSection): boolean {
  const { name } = section;
  if (section.size === 0) return false;
  if (section.type === SHT_NOBITS) return name === '.bss' || name.startsWith('.bss.');
  if (section.type !== SHT_PROGBITS || (section.flags & SHF_EXECINSTR) !== 0n) return false;
  return name === '.data' || name.startsWith('.data.') || name === '.rodata' || name.startsWith('.rodata.');
}

/** `.data*`, `.rodata*` and `.bss*` maps, in section order. */
function dataSectionMaps(elf: ElfFile, btf: Btf, objName: string): InternalMap[] {
  return elf.sections.filter(isDataSection).map((section) => {
    const layout = dataSectionLayout(btf, elf, section.name);
    const exported = (layout?.variables ?? [])
      .filter((v) => !v.isStatic)
      .sort((a, b) => a.offset - b.offset)
      .map((v) => ({ name: v.name, type: variableTypeName(btf, v.typeId) }));
    return internalMap(objName, section.name, exported);
  });
}

/** The map libbpf creates for `__kconfig` externs. */
function kconfigMap(btf: Btf, objName: string): InternalMap[] {
  const datasec = btf.findByName(KCONFIG_SECTION, BtfKind.Datasec);
  if (!datasec || datasec.kind !== BtfKind.Datasec || datasec.vars.length === 0) return [];
  const variables = datasec.vars.flatMap((info) => {
    const v = btf.type(info.type);
    return v.kind === BtfKind.Var && v.linkage !== BTF_VAR_STATIC ? [{ name: v.name, type: variableTypeName(btf, v.type) }] : [];
  });
  return [internalMap(objName, KCONFIG_SECTION, variables)];
}

/** Only maps with a non-static variable are mmapable (and then carry a data section). */
function internalMap(objName: string, section: string, variables: DataSectionVariableMeta[]): InternalMap {
  const name = internalMapName(objName, section);
  const meta: MapMeta = { name, ident: internalMapIdent(name) };
  if (variables.length === 0) return { section, meta };
  return { section, meta: { ...meta, mmaped: true }, variables };
}

/** The sections that hold programs, by index: executable ones other than `.text` (which holds subprograms). */
export function programSections(elf: ElfFile): Map<number, string> {
  return new Map(
    elf.sections.filter((s) => s.type === SHT_PROGBITS && (s.flags & SHF_EXECINSTR) !== 0n && s.size > 0 && s.name !== '.text').map((s) => [s.index, s.name]),
  );
}

/** Functions in the program sections. */
function programs(elf: ElfFile): ProgMeta[] {
  const sections = programSections(elf);
  const symbols = elf.symbols
    .filter((sym) => sym.type === STT_FUNC && sections.has(sym.sectionIndex))
    .sort((a, b) => a.sectionIndex - b.sectionIndex || a.value - b.value);
  return symbols.map((sym) => {
    const section = sections.get(sym.sectionIndex)!;
    if (sym.bind === STB_LOCAL) {
      throw new EcliError('COMPILE_FAILED', `program ${sym.name} in SEC("${section}") is static; libbpf refuses static programs`, {
        hint: `remove "static" from the definition of ${sym.name}`,
      });
    }
    return { name: sym.name, attach: section, link: true };
  });
}
