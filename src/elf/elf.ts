/** A minimal reader for 64-bit little-endian ELF relocatable objects (what clang -target bpf writes). */
import { EcliError } from '../errors.js';

export const EM_BPF = 247;
export const SHT_SYMTAB = 2;
export const SHT_NOBITS = 8;
export const STT_FUNC = 2;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  size: number;
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

export interface ElfFile {
  machine: number;
  sections: ElfSection[];
  symbols: ElfSymbol[];
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
    data: h.type === SHT_NOBITS ? new Uint8Array(0) : bytes.subarray(h.offset, h.offset + h.size),
  }));

  const symbols: ElfSymbol[] = [];
  const symtabIndex = headers.findIndex((h) => h.type === SHT_SYMTAB);
  if (symtabIndex >= 0) {
    const symtab = headers[symtabIndex]!;
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
  }
  return { machine, sections, symbols };
}

export function findSection(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}
