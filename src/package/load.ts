/** From package.json text to a validated package and its BPF ELF bytes. */
import { decodeBpfObject, parsePackageText } from './codec.js';
import type { ComposedPackage } from './types.js';
import { validatePackage } from './validate.js';

export interface DecodedPackage {
  pkg: ComposedPackage;
  elf: Uint8Array;
}

/** parse → validate → decode; `source` names the input in error messages. */
export function decodePackage(text: string, source: string): DecodedPackage {
  const pkg = validatePackage(parsePackageText(text, source), source);
  return { pkg, elf: decodeBpfObject(pkg, source) };
}
