/** clang + llvm-strip: one BPF source to one BTF-carrying object. */
import { EcliError } from '../errors.js';
import { runTool } from './process.js';
import type { Toolchain } from './toolchain.js';

export interface CompileFlagsInput {
  toolchain: Toolchain;
  arch: string;
  vmlinuxDir: string;
  additionalCflags: readonly string[];
  sourceDir: string;
}

/**
 * The reference's flag order, split where the per-source part starts:
 * `-g -O2 -target bpf -Wno-unknown-attributes -D__TARGET_ARCH_<arch> <sys includes> -I<vmlinux> <cflags>` + `-I<source dir>`,
 * plus `-Werror=implicit-function-declaration`: a misspelt helper would otherwise compile into an
 * extern call that the kernel refuses at run time (`-a -Wno-error=...` turns it back into a warning).
 */
export function compileFlags(input: CompileFlagsInput): { base: string[]; source: string[] } {
  return {
    base: [
      '-g',
      '-O2',
      '-target',
      'bpf',
      '-Wno-unknown-attributes',
      '-Werror=implicit-function-declaration',
      `-D__TARGET_ARCH_${input.arch}`,
      ...input.toolchain.sysIncludeFlags,
      `-I${input.vmlinuxDir}`,
      ...input.additionalCflags,
    ],
    source: [`-I${input.sourceDir}`],
  };
}

/** The first `error:` line of a diagnostic output, for one-line messages. */
export function firstErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /\berror:/.test(l)) ?? lines[0] ?? 'no diagnostic output';
}

/** Compiles and strips DWARF (BTF stays). Returns clang's warnings, if any. */
export async function compileObject(
  toolchain: Toolchain,
  flags: readonly string[],
  input: string,
  output: string,
  log?: (line: string) => void,
): Promise<string> {
  const clang = await runTool(toolchain.clang, [...flags, '-c', input, '-o', output], { log });
  if (clang.code !== 0) {
    throw new EcliError('COMPILE_FAILED', `clang failed: ${firstErrorLine(clang.stderr)}`, {
      hint: "fix the errors above in the BPF source (see clang's output)",
      detail: clang.stderr,
    });
  }
  const strip = await runTool(toolchain.llvmStrip, ['-g', output], { log });
  if (strip.code !== 0) {
    throw new EcliError('COMPILE_FAILED', `llvm-strip failed on ${output}: ${firstErrorLine(strip.stderr)}`, {
      hint: 'check that llvm-strip matches the clang version (-l <llvm-strip>)',
      detail: strip.stderr,
    });
  }
  return clang.stderr;
}
