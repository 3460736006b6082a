/**
 * System call numbers for the two calls libbpf 1.1 does not wrap for us: perf_event_open(2)
 * (libbpf has no wrapper at all) and bpf(2) for the TCX commands its 1.1 wrappers cannot
 * express. The numbers differ by architecture; the wrong table would reach other system calls,
 * so an architecture missing here is refused before any call is made.
 */
import { EcliError } from '../../errors.js';

export interface SyscallNumbers {
  bpf: number;
  perfEventOpen: number;
}

/**
 * Little-endian 64-bit Linux only: the record formatters read event bytes as little-endian, and
 * the option structs are laid out for 64-bit pointers (libbpf's sizes are checked at load).
 * arm64, riscv64 and loong64 use the kernel's generic table (asm-generic/unistd.h).
 */
const BY_ARCH: Readonly<Record<string, SyscallNumbers>> = {
  x64: { bpf: 321, perfEventOpen: 298 },
  arm64: { bpf: 280, perfEventOpen: 241 },
  riscv64: { bpf: 280, perfEventOpen: 241 },
  loong64: { bpf: 280, perfEventOpen: 241 },
};

const SUPPORTED_ARCHES: readonly string[] = Object.keys(BY_ARCH);

/** The numbers for `arch` (a `process.arch` value); KERNEL_UNSUPPORTED for one ecli does not know. */
export function syscallNumbers(arch: string): SyscallNumbers {
  const numbers = Object.hasOwn(BY_ARCH, arch) ? BY_ARCH[arch] : undefined;
  if (numbers === undefined) {
    throw new EcliError('KERNEL_UNSUPPORTED', `ecli cannot load BPF programs on ${arch}: it knows the system calls of ${SUPPORTED_ARCHES.join(', ')} only`, {
      hint: 'run ecli on a 64-bit little-endian Linux machine (x86-64, arm64, riscv64 or loongarch64)',
    });
  }
  return numbers;
}
