/**
 * `ecli pull <reference> [-o path] [--force]`: write the package layer of a registry artifact byte
 * for byte, its digest checked, to `<repository>.<json|tar|tar.gz|wasm>` in the current folder, or
 * to `-o` (a file, or a folder to write that name into). A file named by `-o` is replaced; the
 * name pull chose replaces nothing unless `--force` says so: a registry never overwrites the user's
 * package.json or Makefile.
 */
import { writeFileSafely } from '../../files/safe-write.js';
import { EcliError } from '../../errors.js';
import { DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_MS } from '../../inputs/source.js';
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
  const gate = await loadSigningGate({
    verifyKeys: opts.verifyKeys ?? [],
    policy: false,
    onVerified: (message) => io.stderr.write(`ecli: ${message}\n`),
  });
  const stop = new AbortController();
  const pulled = await pullPackage(ref, DEFAULT_MAX_BYTES, {
    signal: stop.signal,
    ...(opts.plainHttp ? { plainHttp: true } : {}),
    ...(gate === undefined
      ? {}
      : { checkManifest: (client, digest) => checkWithinDeadline(reference, stop, () => gate({ kind: 'registry', reference: ref, digest, client })) }),
  });
  if (ref.digest === undefined) io.stderr.write(`ecli: ${formatReference(ref)} is ${formatReference({ ...ref, digest: pulled.digest })}\n`);
  const output = resolveOutput(opts.output, pulled.fileName, opts.cwd ?? process.cwd(), []);
  await writeFileSafely(output.path, pulled.bytes, {
    existing: output.named || opts.force === true ? 'replace' : 'refuse',
    refuseHint: `to replace it: ecli pull -o ${output.path} ${reference} (or --force); or pull into another folder: ecli pull -o <folder>/ ${reference}`,
    hint: OUTPUT_HINT,
  });
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
