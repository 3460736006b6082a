/** `ecli pack <package.json> [-o out] [--btf file|dir]...`: write a distributable tarball. */
import { readFileSync } from 'node:fs';
import { sha256Hex } from '../../distribute/digest.js';
import { packPackage, type PackOptions } from '../../distribute/pack.js';
import type { CommandIo } from './io.js';

export async function runPack(path: string, opts: PackOptions, io: CommandIo): Promise<void> {
  const output = await packPackage(path, opts);
  const digest = sha256Hex(readFileSync(output));
  // The digest is what users pin with `ecli run --sha256 <digest> <url>`.
  io.stdout.write(`wrote ${output}\nsha256 ${digest}\n`);
}
