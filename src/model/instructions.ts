/** Facts about a program's BPF instructions (8-byte `struct bpf_insn`, little-endian). Pure. */

const CLASS_MASK = 0x07;
/** 32-bit arithmetic and 32-bit conditional jumps: what clang emits for -mcpu=v3 and later. */
const BPF_ALU = 0x04;
const BPF_JMP32 = 0x06;

/** True when the program computes or compares in 32-bit subregisters (ALU or JMP32 instructions). */
export function usesNarrowArithmetic(insns: Uint8Array): boolean {
  for (let at = 0; at + 8 <= insns.length; at += 8) {
    const opcodeClass = insns[at]! & CLASS_MASK;
    if (opcodeClass === BPF_ALU || opcodeClass === BPF_JMP32) return true;
  }
  return false;
}
