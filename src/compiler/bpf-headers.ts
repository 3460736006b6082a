/**
 * libbpf's BPF-side headers (`<bpf/bpf_helpers.h>`, `bpf_tracing.h`, ...): which copies clang can
 * find, which libbpf release each comes from, and what a source uses that older ones lack.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compareReleases, type LibbpfRelease } from '../model/section-defs.js';

export interface BpfHeaders {
  /** The include directory holding `bpf/` (e.g. /usr/include). */
  includeDir: string;
  /** From `bpf/libbpf_version.h`; undefined for copies older than that file (libbpf < 0.6). */
  version: LibbpfRelease | undefined;
}

export function formatVersion(version: LibbpfRelease | undefined): string {
  return version === undefined ? 'an unknown libbpf (< 0.6)' : `libbpf ${version.major}.${version.minor}`;
}

/** compareReleases, with headers too old to say their release (undefined) older than any that do. */
export function compareVersions(a: LibbpfRelease | undefined, b: LibbpfRelease | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  return compareReleases(a, b);
}

/** `#define LIBBPF_MAJOR_VERSION 1` / `LIBBPF_MINOR_VERSION 4` of libbpf_version.h. */
export function parseLibbpfReleaseHeader(text: string): LibbpfRelease | undefined {
  const major = /#\s*define\s+LIBBPF_MAJOR_VERSION\s+(\d+)/.exec(text);
  const minor = /#\s*define\s+LIBBPF_MINOR_VERSION\s+(\d+)/.exec(text);
  return major && minor ? { major: Number(major[1]), minor: Number(minor[1]) } : undefined;
}

/** Every directory of `dirs` (in clang's search order) that holds `bpf/bpf_helpers.h`, with its version. */
export function findBpfHeaders(dirs: readonly string[], read: (file: string) => string | undefined = readText): BpfHeaders[] {
  const found: BpfHeaders[] = [];
  for (const includeDir of dirs) {
    if (read(path.join(includeDir, 'bpf/bpf_helpers.h')) === undefined) continue;
    const versionText = read(path.join(includeDir, 'bpf/libbpf_version.h'));
    found.push({ includeDir, version: versionText === undefined ? undefined : parseLibbpfReleaseHeader(versionText) });
  }
  return found;
}

/** The newest copy; of equal versions, the one clang finds first. */
export function newestBpfHeaders(found: readonly BpfHeaders[]): BpfHeaders | undefined {
  return found.reduce<BpfHeaders | undefined>(
    (best, headers) => (best === undefined || compareVersions(headers.version, best.version) > 0 ? headers : best),
    undefined,
  );
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Macros and declarations of libbpf's BPF headers that sources use, with the release that added
 * them (read from libbpf's tags: bpf_helpers.h, bpf_tracing.h, bpf_core_read.h).
 */
const ADDED_IN: Readonly<Record<string, LibbpfRelease>> = {
  BPF_UPROBE: { major: 1, minor: 2 },
  BPF_URETPROBE: { major: 1, minor: 2 },
  PT_REGS_PARM6: { major: 1, minor: 2 },
  PT_REGS_PARM7: { major: 1, minor: 2 },
  PT_REGS_PARM8: { major: 1, minor: 2 },
  PT_REGS_PARM6_CORE: { major: 1, minor: 2 },
  PT_REGS_PARM7_CORE: { major: 1, minor: 2 },
  PT_REGS_PARM8_CORE: { major: 1, minor: 2 },
  PT_REGS_PARM6_SYSCALL: { major: 1, minor: 2 },
  PT_REGS_PARM7_SYSCALL: { major: 1, minor: 2 },
  PT_REGS_PARM6_CORE_SYSCALL: { major: 1, minor: 2 },
  PT_REGS_PARM7_CORE_SYSCALL: { major: 1, minor: 2 },
  __kptr_untrusted: { major: 1, minor: 2 },
  bpf_for: { major: 1, minor: 2 },
  bpf_for_each: { major: 1, minor: 2 },
  bpf_repeat: { major: 1, minor: 2 },
  bpf_ksym_exists: { major: 1, minor: 2 },
  __percpu_kptr: { major: 1, minor: 3 },
  BPF_CORE_WRITE_BITFIELD: { major: 1, minor: 4 },
  __arg_ctx: { major: 1, minor: 4 },
  __arg_nonnull: { major: 1, minor: 4 },
  __arg_nullable: { major: 1, minor: 4 },
  __arg_trusted: { major: 1, minor: 4 },
  __arg_arena: { major: 1, minor: 4 },
  __ulong: { major: 1, minor: 4 },
  bpf_core_cast: { major: 1, minor: 4 },
  __uptr: { major: 1, minor: 5 },
  __arg_untrusted: { major: 1, minor: 6 },
  bpf_stream_printk: { major: 1, minor: 6 },
};

export interface NewerNeed {
  name: string;
  since: LibbpfRelease;
}

/** C text without comments and string literals, so that only code is searched for names. */
function codeOnly(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g, ' ');
}

/** What `source` uses that headers of `version` lack, the newest need first. */
export function newerThanHeaders(source: string, version: LibbpfRelease | undefined): NewerNeed[] {
  const used = new Set(codeOnly(source).match(/[A-Za-z_]\w*/g) ?? []);
  const needs = Object.entries(ADDED_IN)
    .filter(([name, since]) => used.has(name) && compareVersions(since, version) > 0)
    .map(([name, since]) => ({ name, since }));
  return needs.sort((a, b) => compareVersions(b.since, a.since));
}
