/**
 * Extern symbols of a compiled object that nothing will provide. libbpf resolves only externs in
 * the `.kconfig` (`__kconfig`) and `.ksyms` (`__ksym`) sections; any other undefined global
 * (a helper name misspelt and declared `extern`, a variable defined in no file) makes libbpf
 * refuse the object at run time, so ecc refuses it at compile time. Variables have BTF VARs;
 * functions may have no BTF at all (an implicitly declared call).
 */
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/types.js';
import type { ElfFile } from '../elf/elf.js';

const SHN_UNDEF = 0;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
/** The sections whose externs libbpf fills in when it loads the object. */
const RESOLVED_SECTIONS = ['.kconfig', '.ksyms'];

export interface UnresolvedExtern {
  name: string;
  kind: 'function' | 'variable';
}

export function unresolvedExterns(elf: ElfFile, btf: Btf): UnresolvedExtern[] {
  const resolved = new Set<string>();
  for (const section of RESOLVED_SECTIONS) {
    const datasec = btf.findByName(section, BtfKind.Datasec);
    if (datasec?.kind !== BtfKind.Datasec) continue;
    for (const v of datasec.vars) resolved.add(btf.type(v.type).name);
  }
  return elf.symbols
    .filter((s) => s.sectionIndex === SHN_UNDEF && (s.bind === STB_GLOBAL || s.bind === STB_WEAK) && s.name !== '' && !resolved.has(s.name))
    .map((s) => ({ name: s.name, kind: btf.findByName(s.name, BtfKind.Var) ? 'variable' : 'function' }));
}
