/** Locating clang, llvm-strip and bpftool, and the facts about them a BPF compile needs. */
import { EcliError } from '../errors.js';
import { fileIdentity } from './cache.js';
import { findExecutable, runTool } from './process.js';

/** Debian/Ubuntu install versioned binaries (clang-14, llvm-strip-14) next to or instead of the plain names. */
const LLVM_VERSIONS = [20, 19, 18, 17, 16, 15, 14, 13];
const INSTALL_HINT = 'apt-get install clang llvm (or run make setup)';

export interface Toolchain {
  clang: string;
  llvmStrip: string;
  /** `-idirafter <dir>` for each of clang's default system include directories. */
  sysIncludeFlags: string[];
  /** clang's own description of itself and its binary's identity; part of cache keys for clang-built artefacts. */
  clangIdentity: string;
}

function candidates(base: string, explicit: string | undefined): string[] {
  return explicit ? [explicit] : [base, ...LLVM_VERSIONS.map((v) => `${base}-${v}`)];
}

function requireTool(base: string, explicit: string | undefined, hint: string): string {
  const found = findExecutable(candidates(base, explicit));
  if (found) return found;
  const what = explicit ? `${base} (${explicit})` : base;
  throw new EcliError('TOOL_MISSING', `${what} not found`, { hint });
}

export function findBpftool(): string {
  return requireTool('bpftool', undefined, 'apt-get install bpftool (or run make setup)');
}

/** `__TARGET_ARCH_<arch>` for the machine ecc runs on, as bpf_tracing.h spells architectures. */
export function targetArch(arch: string = process.arch): string {
  const names: Record<string, string> = {
    x64: 'x86',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'powerpc',
    mips: 'mips',
    mipsel: 'mips',
    riscv64: 'riscv',
    s390x: 's390',
    loong64: 'loongarch',
  };
  return names[arch] ?? arch;
}

/** Parses the `#include <...> search starts here:` list out of `clang -v -E -` output. */
export function parseSysIncludeDirs(verboseOutput: string): string[] {
  const lines = verboseOutput.split('\n');
  const start = lines.findIndex((l) => l.startsWith('#include <...> search starts here:'));
  if (start < 0) return [];
  const dirs: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('End of search list.')) break;
    const dir = line.trim().replace(/ \(framework directory\)$/, '');
    if (dir) dirs.push(dir);
  }
  return dirs;
}

export async function resolveToolchain(
  options: { clang?: string | undefined; llvmStrip?: string | undefined },
  log?: (line: string) => void,
): Promise<Toolchain> {
  const clang = requireTool('clang', options.clang, INSTALL_HINT);
  const llvmStrip = requireTool('llvm-strip', options.llvmStrip, INSTALL_HINT);
  const probe = await runTool(clang, ['-v', '-E', '-'], { log });
  if (probe.code !== 0) {
    throw new EcliError('TOOL_MISSING', `${clang} does not work: \`clang -v -E -\` exited with status ${probe.code}`, {
      hint: INSTALL_HINT,
      detail: probe.stderr,
    });
  }
  const dirs = parseSysIncludeDirs(probe.stderr);
  const identity = probe.stderr
    .split('\n')
    .filter((l) => /version|^Target:/.test(l))
    .join('\n');
  return { clang, llvmStrip, sysIncludeFlags: dirs.flatMap((d) => ['-idirafter', d]), clangIdentity: `${fileIdentity(clang)}\n${identity}` };
}
