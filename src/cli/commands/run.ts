/** `ecli run <package> [program options...]`: resolve the input, pick the BTF for CO-RE, run the package until stopped. */
import { selectBtfPath } from '../../inputs/btf-select.js';
import { resolvePackageSource, type ResolveOptions } from '../../inputs/source.js';
import { buildPackageSpec } from '../../model/spec.js';
import type { OutputSettings } from '../../format/event.js';
import { runPackage } from '../../runner/run.js';
import type { CommandIo } from './io.js';

export interface RunCommandOptions extends ResolveOptions {
  output: OutputSettings;
  tracePipe: boolean;
  verbose: boolean;
  /** Resolves (with the signal's name) when the run should stop. */
  stopRequested: Promise<string>;
  /** Resolves on a second stop signal. */
  stopForced: Promise<string>;
}

export async function runRun(spec: string, programArgs: readonly string[], opts: RunCommandOptions, io: CommandIo): Promise<number> {
  const { output, tracePipe, verbose, stopRequested, stopForced, ...resolveOptions } = opts;
  const resolved = await resolvePackageSource(spec, resolveOptions);
  try {
    const btfCustomPath = selectBtfPath({ env: process.env, ...(resolved.btfArchive ? { archiveDir: resolved.btfArchive.dir } : {}) });
    return await runPackage(buildPackageSpec(resolved), programArgs, {
      output,
      verbose,
      tracePipe,
      btfCustomPath,
      stdout: io.stdout,
      stderr: io.stderr,
      stopRequested,
      stopForced,
    });
  } finally {
    resolved.btfArchive?.cleanup();
  }
}
