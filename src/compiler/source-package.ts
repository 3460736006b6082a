/**
 * `ecli run prog.bpf.c`: the package ecc writes for a C source (with `prog.h` beside it, or the
 * header named), compiled by ecc's own pipeline once and then taken from a cache, so a second run
 * starts as fast as a package. The cache key is everything that goes into the package without
 * running anything: the source, the header and every other `.h` beside the source (local
 * includes), the compilers and bpftool that ecc may pick (their path, size and mtime), the BPF
 * headers, the kernel (vmlinux.h comes from its BTF) and the ecli that compiles.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { arch, release, version } from 'node:os';
import path from 'node:path';
import { EcliError } from '../errors.js';
import { statOrUndefined } from '../files/stat.js';
import { cacheRoot, ensureDir, fileIdentity } from './cache.js';
import type { EccLogger } from './ecc.js';
import { objectBaseName } from './naming.js';
import { findExecutable } from './process.js';
import { clangCandidateNames } from './toolchain.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

export interface SourcePackageOptions {
  source: string;
  /** The header declaring the exported structs; default: `<name>.h` beside the source, when there is one. */
  header?: string | undefined;
  /** The file of the running ecli (its bundle): a rebuilt or upgraded ecli compiles again. */
  ecliFile: string;
  env?: NodeJS.ProcessEnv;
  logger?: EccLogger;
  /** Told when the source is compiled (a cache miss). */
  onCompile?: (source: string, header: string | undefined) => void;
}

export interface SourcePackage {
  packagePath: string;
  header: string | undefined;
  /** Whether it came from the cache. */
  cached: boolean;
}

/** Headers beside the source hashed into the key, at most; a folder with more is refused. */
const MAX_LOCAL_HEADERS = 256;
const KERNEL_BTF = '/sys/kernel/btf/vmlinux';
const BPF_HEADER_DIRS = ['/usr/include/bpf', '/usr/local/include/bpf'];

/** The header ecc would be given for `source`: `header` when named, else `<name>.h` beside it if present. */
function headerFor(source: string, header: string | undefined): string | undefined {
  if (header !== undefined) return header;
  const beside = path.join(path.dirname(source), `${objectBaseName(source)}.h`);
  return existsSync(beside) ? beside : undefined;
}

export async function packageForSource(options: SourcePackageOptions): Promise<SourcePackage> {
  const env = options.env ?? process.env;
  const { source } = options;
  if (!existsSync(source) || !statSync(source).isFile()) {
    throw new EcliError('INPUT_NOT_FOUND', `cannot read ${source}: no such file`, { hint: 'check the path of the C source' });
  }
  const header = headerFor(source, options.header);
  if (header !== undefined && statOrUndefined(header)?.isFile() !== true) {
    const what = statOrUndefined(header) === undefined ? 'no such file' : 'not a regular file';
    throw new EcliError('INPUT_NOT_FOUND', `cannot read the header ${header}: ${what}`, {
      hint: 'check the path given to --header (the header declaring the structs the program exports)',
    });
  }
  const key = cacheKey(source, header, `${TOOL_NAME} ${TOOL_VERSION} ${fileIdentity(options.ecliFile)}`, env);
  const packagesDir = path.join(cacheRoot(env), 'packages');
  const entry = path.join(packagesDir, key);
  const packagePath = path.join(entry, 'package.json');
  if (existsSync(packagePath)) return { packagePath, header, cached: true };

  options.onCompile?.(source, header);
  ensureDir(packagesDir);
  // Compiled into a folder of our own, then renamed into place: a reader never sees half an entry.
  const building = mkdtempSync(path.join(packagesDir, '.building-'));
  try {
    const { runEccPipeline } = await import('./ecc.js');
    await runEccPipeline({
      source,
      ...(header === undefined ? {} : { header }),
      outputDir: building,
      env,
      ...(options.logger ? { logger: options.logger } : {}),
    });
    try {
      renameSync(building, entry);
    } catch (error) {
      // Another ecli compiled the same source meanwhile: its entry is as good as ours.
      if (!existsSync(packagePath)) throw error;
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return { packagePath, header, cached: false };
}

function cacheKey(source: string, header: string | undefined, compilerIdentity: string, env: NodeJS.ProcessEnv): string {
  const hash = createHash('sha256');
  const add = (label: string, value: string | Uint8Array) => hash.update(label).update('\0').update(value).update('\0');
  add('compiler', compilerIdentity);
  add('source', readFileSync(source));
  if (header !== undefined) add(`header ${path.basename(header)}`, readFileSync(header));
  for (const file of localHeaders(source)) add(`local ${path.basename(file)}`, readFileSync(file));
  const tools = [...new Set([env.ECC_CLANG, ...clangCandidateNames(), 'llvm-strip', 'bpftool'].filter((n): n is string => n !== undefined))];
  for (const name of tools) {
    const found = findExecutable([name]);
    add(`tool ${name}`, found === undefined ? 'missing' : fileIdentity(found));
  }
  for (const dir of BPF_HEADER_DIRS) add(`bpf headers ${dir}`, identities(dir));
  add('kernel', `${arch()} ${release()} ${version()} ${existsSync(KERNEL_BTF) ? statSync(KERNEL_BTF).size : 'no BTF'}`);
  if (env.ECC_VMLINUX_H) add('vmlinux.h', existsSync(env.ECC_VMLINUX_H) ? readFileSync(env.ECC_VMLINUX_H) : 'missing');
  return hash.digest('hex').slice(0, 32);
}

/** The `.h` files beside the source: what `#include "x.h"` reads. */
function localHeaders(source: string): string[] {
  const dir = path.dirname(source);
  const names = readdirSync(dir)
    .filter((name) => name.endsWith('.h'))
    .sort();
  if (names.length > MAX_LOCAL_HEADERS) {
    throw new EcliError('USAGE', `${dir} holds ${names.length} headers, too many to tell when ${path.basename(source)} needs compiling again`, {
      hint: 'compile it with ecc and run the package.json it writes',
    });
  }
  // A dangling link or a folder named x.h is nothing clang could include: left out, not a crash.
  return names.map((name) => path.join(dir, name)).filter((file) => statOrUndefined(file)?.isFile() === true);
}

/** Path, size and mtime of each file in `dir`, or that there is no such folder. */
function identities(dir: string): string {
  if (!existsSync(dir)) return 'none';
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const { size, mtimeMs } = statSync(path.join(dir, name));
      return `${name}:${size}:${mtimeMs}`;
    })
    .join('\n');
}
