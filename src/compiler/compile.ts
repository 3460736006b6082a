/** clang + llvm-strip: one BPF source to one BTF-carrying object. */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { EcliError } from '../errors.js';
import type { BpfCpu } from './bpf-cpu.js';
import { formatVersion, newerThanHeaders } from './bpf-headers.js';
import { cacheRoot, ensureDir } from './cache.js';
import { runTool } from './process.js';
import type { Toolchain } from './toolchain.js';

export interface CompileFlagsInput {
  toolchain: Toolchain;
  arch: string;
  /** `-mcpu=`; undefined leaves clang's default (or the user's own, among additionalCflags). */
  cpu: BpfCpu | undefined;
  vmlinuxDir: string;
  additionalCflags: readonly string[];
  sourceDir: string;
}

/**
 * The reference's flag order, split where the per-source part starts:
 * `-g -O2 -target bpf -Wno-unknown-attributes -D__TARGET_ARCH_<arch> <sys includes> -I<vmlinux> <cflags>` + `-I<source dir>`,
 * plus `-Werror=implicit-function-declaration`: a misspelt helper would otherwise compile into an
 * extern call that the kernel refuses at run time (`-a -Wno-error=...` turns it back into a warning);
 * `-mcpu` (bpf-cpu.ts) and, when an older copy of libbpf's BPF headers comes first, an `-I` for the newest.
 */
