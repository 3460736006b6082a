/**
 * The BPF instruction set ecc compiles for (`-mcpu`): the newest that both clang and the running
 * kernel support. Pure: the caller passes clang's major version and the kernel release.
 */

export type BpfCpu = 'v4' | 'v3' | 'v2';

interface CpuLevel {
  cpu: BpfCpu;
  /** The first clang whose BPF backend emits it. */
  clang: number;
  /** The first kernel whose verifier accepts it, as [major, minor]. */
  kernel: readonly [number, number];
}

/** Newest first. v4: sign-extending loads and moves, signed division, byte swaps, long jumps. v3: 32-bit jumps. */
const LEVELS: readonly CpuLevel[] = [
  { cpu: 'v4', clang: 18, kernel: [6, 6] },
  { cpu: 'v3', clang: 9, kernel: [5, 1] },
  { cpu: 'v2', clang: 6, kernel: [4, 14] },
];

export interface CpuChoice {
  /** Undefined: leave clang's default (an unknown kernel release, or a user's own `-mcpu`). */
  cpu: BpfCpu | undefined;
  /** Why, for `ecc -v`. */
  reason: string;
}

/** `6.18.0-1-amd64` → [6, 18]; undefined when the release does not start with two numbers. */
export function kernelVersionOf(release: string): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)/.exec(release);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

function atLeast(version: readonly [number, number], wanted: readonly [number, number]): boolean {
  return version[0] > wanted[0] || (version[0] === wanted[0] && version[1] >= wanted[1]);
}

/** The `-mcpu=` a user gave with `-a`, if any. */
export function userCpuFlag(cflags: readonly string[]): string | undefined {
  return [...cflags].reverse().find((flag) => flag.startsWith('-mcpu='));
}

export function chooseBpfCpu(clangMajor: number, kernelRelease: string, cflags: readonly string[] = []): CpuChoice {
  const own = userCpuFlag(cflags);
  if (own !== undefined) return { cpu: undefined, reason: `${own} given with -a` };
  const kernel = kernelVersionOf(kernelRelease);
  if (kernel === undefined) return { cpu: undefined, reason: `clang's default: the kernel release ${kernelRelease} has no version to compare` };
  const level = LEVELS.find((l) => clangMajor >= l.clang && atLeast(kernel, l.kernel));
  if (level === undefined) return { cpu: undefined, reason: `clang's default: clang ${clangMajor} and kernel ${kernelRelease} share no newer instruction set` };
  const newer = LEVELS.slice(0, LEVELS.indexOf(level));
  const limits = newer.map((l) => (clangMajor < l.clang ? `${l.cpu} needs clang ≥ ${l.clang}` : `${l.cpu} needs kernel ≥ ${l.kernel.join('.')}`));
  return {
    cpu: level.cpu,
    reason: `clang ${clangMajor} and kernel ${kernelRelease} both support ${level.cpu}${limits.length ? ` (${limits.join(', ')})` : ''}`,
  };
}
