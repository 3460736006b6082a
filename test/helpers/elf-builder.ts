/**
 * Builds the bytes of a small 64-bit little-endian ELF executable for unit tests: one loadable
 * segment holding `.text`, and function symbols in `.symtab` or `.dynsym`. Enough for symbol
 * lookup by file offset, without a compiler.
 */

export interface FunctionSymbol {
  name: string;
  /** Link-time address. */
  value: number;
  size: number;
}

export interface ElfSpec {
  /** Where the loadable segment (and .text) starts in the file and in memory: they may differ. */
  segmentOffset: number;
  segmentVaddr: number;
  textSize: number;
  symbols: FunctionSymbol[];
  /** Put the symbols in .dynsym (as stripped shared libraries have them) instead of .symtab. */
  dynamic?: boolean;
}

const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STB_GLOBAL = 1;
const PT_LOAD = 1;

function strings(names: string[]): { bytes: Buffer; offsets: number[] } {
  const offsets: number[] = [];
  const parts = [Buffer.from([0])];
  let at = 1;
  for (const name of names) {
    offsets.push(at);
    parts.push(Buffer.from(`${name}\0`));
    at += name.length + 1;
  }
  return { bytes: Buffer.concat(parts), offsets };
}

export function buildElf(spec: ElfSpec): Uint8Array {
  const symbolNames = strings(spec.symbols.map((s) => s.name));
  const symtab = Buffer.alloc(24 * (spec.symbols.length + 1));
  spec.symbols.forEach((symbol, i) => {
    const at = 24 * (i + 1);
    symtab.writeUInt32LE(symbolNames.offsets[i]!, at);
    symtab.writeUInt8((STB_GLOBAL << 4) | STT_FUNC, at + 4);
    symtab.writeUInt16LE(1, at + 6); // .text
    symtab.writeBigUInt64LE(BigInt(symbol.value), at + 8);
    symtab.writeBigUInt64LE(BigInt(symbol.size), at + 16);
  });
  const sectionNames = strings(['.text', spec.dynamic ? '.dynsym' : '.symtab', spec.dynamic ? '.dynstr' : '.strtab', '.shstrtab']);

  const text = { offset: spec.segmentOffset, size: spec.textSize };
  const symtabAt = text.offset + text.size;
  const strtabAt = symtabAt + symtab.length;
  const shstrtabAt = strtabAt + symbolNames.bytes.length;
  const shoff = Math.ceil((shstrtabAt + sectionNames.bytes.length) / 8) * 8;
  const file = Buffer.alloc(shoff + 5 * 64);

  file.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  file.writeUInt16LE(3, 16); // ET_DYN
  file.writeUInt16LE(62, 18); // x86-64
  file.writeUInt32LE(1, 20);
  file.writeBigUInt64LE(64n, 32); // e_phoff
  file.writeBigUInt64LE(BigInt(shoff), 40);
  file.writeUInt16LE(64, 52);
  file.writeUInt16LE(56, 54);
  file.writeUInt16LE(1, 56);
  file.writeUInt16LE(64, 58);
  file.writeUInt16LE(5, 60);
  file.writeUInt16LE(4, 62); // .shstrtab

  file.writeUInt32LE(PT_LOAD, 64);
  file.writeUInt32LE(5, 68); // R+X
  file.writeBigUInt64LE(BigInt(text.offset), 72);
  file.writeBigUInt64LE(BigInt(spec.segmentVaddr), 80);
  file.writeBigUInt64LE(BigInt(spec.segmentVaddr), 88);
  file.writeBigUInt64LE(BigInt(text.size), 96);
  file.writeBigUInt64LE(BigInt(text.size), 104);

  file.set(symtab, symtabAt);
  file.set(symbolNames.bytes, strtabAt);
  file.set(sectionNames.bytes, shstrtabAt);
  const section = (index: number, name: number, type: number, offset: number, size: number, link = 0, entsize = 0) => {
    const at = shoff + index * 64;
    file.writeUInt32LE(name, at);
    file.writeUInt32LE(type, at + 4);
    file.writeBigUInt64LE(BigInt(offset), at + 24);
    file.writeBigUInt64LE(BigInt(size), at + 32);
    file.writeUInt32LE(link, at + 40);
    file.writeBigUInt64LE(BigInt(entsize), at + 56);
  };
  section(1, sectionNames.offsets[0]!, SHT_PROGBITS, text.offset, text.size);
  section(2, sectionNames.offsets[1]!, spec.dynamic ? SHT_DYNSYM : SHT_SYMTAB, symtabAt, symtab.length, 3, 24);
  section(3, sectionNames.offsets[2]!, SHT_STRTAB, strtabAt, symbolNames.bytes.length);
  section(4, sectionNames.offsets[3]!, SHT_STRTAB, shstrtabAt, sectionNames.bytes.length);
  return new Uint8Array(file);
}
