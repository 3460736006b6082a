/**
 * The package's data sections: the settable ones (`.rodata`, `.data`, `.bss`, whose initial
 * image program options write into) matched to their internal map and BTF layout.
 */
import type { Btf } from '../btf/btf.js';
import { dataSectionLayout, type DataSectionLayout } from '../btf/layout.js';
import type { ElfFile } from '../elf/elf.js';
import { EcliError } from '../errors.js';
import type { EunomiaObjectMeta } from '../package/types.js';

/** Data sections whose initial image a package may set (libbpf mmaps these internal maps). */
const SETTABLE_SECTIONS = new Set(['.rodata', '.bss', '.data']);

export type DataSectionSpec =
  | {
      readonly section: string;
      readonly settable: true;
      /** libbpf's name for the internal map, e.g. `client_b.rodata`. */
      readonly mapName: string;
      readonly layout: DataSectionLayout;
      readonly variables: readonly string[];
    }
  | { readonly section: string; readonly settable: false; readonly variables: readonly string[] };

export function dataSectionSpecs(meta: EunomiaObjectMeta, btf: Btf, elf: ElfFile, source: string): DataSectionSpec[] {
  return meta.bpf_skel.data_sections.map((section): DataSectionSpec => {
    const variables = Object.freeze(section.variables.map((v) => v.name));
    if (!SETTABLE_SECTIONS.has(section.name)) return Object.freeze({ section: section.name, settable: false, variables });
    const ident = section.name.slice(1);
    const map = meta.bpf_skel.maps.find((m) => m.ident === ident);
    if (!map) {
      throw new EcliError('PACKAGE_INVALID', `${source}: no map with ident "${ident}" for section ${section.name}`, {
        hint: 'the package meta is incomplete; recompile it with ./ecc',
      });
    }
    const layout = dataSectionLayout(btf, elf, section.name);
    if (!layout) {
      throw new EcliError('BTF_INVALID', `${source}: the object has no ${section.name} section with BTF, but the meta lists one`, {
        hint: 'the meta and the object come from different builds; recompile with ./ecc',
      });
    }
    return Object.freeze({ section: section.name, settable: true, mapName: map.name, layout, variables });
  });
}
