/**
 * `ecli pack`: a package.json (plus optional BTF files) to a `<name>.tar.gz` holding
 * package.json as is, manifest.json and a btfhub-archive tree. The tarball is reproducible:
 * same inputs, same bytes, so its sha256 can be published as a pin.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { create } from 'tar';
import { decodeBpfObject, parsePackageText } from '../package/decode.js';
import { validatePackage } from '../package/validate.js';
import { btfRelativePath } from './btfhub.js';
import { collectBtfInputs } from './btf-inputs.js';
import { buildManifest, packageName } from './manifest.js';
import { readInputFile } from './read-file.js';
import { DEFAULT_MAX_BYTES } from './source.js';

export interface PackOptions {
  /** Output file, or an existing directory to write `<name>.tar.gz` into. */
  output?: string;
  /** BTF files (`.../<id>/<version>/<arch>/<release>.btf`) or btfhub-archive-style directories. */
  btf?: string[];
  /** Where the default output goes; defaults to the current directory. */
  cwd?: string;
}

const ARCHIVE_DIR = 'btfhub-archive';
const FIXED_MTIME = new Date(0);

/** Writes the tarball and returns its path. */
export async function packPackage(packagePath: string, opts: PackOptions = {}): Promise<string> {
  const packageBytes = await readInputFile(packagePath, DEFAULT_MAX_BYTES, 'pass the package.json written by ecc');
  const pkg = validatePackage(parsePackageText(Buffer.from(packageBytes).toString('utf8'), packagePath), packagePath);
  const elf = decodeBpfObject(pkg, packagePath);
  const btf = collectBtfInputs(opts.btf ?? []).map((input) => ({ ...input, entry: `${ARCHIVE_DIR}/${btfRelativePath(input.target)}` }));
  const manifest = buildManifest(pkg, packageBytes, elf, btf.map((b) => b.entry));
  const output = outputPath(opts, `${packageName(pkg)}.tar.gz`);

  const staging = mkdtempSync(join(tmpdir(), 'ecli-pack-'));
  try {
    writeFileSync(join(staging, 'package.json'), packageBytes);
    writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    for (const { path, entry } of btf) {
      mkdirSync(dirname(join(staging, entry)), { recursive: true });
      copyFileSync(path, join(staging, entry));
    }
    // Written in the staging directory first, so a failure leaves no half-written output.
    const built = join(staging, 'out.tar.gz');
    const entries = ['package.json', 'manifest.json', ...btf.map((b) => b.entry)];
    await create({ gzip: true, file: built, cwd: staging, portable: true, mtime: FIXED_MTIME }, entries);
    mkdirSync(dirname(output), { recursive: true });
    copyFileSync(built, output);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return output;
}

function outputPath(opts: PackOptions, defaultName: string): string {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.output === undefined) return resolve(cwd, defaultName);
  const output = resolve(cwd, opts.output);
  return isDirectory(output) ? join(output, defaultName) : output;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
