/**
 * A minimal reader for 64-bit little-endian ELF files: the relocatable objects clang -target bpf
 * writes, and (for stack symbolisation) executables and shared libraries: their loadable
 * segments and dynamic symbols too.
 */
import { EcliError } from '../errors.js';

export const EM_BPF = 247;
export const SHT_SYMTAB = 2;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
export const PT_LOAD = 1;
export const STT_FUNC = 2;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  size: number;
  /** Where the section's bytes start in the file (SHT_NOBITS sections have none there). */
  fileOffset: number;
  /** Empty for SHT_NOBITS sections such as .bss. */
  data: Uint8Array;
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  type: number;
  bind: number;
  sectionIndex: number;
}

export interface ElfSegment {
  type: number;
  /** Where the segment starts in the file, and in memory once loaded (before relocation). */
  offset: number;
  vaddr: number;
  fileSize: number;
}

export interface ElfFile {
  machine: number;
  sections: ElfSection[];
  /** .symtab (absent from stripped binaries). */
  symbols: ElfSymbol[];
  /** .dynsym (executables and shared libraries). */
  dynamicSymbols: ElfSymbol[];
  segments: ElfSegment[];
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

function fail(source: string, what: string): never {
  throw new EcliError('PACKAGE_INVALID', `${source}: malformed ELF object: ${what}`, {
    hint: 'the object is corrupt or truncated; recompile it with ./ecc',
  });
}

function cString(bytes: Uint8Array, offset: number): string {
  let end = offset;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, end - offset).toString('utf8');
}

export function parseElf(bytes: Uint8Array, source = 'object'): ElfFile {
  if (!isElf(bytes)) fail(source, 'no ELF magic');
  if (bytes.length < 64) fail(source, 'header truncated');
  if (bytes[4] !== 2) fail(source, 'not a 64-bit ELF');
  if (bytes[5] !== 1) fail(source, 'not little-endian');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const machine = view.getUint16(18, true);
  const shoff = Number(view.getBigUint64(40, true));
  const shentsize = view.getUint16(58, true);
  const shnum = view.getUint16(60, true);
  const shstrndx = view.getUint16(62, true);
  if (shentsize !== 64 || shoff + shnum * 64 > bytes.length) fail(source, 'section header table out of bounds');
  if (shstrndx >= shnum) fail(source, 'bad section name table index');

  const headers = Array.from({ length: shnum }, (_, index) => {
    const at = shoff + index * 64;
    const type = view.getUint32(at + 4, true);
    const offset = Number(view.getBigUint64(at + 24, true));
    const size = Number(view.getBigUint64(at + 32, true));
    if (type !== SHT_NOBITS && offset + size > bytes.length) fail(source, `section ${index} out of bounds`);
    return {
      nameOffset: view.getUint32(at, true),
      type,
      flags: view.getBigUint64(at + 8, true),
      offset,
      size,
      link: view.getUint32(at + 40, true),
    };
  });
  const names = headers[shstrndx]!;
  const sections: ElfSection[] = headers.map((h, index) => ({
    index,
    name: cString(bytes.subarray(names.offset, names.offset + names.size), h.nameOffset),
    type: h.type,
    flags: h.flags,
    size: h.size,
    fileOffset: h.offset,
    data: h.type === SHT_NOBITS ? new Uint8Array(0) : bytes.subarray(h.offset, h.offset + h.size),
  }));

  const readSymbols = (tableType: number): ElfSymbol[] => {
    const symbols: ElfSymbol[] = [];
    const symtab = headers.find((h) => h.type === tableType);
    if (!symtab) return symbols;
    const strtab = headers[symtab.link];
    if (!strtab) fail(source, 'symbol table has no string table');
    const strings = bytes.subarray(strtab.offset, strtab.offset + strtab.size);
    for (let at = symtab.offset; at + 24 <= symtab.offset + symtab.size; at += 24) {
      const info = view.getUint8(at + 4);
      symbols.push({
        name: cString(strings, view.getUint32(at, true)),
        type: info & 0xf,
        bind: info >> 4,
        sectionIndex: view.getUint16(at + 6, true),
        value: Number(view.getBigUint64(at + 8, true)),
        size: Number(view.getBigUint64(at + 16, true)),
      });
    }
    return symbols;
  };
  return { machine, sections, symbols: readSymbols(SHT_SYMTAB), dynamicSymbols: readSymbols(SHT_DYNSYM), segments: readSegments(bytes, view, source) };
}

function readSegments(bytes: Uint8Array, view: DataView, source: string): ElfSegment[] {
  const phoff = Number(view.getBigUint64(32, true));
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  if (phnum === 0) return [];
  if (phentsize !== 56 || phoff + phnum * 56 > bytes.length) fail(source, 'program header table out of bounds');
  return Array.from({ length: phnum }, (_, index) => {
    const at = phoff + index * 56;
    return {
      type: view.getUint32(at, true),
      offset: Number(view.getBigUint64(at + 8, true)),
      vaddr: Number(view.getBigUint64(at + 16, true)),
      fileSize: Number(view.getBigUint64(at + 32, true)),
    };
  });
}

export function findSection(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}
