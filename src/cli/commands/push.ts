/**
 * `ecli push <package.json | tarball | module.wasm> <host[:port]/repo[:tag]>`: upload a package as
 * an OCI artifact, or a Wasm module as the reference's ecli pushes one.
 */
import { basename } from 'node:path';
import { buildManifest } from '../../inputs/manifest.js';
import { resolveInput, type ResolveOptions } from '../../inputs/source.js';
import { isGzip } from '../../inputs/tarball.js';
import { buildArtifact, buildWasmArtifact, type PackageArtifact, type PackageFileKind } from '../../inputs/registry/artifact.js';
import { escapeControls } from '../../terminal.js';
import { wasmModuleSummary } from '../../wasm/module-report.js';
import { formatReference, parseReference } from '../../inputs/registry/reference.js';
import { pushArtifact } from '../../inputs/registry/transfer.js';
import type { CommandIo } from './io.js';
import { isPlainFileName } from './output-file.js';

export interface PushCommandOptions extends ResolveOptions {
  chunkSize?: number;
}

export async function runPush(spec: string, reference: string, opts: PushCommandOptions, io: CommandIo): Promise<void> {
  const ref = parseReference(reference);
  const resolved = await resolveInput(spec, opts);
  let artifact: PackageArtifact;
  let fileName: string;
  if (resolved.type === 'wasm') {
    const name = basename(spec);
    fileName = isPlainFileName(name) ? name : 'app.wasm';
    // A module that is no WebAssembly binary is refused; one another runtime would take is pushed, with a word.
    io.stderr.write(`ecli: ${escapeControls(fileName)} is ${wasmModuleSummary(resolved.bytes, resolved.source)}\n`);
    artifact = buildWasmArtifact(resolved.bytes, fileName);
  } else {
    resolved.btfArchive?.cleanup();
    const kind: PackageFileKind = resolved.type === 'json' ? 'json' : isGzip(resolved.bytes) ? 'tar.gz' : 'tar';
    const info = resolved.manifest ?? buildManifest(resolved.pkg, resolved.bytes, resolved.elf, []);
    const name = basename(spec);
    fileName = isPlainFileName(name) ? name : kind === 'json' ? 'package.json' : `${info.name}.${kind}`;
    artifact = buildArtifact(resolved.bytes, kind, fileName, {
      name: info.name,
      version: info.version,
      ...(info.description === undefined ? {} : { description: info.description }),
    });
  }
  await pushArtifact(ref, artifact, {
    ...(opts.plainHttp ? { plainHttp: true } : {}),
    ...(opts.chunkSize === undefined ? {} : { chunkSize: opts.chunkSize }),
    onBlob: (blob, uploaded) => {
      if (!uploaded) io.stderr.write(`ecli: blob ${blob.digest} (${blob.size} bytes) is already in the registry; not uploaded again\n`);
    },
  });
  io.stderr.write(
    `ecli: pushed ${fileName} (${resolved.bytes.length} bytes) to ${formatReference(ref)}; pin it as ${formatReference({ ...ref, digest: artifact.digest })}\n`,
  );
  io.stdout.write(`${artifact.digest}\n`);
}
