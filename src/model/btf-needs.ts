/**
 * Whether a BPF object needs the running kernel's BTF: it has CO-RE relocations (recorded in
 * .BTF.ext), or programs whose attach target is a BTF id. Pure.
 */
import { findSection, type ElfFile } from '../elf/elf.js';
import { attachKindOf } from './attach-kind.js';

export interface BtfNeeds {
  /** libbpf needs the kernel's BTF (or BTF_FILE_PATH) to load this object. */
  kernelBtf: boolean;
  /** Why, for messages and `inspect`: `CO-RE relocations`, `tp_btf program handle_x`... */
  reasons: string[];
}

const BTF_EXT_MAGIC = 0xeb9f;
/** .BTF.ext headers of at least this size carry core_relo_off/core_relo_len. */
const HEADER_WITH_CORE_RELOS = 32;
const KINDS_NEEDING_BTF = new Set(['tp_btf', 'fentry', 'fexit', 'fmod_ret', 'lsm', 'iter']);

export function btfNeedsOf(elf: ElfFile, programs: readonly { name: string; section: string }[]): BtfNeeds {
  const reasons = programs
    .filter((program) => KINDS_NEEDING_BTF.has(attachKindOf(program.section)))
    .map((program) => `${attachKindOf(program.section)} program ${program.name}`);
  if (hasCoreRelocations(elf)) reasons.unshift('CO-RE relocations');
  return { kernelBtf: reasons.length > 0, reasons };
}

function hasCoreRelocations(elf: ElfFile): boolean {
  const ext = findSection(elf, '.BTF.ext')?.data;
  if (!ext || ext.length < HEADER_WITH_CORE_RELOS) return false;
  const view = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  if (view.getUint16(0, true) !== BTF_EXT_MAGIC) return false;
  const headerLength = view.getUint32(4, true);
  return headerLength >= HEADER_WITH_CORE_RELOS && view.getUint32(28, true) > 0;
}
