/** Locating clang, llvm-strip and bpftool, and the facts about them a BPF compile needs. */
import { readlinkSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { EcliError } from '../errors.js';
import { makeDirs } from '../files/make-dirs.js';
import { type BpfHeaders, findBpfHeaders, formatVersion, newestBpfHeaders } from './bpf-headers.js';
import { cacheRoot, fileIdentity, shortHash, temporarySibling } from './cache.js';
import { findExecutable, runTool } from './process.js';

/** Debian/Ubuntu install versioned binaries (clang-19, llvm-strip-19) next to or instead of the plain names. Newest first. */
const LLVM_VERSIONS = [22, 21, 20, 19, 18, 17, 16, 15, 14, 13];
const INSTALL_HINT = 'apt-get install clang-19 llvm-19 (or run make setup)';

export interface ClangVersion {
  major: number;
  /** `19.1.7` */
  text: string;
}

export interface Toolchain {
  clang: string;
  clangVersion: ClangVersion;
  llvmStrip: string;
  /** `-idirafter <dir>` for each of clang's default system include directories. */
  sysIncludeFlags: string[];
  /** The newest libbpf BPF headers among clang's include directories; undefined when there are none. */
  bpfHeaders: BpfHeaders | undefined;
  /** Flags that make `<bpf/...>` resolve to bpfHeaders when an older copy comes first in the search order. */
  bpfHeaderFlags: string[];
  /** clang's own description of itself and its binary's identity; part of cache keys for clang-built artefacts. */
  clangIdentity: string;
}

/** The names ecc looks for clang by on PATH: `clang-N`, newest first, then the plain one. */
export function clangCandidateNames(): string[] {
  return [...LLVM_VERSIONS.map((v) => `clang-${v}`), 'clang'];
}

export function findBpftool(): string {
  const found = findExecutable(['bpftool']);
  if (found) return found;
  throw new EcliError('TOOL_MISSING', 'bpftool not found', { hint: 'apt-get install bpftool (or run make setup)' });
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

/** `Debian clang version 19.1.7 (3~deb12u1)` → {major: 19, text: '19.1.7'}. */
export function parseClangVersion(verboseOutput: string): ClangVersion | undefined {
  const match = /\bclang version (\d+)\.(\d+)(?:\.(\d+))?/.exec(verboseOutput);
  if (!match) return undefined;
  return { major: Number(match[1]), text: [match[1], match[2], match[3]].filter((p) => p !== undefined).join('.') };
}

/** The LLVM release a binary belongs to, when its real path says so (`/usr/lib/llvm-14/bin/clang`). */
export function llvmVersionFromPath(realPath: string): number | undefined {
  const match = /\/llvm-(\d+)\//.exec(realPath);
  return match ? Number(match[1]) : undefined;
}

interface ClangProbe {
  path: string;
  version: ClangVersion;
  output: string;
}

async function probeClang(clang: string, log?: (line: string) => void): Promise<ClangProbe> {
  const probe = await runTool(clang, ['-v', '-E', '-'], { log });
  const version = parseClangVersion(probe.stderr);
  if (probe.code !== 0 || version === undefined) {
    throw new EcliError('TOOL_MISSING', `${clang} does not work: \`clang -v -E -\` exited with status ${probe.code}`, {
      hint: INSTALL_HINT,
      detail: probe.stderr,
    });
  }
  return { path: clang, version, output: probe.stderr };
}

/**
 * The newest clang on PATH: the highest `clang-N`, unless the plain `clang` is newer. The plain
 * one's release is read from its real path where distributions put it (`/usr/lib/llvm-N/`), else
 * by running it.
 */
async function newestClang(log?: (line: string) => void): Promise<{ probe: ClangProbe; passedOver: string[] }> {
  const versioned = LLVM_VERSIONS.map((v) => findExecutable([`clang-${v}`])).filter((p): p is string => p !== undefined);
  const plain = findExecutable(['clang']);
  const candidates = [...versioned, ...(plain === undefined ? [] : [plain])];
  if (candidates.length === 0) throw new EcliError('TOOL_MISSING', 'clang not found', { hint: INSTALL_HINT });
  const best = await probeClang(candidates[0]!, log);
  const passedOver: string[] = [];
  if (plain !== undefined && plain !== best.path && realpathSync(plain) !== realpathSync(best.path)) {
    const plainVersion = llvmVersionFromPath(realpathSync(plain));
    if (plainVersion === undefined || plainVersion > best.version.major) {
      const other = await probeClang(plain, log);
      if (other.version.major > best.version.major) return { probe: other, passedOver: [`${best.path} (${best.version.text})`] };
      passedOver.push(`${plain} (${other.version.text})`);
    } else passedOver.push(`${plain} (${plainVersion})`);
  }
  passedOver.push(...versioned.slice(1));
  return { probe: best, passedOver };
}

/** llvm-strip of clang's own release: beside its real binary, else `llvm-strip-N`, else the plain one. */
function matchingLlvmStrip(clang: ClangProbe): string | undefined {
  const sibling = path.join(path.dirname(realpathSync(clang.path)), 'llvm-strip');
  return findExecutable([sibling, `llvm-strip-${clang.version.major}`, 'llvm-strip']);
}

export interface ToolchainOptions {
  clang?: string | undefined;
  llvmStrip?: string | undefined;
  /** For the cache (XDG_CACHE_HOME). */
  env?: NodeJS.ProcessEnv | undefined;
  /** The user's extra clang flags, split into words: their `-I` directories are searched first. */
  cflags?: readonly string[] | undefined;
}

/** The directories of `-I<dir>`, `-I <dir>`, `-isystem <dir>` among clang flags, in order. */
export function includeDirsOf(cflags: readonly string[]): string[] {
  const dirs: string[] = [];
  cflags.forEach((flag, i) => {
    const attached = /^-(?:I|isystem)(.+)$/.exec(flag);
    if (attached) dirs.push(attached[1]!);
    else if ((flag === '-I' || flag === '-isystem') && cflags[i + 1] !== undefined) dirs.push(cflags[i + 1]!);
  });
  return dirs;
}

/**
 * `-I` of a cached directory whose only entry is a `bpf` symlink to the chosen headers: it puts
 * them first without moving the whole include directory (and its other headers) ahead.
 */
function preferHeaders(headers: BpfHeaders, env: NodeJS.ProcessEnv | undefined): string[] {
  const target = path.join(headers.includeDir, 'bpf');
  const dir = path.join(cacheRoot(env), 'bpf-headers', shortHash(target));
  const link = path.join(dir, 'bpf');
  try {
    if (readlinkSync(link) === target) return [`-I${dir}`];
  } catch {
    // not made yet
  }
  makeDirs(dir);
  const temporary = temporarySibling(link);
  try {
    symlinkSync(target, temporary);
    renameSync(temporary, link);
  } finally {
    rmSync(temporary, { force: true });
  }
  return [`-I${dir}`];
}

export async function resolveToolchain(options: ToolchainOptions, log?: (line: string) => void): Promise<Toolchain> {
  let probe: ClangProbe;
  if (options.clang !== undefined) {
    const explicit = findExecutable([options.clang]);
    if (explicit === undefined) throw new EcliError('TOOL_MISSING', `clang (${options.clang}) not found`, { hint: INSTALL_HINT });
    probe = await probeClang(explicit, log);
    log?.(`clang ${probe.version.text}: ${probe.path}, as asked`);
  } else {
    const newest = await newestClang(log);
    probe = newest.probe;
    log?.(`clang ${probe.version.text}: ${probe.path}, the newest found${newest.passedOver.length ? ` (not ${newest.passedOver.join(', ')})` : ''}`);
  }
  const llvmStrip = options.llvmStrip === undefined ? matchingLlvmStrip(probe) : findExecutable([options.llvmStrip]);
  if (llvmStrip === undefined) {
    throw new EcliError('TOOL_MISSING', `llvm-strip${options.llvmStrip === undefined ? '' : ` (${options.llvmStrip})`} not found`, { hint: INSTALL_HINT });
  }
  const dirs = parseSysIncludeDirs(probe.output);
  const found = findBpfHeaders(dirs);
  // A directory the user names with -I comes before every system one: their headers win.
  const [userHeaders] = findBpfHeaders(includeDirsOf(options.cflags ?? []));
  const bpfHeaders = userHeaders ?? newestBpfHeaders(found);
  const bpfHeaderFlags = userHeaders !== undefined || bpfHeaders === undefined || bpfHeaders === found[0] ? [] : preferHeaders(bpfHeaders, options.env);
  if (bpfHeaders !== undefined) {
    const others = found.filter((h) => h !== bpfHeaders).map((h) => `${formatVersion(h.version)} in ${h.includeDir}`);
    const why = userHeaders === undefined ? 'the newest found' : 'named with -a -I';
    log?.(`BPF headers: ${formatVersion(bpfHeaders.version)} in ${bpfHeaders.includeDir}/bpf, ${why}${others.length ? ` (not ${others.join(', ')})` : ''}`);
  }
  const identity = probe.output
    .split('\n')
    .filter((l) => /version|^Target:/.test(l))
    .join('\n');
  return {
    clang: probe.path,
    clangVersion: probe.version,
    llvmStrip,
    sysIncludeFlags: dirs.flatMap((d) => ['-idirafter', d]),
    bpfHeaders,
    bpfHeaderFlags,
    clangIdentity: `${fileIdentity(probe.path)}\n${identity}`,
  };
}
