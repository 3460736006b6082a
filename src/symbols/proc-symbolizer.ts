/**
 * Symbolises stack frames of the running system: kernel addresses from /proc/kallsyms, user
 * addresses through /proc/PID/maps and the mapped file's ELF symbols. Reading /proc (and the
 * mapped files) is its only I/O; kallsyms is read once, each binary once (by device and inode),
 * each process's maps once and again when an address falls outside them. An address it cannot
 * name (a process that has exited, a stripped library, JIT code) stays an address.
 */
import { readFileSync } from 'node:fs';
import type { StackSymbolizer } from '../format/stack.js';
import { readElfSymbols, type ElfSymbols } from './elf-symbols.js';
import { parseKallsyms } from './kallsyms.js';
import { fileOffsetOf, mappingOf, parseProcMaps, type FileMapping } from './proc-maps.js';
import { formatSymbolHit, type SymbolIndex } from './symbol-index.js';

/** Processes whose maps are kept; past this the cache starts over (a profile of a busy machine sees many). */
const MAX_PROCESSES = 256;

export function createProcSymbolizer(proc = '/proc'): StackSymbolizer {
  let kernel: SymbolIndex | undefined | null = null;
  const processes = new Map<number, FileMapping[]>();
  const binaries = new Map<string, ElfSymbols | undefined>();

  const read = (path: string): Buffer | undefined => {
    try {
      return readFileSync(path);
    } catch {
      return undefined;
    }
  };
  const mapsOf = (pid: number): FileMapping[] | undefined => {
    const text = read(`${proc}/${pid}/maps`);
    if (text === undefined) return undefined;
    if (processes.size >= MAX_PROCESSES) processes.clear();
    const maps = parseProcMaps(text.toString('utf8'));
    processes.set(pid, maps);
    return maps;
  };
  const symbolsOf = (pid: number, mapping: FileMapping): ElfSymbols | undefined => {
    if (binaries.has(mapping.fileId)) return binaries.get(mapping.fileId);
    // map_files reaches the very file mapped, even when it was deleted or replaced since.
    const bytes = read(`${proc}/${pid}/map_files/${mapping.range}`) ?? read(`${proc}/${pid}/root${mapping.path}`);
    const symbols = bytes === undefined ? undefined : readElfSymbols(bytes);
    binaries.set(mapping.fileId, symbols);
    return symbols;
  };

  return {
    kernel(address) {
      if (kernel === null) kernel = parseKallsyms(read(`${proc}/kallsyms`)?.toString('utf8') ?? '');
      const hit = kernel?.lookup(address);
      return hit && formatSymbolHit(hit);
    },
    user(pid, address) {
      const cached = processes.get(pid);
      let mapping = cached && mappingOf(cached, address);
      if (mapping === undefined) {
        const maps = mapsOf(pid);
        mapping = maps && mappingOf(maps, address);
      }
      if (mapping === undefined) return undefined;
      const hit = symbolsOf(pid, mapping)?.lookupFileOffset(fileOffsetOf(mapping, address));
      return hit && formatSymbolHit(hit);
    },
  };
}
