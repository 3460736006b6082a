/**
 * `ecli pack <package.json> [-o out] [--btf file|dir]...`: a package.json (plus optional BTF
 * files) to a `<name>.tar.gz` holding package.json as is, manifest.json and a btfhub-archive
 * tree. The tarball is reproducible: same inputs, same bytes, so its sha256 can be published
 * as a pin.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { create } from 'tar';
import { EcliError } from '../../errors.js';
import { makeDirs } from '../../files/make-dirs.js';
import { btfRelativePath } from '../../inputs/btfhub.js';
import { collectBtfInputs } from '../../inputs/btf-inputs.js';
import { sha256Hex } from '../../inputs/digest.js';
import { buildManifest, packageName } from '../../inputs/manifest.js';
import { readInputFile } from '../../inputs/read-file.js';
import { DEFAULT_MAX_BYTES } from '../../inputs/source.js';
import { isGzip, isTar } from '../../inputs/tarball.js';
import { decodePackage } from '../../package/load.js';
import type { CommandIo } from './io.js';
import { writeError, writeFileSafely } from '../../files/safe-write.js';
import { isPlainFileName, OUTPUT_HINT, resolveOutput } from './output-file.js';

export interface PackOptions {
  /** Output file, or a folder (an existing one, or any path ending in `/`) to write `<name>.tar.gz` into. */
  output?: string;
  /** BTF files (`.../<id>/<version>/<arch>/<release>.btf`) or btfhub-archive-style directories. */
  btf?: string[];
  /** Where the default output goes; defaults to the current directory. */
  cwd?: string;
}

const ARCHIVE_DIR = 'btfhub-archive';
const FIXED_MTIME = new Date(0);

export async function runPack(path: string, opts: PackOptions, io: CommandIo): Promise<void> {
  const output = await packPackage(path, opts);
  const digest = sha256Hex(readFileSync(output));
  // The digest is what users pin with `ecli run --sha256 <digest> <url>`.
  io.stdout.write(`wrote ${output}\nsha256 ${digest}\n`);
}

/** What pack is most often given instead of a package.json, named as such rather than as JSON that does not parse. */
function refuseNonPackage(bytes: Uint8Array, path: string): void {
  if (isGzip(bytes) || isTar(bytes)) {
    throw new EcliError('USAGE', `${path} is a package tarball already; ecli pack packs the package.json that ecc writes`, {
      hint: `run, push or inspect ${path} as it is`,
    });
  }
  if (path.endsWith('.c') || path.endsWith('.h')) {
    throw new EcliError('USAGE', `${path} is C, not a package`, {
      hint: 'compile it with ecc first (ecc prog.bpf.c prog.h), then pack the package.json it writes',
    });
  }
}

/** Writes the tarball and returns its path. */
export async function packPackage(packagePath: string, opts: PackOptions = {}): Promise<string> {
  const packageBytes = await readInputFile(packagePath, DEFAULT_MAX_BYTES, 'pass the package.json written by ecc');
  refuseNonPackage(packageBytes, packagePath);
  const { pkg, elf } = decodePackage(Buffer.from(packageBytes).toString('utf8'), packagePath);
  const btf = collectBtfInputs(opts.btf ?? []).map((input) => ({ ...input, entry: `${ARCHIVE_DIR}/${btfRelativePath(input.target)}` }));
  const manifest = buildManifest(
    pkg,
    packageBytes,
    elf,
    btf.map((b) => b.entry),
  );
  const inputs = [packagePath, ...btf.map((b) => b.path)];
  const output = resolveOutput(opts.output, defaultOutputName(packageName(pkg)), opts.cwd ?? process.cwd(), inputs);

  const staging = mkdtempSync(join(tmpdir(), 'ecli-pack-'));
  try {
    try {
      writeFileSync(join(staging, 'package.json'), packageBytes);
      writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      for (const { path, entry } of btf) {
        makeDirs(dirname(join(staging, entry)));
        copyFileSync(path, join(staging, entry));
      }
    } catch (error) {
      throw writeError(staging, error, false);
    }
    const entries = ['package.json', 'manifest.json', ...btf.map((b) => b.entry)];
    // pack's own output: replaced when it exists (packing is reproducible), -o named or not.
    return await writeFileSafely(output.path, (out) => pipeline(create({ gzip: true, cwd: staging, portable: true, mtime: FIXED_MTIME }, entries), out), {
      existing: 'replace',
      hint: OUTPUT_HINT,
    });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** `<name>.tar.gz` when the package's name is a plain file name; a name with `/` or `..` never picks a folder. */
function defaultOutputName(name: string): string {
  return isPlainFileName(name) ? `${name}.tar.gz` : 'package.tar.gz';
}