export function compileFlags(input: CompileFlagsInput): { base: string[]; source: string[] } {
  return {
    base: [
      '-g',
      '-O2',
      '-target',
      'bpf',
      ...(input.cpu === undefined ? [] : [`-mcpu=${input.cpu}`]),
      '-Wno-unknown-attributes',
      '-Werror=implicit-function-declaration',
      `-D__TARGET_ARCH_${input.arch}`,
      ...input.toolchain.bpfHeaderFlags,
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

/** What a failed compile is judged by: the texts it read, and what ecc chose. */
export interface CompileContext {
  /** The source as the user named it. */
  source: string;
  /** The source and header texts, searched for what newer BPF headers added. */
  texts: readonly string[];
  cpu: BpfCpu | undefined;
  /** Why that `-mcpu` (bpf-cpu.ts), for the hint on signed division. */
  cpuReason: string;
  env?: NodeJS.ProcessEnv | undefined;
  /** The vmlinux.h the source compiles against: names defined by both are told apart from errors in the source. */
  vmlinuxHeader?: string | undefined;
}

/** The define that leaves out the kfunc prototypes bpftool ≥ 7.4 writes into vmlinux.h. */
export const NO_KFUNC_PROTOTYPES = '-DBPF_NO_KFUNC_PROTOTYPES';

export interface VmlinuxClashes {
  /** kfuncs the source declares otherwise than vmlinux.h's prototypes. */
  kfuncs: string[];
  /** Types (and other names) the source defines that vmlinux.h defines too: a newer kernel added them. */
  types: string[];
}

/**
 * What clang found declared both by the source (or its headers) and by vmlinux.h: each
 * `redefinition of`/`conflicting types for` error whose `previous ... is here` note points into
 * vmlinux.h, sorted by what that line of vmlinux.h declares.
 */
export function vmlinuxClashes(stderr: string, vmlinuxText: string): VmlinuxClashes {
  const clashes: VmlinuxClashes = { kfuncs: [], types: [] };
  const lines = stderr.split('\n');
  let vmlinuxLines: string[] | undefined;
  lines.forEach((line, i) => {
    const error = /\berror: (?:redefinition of|conflicting types for) '(\w+)'/.exec(line);
    if (!error) return;
    const next = lines.slice(i + 1).findIndex((l) => /\berror:/.test(l));
    const notes = lines.slice(i + 1, next < 0 ? undefined : i + 1 + next);
    const note = notes.map((l) => /vmlinux\.h:(\d+):\d+: note: previous (?:declaration|definition) is here/.exec(l)).find((m) => m !== null);
    if (!note) return;
    vmlinuxLines ??= vmlinuxText.split('\n');
    const declared = vmlinuxLines[Number(note[1]) - 1] ?? '';
    const list = /\b__ksym\b/.test(declared) ? clashes.kfuncs : clashes.types;
    if (!list.includes(error[1]!)) list.push(error[1]!);
  });
  return clashes;
}

/**
 * Undeclared enum-like names (SCX_DSQ_LOCAL) whose whole family (SCX_*) this vmlinux.h lacks:
 * kernel values of a feature this kernel was built without, not typos in the source.
 */
export function missingKernelFamilies(stderr: string, vmlinuxText: string, sourceTexts: readonly string[] = []): { prefix: string; names: string[] }[] {
  const undeclared = [...stderr.matchAll(/\berror: use of undeclared identifier '([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g)].map((m) => m[1]!);
  const families = new Map<string, string[]>();
  for (const name of undeclared) {
    const prefix = name.slice(0, name.indexOf('_') + 1);
    const names = families.get(prefix) ?? [];
    if (!names.includes(name)) names.push(name);
    families.set(prefix, names);
  }
  // A family the source #defines members of is the source's own: a misspelt one of its macros.
  const ownFamily = (prefix: string) => sourceTexts.some((text) => new RegExp(`#\\s*define\\s+${prefix}`).test(text));
  return [...families]
    .filter(([prefix]) => !ownFamily(prefix) && !new RegExp(`\\b${prefix}[A-Z0-9_]`).test(vmlinuxText))
    .map(([prefix, names]) => ({ prefix, names }));
}

function readVmlinux(file: string | undefined): string {
  if (file === undefined) return '';
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** clang crashed (a backend or frontend bug) rather than reporting errors in the source. */
export function isClangCrash(code: number, stderr: string): boolean {
  return code >= 128 || /PLEASE submit a bug report|^Stack dump:|clang frontend command failed/m.test(stderr);
}

/** The line of a crash report that says what went wrong, without LLVM's node addresses. */
export function crashSummary(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  const fatal = lines.find((l) => /fatal error: error in backend:|LLVM ERROR:|Assertion .* failed/.test(l)) ?? lines.find((l) => /\berror:/.test(l));
  if (fatal === undefined) return 'no diagnostic before the crash';
  return fatal
    .replace(/^.*?(?:fatal error: )?error in backend: /, '')
    .replace(/^LLVM ERROR: /, '')
    .replace(/0x[0-9a-f]+: /g, '')
    .replace(/, 0x[0-9a-f]+/g, '')
    .replace(/ 0x[0-9a-f]+/g, '')
    .replace(/, (\S+:\d+:\d+)$/, ' at $1');
}

/** Writes a crash's full output to a new file in the cache (never an existing one) and returns its path. */
function saveCrashLog(stderr: string, env: NodeJS.ProcessEnv | undefined): string | undefined {
  try {
    const dir = path.join(cacheRoot(env), 'logs');
    ensureDir(dir);
    const file = path.join(dir, `clang-crash-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, stderr);
    } finally {
      closeSync(fd);
    }
    return file;
  } catch {
    return undefined;
  }
}

/** Signals that stop a process on purpose (Ctrl-C, kill, timeout): clang ended by one did not crash. */
const STOP_SIGNALS: ReadonlySet<string> = new Set(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']);

function compileFailure(toolchain: Toolchain, source: string, stderr: string, code: number, context: CompileContext, signal?: NodeJS.Signals): EcliError {
  const clang = `clang ${toolchain.clangVersion.text}`;
  if (signal !== undefined && STOP_SIGNALS.has(signal)) {
    return new EcliError('COMPILE_FAILED', `${clang} was stopped by ${signal} while compiling ${source}`, {
      hint: 'compile again: clang did not fail, something stopped it (a Ctrl-C, kill or timeout)',
      detail: undefined,
    });
  }
  if (isClangCrash(code, stderr)) {
    const log = saveCrashLog(stderr, context.env);
    const signedDivision = /\b(?:sdiv|srem)\b/.test(stderr);
    return new EcliError(
      'COMPILE_FAILED',
      `${clang} crashed compiling ${source}: ${crashSummary(stderr)}; ${log ? `its full output is in ${log}` : 'its output could not be saved'}`,
      {
        hint: signedDivision
          ? `signed division and modulo need -mcpu=v4, which clang ≥ 18 emits; run make setup for clang-19, or divide unsigned values`
          : `a bug in clang, not an error in the source: try a newer clang (-c clang-19)`,
        detail: undefined,
      },
    );
  }
  const headers = toolchain.bpfHeaders;
  const needs = context.texts.flatMap((text) => newerThanHeaders(text, headers?.version));
  if (needs.length > 0) {
    const newest = needs[0]!.since;
    const names = [...new Set(needs.map((n) => n.name))].join(', ');
    return new EcliError(
      'COMPILE_FAILED',
      `${source} uses ${names}, which libbpf ${newest.major}.${newest.minor}'s BPF headers added, but the BPF headers in use are ${formatVersion(headers?.version)}${headers ? ` (${headers.includeDir}/bpf)` : ''}: ${firstErrorLine(stderr)}`,
      {
        hint: `the source is fine for newer headers: install libbpf-dev ≥ ${newest.major}.${newest.minor} (make setup installs 1.4 from Debian's bookworm-backports), or point -a -I<dir> at a directory holding a newer bpf/`,
        detail: stderr,
      },
    );
  }
  const clashes = vmlinuxClashes(stderr, readVmlinux(context.vmlinuxHeader));
  if (clashes.types.length > 0 || clashes.kfuncs.length > 0) {
    const names = [...clashes.types, ...clashes.kfuncs].join(', ');
    return new EcliError('COMPILE_FAILED', `clang failed: ${firstErrorLine(stderr)}`, {
      hint: `${names} ${clashes.types.length + clashes.kfuncs.length === 1 ? 'is' : 'are'} defined both by the source's headers and by this kernel's vmlinux.h (a kernel newer than the source added ${clashes.types.length + clashes.kfuncs.length === 1 ? 'it' : 'them'}): drop the source's own copy, or guard it with #ifndef`,
      detail: stderr,
    });
  }
  const missing = missingKernelFamilies(stderr, readVmlinux(context.vmlinuxHeader), context.texts);
  if (missing.length > 0) {
    const names = missing.flatMap((family) => family.names).join(', ');
    const prefixes = missing.map((family) => `${family.prefix}*`).join(', ');
    return new EcliError('COMPILE_FAILED', `clang failed: ${firstErrorLine(stderr)}`, {
      hint: `${names}: this kernel's BTF (vmlinux.h) has no ${prefixes} names at all, so it was built without the feature they belong to; compile on a kernel that has it, or with ECC_VMLINUX_H=<the vmlinux.h of such a kernel>`,
      detail: stderr,
    });
  }
  if (/unsupported signed division/.test(stderr)) {
    return new EcliError('COMPILE_FAILED', `${clang} failed: ${firstErrorLine(stderr)}`, {
      hint: `signed division needs -mcpu=v4 and ecc chose ${context.cpu ?? "clang's default"} (${context.cpuReason}); divide unsigned values, or compile for another kernel with -a -mcpu=v4`,
      detail: stderr,
    });
  }
  return new EcliError('COMPILE_FAILED', `clang failed: ${firstErrorLine(stderr)}`, {
    hint: "fix the errors above in the BPF source (see clang's output)",
    detail: stderr,
  });
}

/** Compiles and strips DWARF (BTF stays). Returns clang's warnings, if any. */
export async function compileObject(
  toolchain: Toolchain,
  flags: readonly string[],
  input: string,
  output: string,
  context: CompileContext,
  log?: (line: string) => void,
): Promise<string> {
  const clang = await runTool(toolchain.clang, [...flags, '-c', input, '-o', output], { log });
  if (clang.code !== 0) throw compileFailure(toolchain, context.source, clang.stderr, clang.code, context, clang.signal);
  const strip = await runTool(toolchain.llvmStrip, ['-g', output], { log });
  if (strip.code !== 0) {
    throw new EcliError('COMPILE_FAILED', `llvm-strip failed on ${output}: ${firstErrorLine(strip.stderr)}`, {
      hint: 'check that llvm-strip matches the clang version (-l <llvm-strip>)',
      detail: strip.stderr,
    });
  }
  return clang.stderr;
}
