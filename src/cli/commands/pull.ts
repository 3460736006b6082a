/**
 * `ecli pull <reference> [-o path]`: write the package layer of a registry artifact byte for
 * byte, its digest checked. `-o` names a file, or a folder (existing, or ending in `/`) to write
 * the layer's own file name into (the current folder by default).
 */
import { writeFile } from 'node:fs/promises';
import { DEFAULT_MAX_BYTES } from '../../inputs/source.js';
import { formatReference, parseReference } from '../../inputs/registry/reference.js';
import { pullPackage } from '../../inputs/registry/transfer.js';
import { loadSigningGate } from '../../signing/options.js';
import type { CommandIo } from './io.js';
import { resolveOutput, writeReplacing } from './output-file.js';

export interface PullCommandOptions {
  output?: string;
  plainHttp?: boolean;
  cwd?: string;
  /** Public keys: the manifest must carry a signature by one of them, checked before its layer is fetched. */
  verifyKeys?: readonly string[];
}

export async function runPull(reference: string, opts: PullCommandOptions, io: CommandIo): Promise<void> {
  const ref = parseReference(reference);
  const gate = await loadSigningGate({
    verifyKeys: opts.verifyKeys ?? [],
    policy: false,
    onVerified: (message) => io.stderr.write(`ecli: ${message}\n`),
  });
  const pulled = await pullPackage(ref, DEFAULT_MAX_BYTES, {
    ...(opts.plainHttp ? { plainHttp: true } : {}),
    ...(gate === undefined ? {} : { checkManifest: (client, digest) => gate({ kind: 'registry', reference: ref, digest, client }) }),
  });
  const path = resolveOutput(opts.output, pulled.fileName, opts.cwd ?? process.cwd(), []);
  await writeReplacing(path, (temp) => writeFile(temp, pulled.bytes));
  if (ref.digest === undefined) io.stderr.write(`ecli: ${formatReference(ref)} is ${formatReference({ ...ref, digest: pulled.digest })}\n`);
  io.stdout.write(`wrote ${path}\n`);
}
