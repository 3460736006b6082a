/**
 * vmlinux.h for `#include <vmlinux.h>`: generated once from the running kernel's BTF with bpftool
 * and cached per kernel BTF and bpftool binary (another bpftool writes another header: newer ones
 * add attributes and types), or taken from ECC_VMLINUX_H.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { KERNEL_BTF_PATH } from '../btf/kernel-btf-path.js';
import { EcliError } from '../errors.js';
import { cacheRoot, fileIdentity, shortHash, writeFileAtomic } from './cache.js';
import { runTool } from './process.js';
import { findBpftool } from './toolchain.js';

export interface VmlinuxHeader {
  /** The directory to pass as `-I`. */
  dir: string;
  path: string;
}

export interface VmlinuxOptions {
  env?: NodeJS.ProcessEnv;
  kernelBtfPath?: string;
  log?: ((line: string) => void) | undefined;
  /** Reports that the header is being generated (a cache miss). */
  progress?: (line: string) => void;
}

export async function ensureVmlinuxHeader(options: VmlinuxOptions = {}): Promise<VmlinuxHeader> {
  const env = options.env ?? process.env;
  const override = env.ECC_VMLINUX_H;
  if (override) {
    const file = path.resolve(override);
    if (!existsSync(file) || !statSync(file).isFile()) {
      throw new EcliError('INPUT_NOT_FOUND', `ECC_VMLINUX_H=${override} is not a file`, {
        hint: 'point ECC_VMLINUX_H at a vmlinux.h, or unset it to generate one from the running kernel',
      });
    }
    return { dir: path.dirname(file), path: file };
  }

  const btfPath = options.kernelBtfPath ?? KERNEL_BTF_PATH;
  let btf: Buffer;
  try {
    btf = readFileSync(btfPath);
  } catch (error) {
    throw new EcliError('KERNEL_UNSUPPORTED', `cannot read the kernel BTF ${btfPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: 'the kernel needs CONFIG_DEBUG_INFO_BTF=y; otherwise set ECC_VMLINUX_H=<path to a vmlinux.h>',
      cause: error,
    });
  }
  const bpftool = findBpftool();
  const dir = path.join(cacheRoot(env), 'vmlinux', shortHash(btf, fileIdentity(bpftool)));
  const file = path.join(dir, 'vmlinux.h');
  if (existsSync(file)) return { dir, path: file };

  options.progress?.(`Generating vmlinux.h from ${btfPath} (cached in ${dir})...`);
  const dump = await runTool(bpftool, ['btf', 'dump', 'file', btfPath, 'format', 'c'], { log: options.log });
  if (dump.code !== 0 || !dump.stdout.includes('#ifndef __VMLINUX_H__')) {
    throw new EcliError('TOOL_MISSING', `bpftool could not dump ${btfPath} as C (exit status ${dump.code})`, {
      hint: `check that bpftool works: bpftool btf dump file ${btfPath} format c`,
      detail: dump.stderr,
    });
  }
  writeFileAtomic(file, dump.stdout);
  return { dir, path: file };
}
