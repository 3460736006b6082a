/**
 * `ecli pull <reference> [-o path] [--force]`: write the package layer of a registry artifact byte
 * for byte, its digest checked, to `<repository>.<json|tar|tar.gz|wasm>` in the current folder, or
 * to `-o` (a file, or a folder to write that name into). A file named by `-o` is replaced; the
 * name pull chose replaces nothing unless `--force` says so: a registry never overwrites the user's
 * package.json or Makefile. A destination it would refuse is refused before anything is downloaded.
 */
import { dirname } from 'node:path';
import { checkFolderWritable, checkWritable, writeFileSafely, type SafeWriteOptions } from '../../files/safe-write.js';
import { EcliError } from '../../errors.js';
import { DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_MS } from '../../inputs/source.js';
import { pulledFileStem } from '../../inputs/registry/artifact.js';
import { formatReference, parseReference } from '../../inputs/registry/reference.js';
import { pullPackage } from '../../inputs/registry/transfer.js';
import { loadSigningGate } from '../../signing/options.js';
import { escapeControls } from '../../terminal.js';
import { isWasmModule } from '../../wasm/module-binary.js';
import { wasmModuleSummary } from '../../wasm/module-report.js';
import type { CommandIo } from './io.js';
import { OUTPUT_HINT, resolveOutput } from './output-file.js';

export interface PullCommandOptions {
  output?: string;
  /** Replace the file pull chose when it exists. */
  force?: boolean;
  plainHttp?: boolean;
  cwd?: string;
  /** Public keys: the manifest must carry a signature by one of them, checked before its layer is fetched. */
  verifyKeys?: readonly string[];
}

export async function runPull(reference: string, opts: PullCommandOptions, io: CommandIo): Promise<void> {
  const ref = parseReference(reference);
  const destination = (fileName: string): { path: string; named: boolean; options: SafeWriteOptions } => {
    const output = resolveOutput(opts.output, fileName, opts.cwd ?? process.cwd(), []);
    const refuseHint = `to replace it: ecli pull -o ${output.path} ${reference} (or --force); or pull into another folder: ecli pull -o <folder>/ ${reference}`;
    return { ...output, options: { existing: output.named || opts.force === true ? 'replace' : 'refuse', refuseHint, hint: OUTPUT_HINT } };
  };
  // Before any request: a file -o names, else the folder (the name pull chooses ends with the
  // extension of the layer's media type, known from the manifest: checked then, before the
  // layer is downloaded, and again when it is written).
  const early = destination(pulledFileStem(ref.repository));
  if (early.named) checkWritable(early.path, early.options);
  else checkFolderWritable(dirname(early.path), OUTPUT_HINT);
  const gate = await loadSigningGate({
    verifyKeys: opts.verifyKeys ?? [],
    policy: false,
    onVerified: (message) => io.stderr.write(`ecli: ${message}\n`),
  });
  const stop = new AbortController();
  const pulled = await pullPackage(ref, DEFAULT_MAX_BYTES, {
    signal: stop.signal,
    beforeDownload: (fileName) => {
      const chosen = destination(fileName);
      checkWritable(chosen.path, chosen.options);
    },
    ...(opts.plainHttp ? { plainHttp: true } : {}),
    ...(gate === undefined
      ? {}
      : { checkManifest: (client, digest) => checkWithinDeadline(reference, stop, () => gate({ kind: 'registry', reference: ref, digest, client })) }),
  });
  if (ref.digest === undefined) io.stderr.write(`ecli: ${formatReference(ref)} is ${formatReference({ ...ref, digest: pulled.digest })}\n`);
  const output = destination(pulled.fileName);
  await writeFileSafely(output.path, pulled.bytes, output.options);
  if (isWasmModule(pulled.bytes)) io.stderr.write(`ecli: ${escapeControls(output.path)} is ${wasmModuleSummary(pulled.bytes, output.path)}\n`);
  io.stdout.write(`wrote ${output.path}\n`);
}

/**
 * The signature check is a few small requests: one deadline for all of them (aborting `stop`,
 * which every request of the session listens to), so that a registry answering each slowly cannot
 * hold pull for hours. The package's download then keeps its own per-request limits.
 */
async function checkWithinDeadline(reference: string, stop: AbortController, check: () => Promise<void>): Promise<void> {
  const timer = setTimeout(() => {
    stop.abort(
      new EcliError('NETWORK', `checking the signatures of ${reference}: no complete answer within ${DEFAULT_TIMEOUT_MS} ms`, {
        hint: 'check that the registry is up and answers',
      }),
    );
  }, DEFAULT_TIMEOUT_MS);
  try {
    await check();
  } finally {
    clearTimeout(timer);
  }
}
