/**
 * The function symbols of an executable or shared library (.symtab, else .dynsym), looked up by
 * file offset: a frame's address minus its mapping's start plus the mapping's offset. The
 * loadable segments turn that offset into the link-time address symbols are given in, which
 * handles PIE executables and shared libraries (loaded anywhere) and fixed executables alike. Pure.
 */
import { PT_LOAD, STT_FUNC, isElf, parseElf, type ElfFile, type ElfSymbol } from '../elf/elf.js';
import { SymbolIndex, type SymbolHit } from './symbol-index.js';

const STT_GNU_IFUNC = 10;

export interface ElfSymbols {
  lookupFileOffset(offset: bigint): SymbolHit | undefined;
}

/** Undefined for what is not a readable 64-bit little-endian ELF, or has no function symbols. */
export function readElfSymbols(bytes: Uint8Array): ElfSymbols | undefined {
  if (!isElf(bytes)) return undefined;
  let elf: ElfFile;
  try {
    elf = parseElf(bytes, 'binary');
  } catch {
    return undefined;
  }
  const isFunction = (s: ElfSymbol) => (s.type === STT_FUNC || s.type === STT_GNU_IFUNC) && s.value !== 0 && s.name !== '';
  // A stripped binary keeps only .dynsym; otherwise .symtab holds every function .dynsym has.
  const functions = elf.symbols.some(isFunction) ? elf.symbols.filter(isFunction) : elf.dynamicSymbols.filter(isFunction);
  if (functions.length === 0) return undefined;
  const index = SymbolIndex.from(functions.map((s) => ({ start: BigInt(s.value), size: BigInt(s.size), name: s.name })));
  const loads = elf.segments.filter((segment) => segment.type === PT_LOAD);
  return {
    lookupFileOffset(offset) {
      const segment = loads.find((s) => BigInt(s.offset) <= offset && offset < BigInt(s.offset + s.fileSize));
      if (!segment) return undefined;
      return index.lookup(offset - BigInt(segment.offset) + BigInt(segment.vaddr));
    },
  };
}
