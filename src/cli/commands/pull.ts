/**
 * `ecli pull <reference> [-o path]`: write the package layer of a registry artifact byte for
 * byte, its digest checked. `-o` names a file, or a folder (existing, or ending in `/`) to write
 * the layer's own file name into (the current folder by default).
 */
import { writeFile } from 'node:fs/promises';
import { DEFAULT_MAX_BYTES } from '../../inputs/source.js';
import { formatReference, parseReference } from '../../inputs/registry/reference.js';
import { pullPackage } from '../../inputs/registry/transfer.js';
import type { CommandIo } from './io.js';
import { resolveOutput, writeReplacing } from './output-file.js';

export interface PullCommandOptions {
  output?: string;
  plainHttp?: boolean;
  cwd?: string;
}

export async function runPull(reference: string, opts: PullCommandOptions, io: CommandIo): Promise<void> {
  const ref = parseReference(reference);
  const pulled = await pullPackage(ref, DEFAULT_MAX_BYTES, opts.plainHttp ? { plainHttp: true } : {});
  const path = resolveOutput(opts.output, pulled.fileName, opts.cwd ?? process.cwd(), []);
  await writeReplacing(path, (temp) => writeFile(temp, pulled.bytes));
  if (ref.digest === undefined) io.stderr.write(`ecli: ${formatReference(ref)} is ${formatReference({ ...ref, digest: pulled.digest })}\n`);
  io.stdout.write(`wrote ${path}\n`);
}
