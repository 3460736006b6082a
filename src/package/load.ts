/** From package.json text or file to a validated package and its BPF ELF bytes. */
import { readFile } from 'node:fs/promises';
import { EcliError } from '../errors.js';
import { decodeBpfObject, parsePackageText } from './decode.js';
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

export async function readPackageFile(path: string): Promise<DecodedPackage> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new EcliError('INPUT_NOT_FOUND', `cannot read ${path}: ${why}`, {
      hint: 'pass the package.json written by ecc (e.g. ecli run ./package.json)',
      cause: error,
    });
  }
  return decodePackage(text, path);
}
