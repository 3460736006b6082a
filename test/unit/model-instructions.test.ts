import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usesNarrowArithmetic } from '../../src/model/instructions.js';

/** One 8-byte instruction with this opcode (registers, offset and immediate zero). */
const insn = (opcode: number) => [opcode, 0, 0, 0, 0, 0, 0, 0];

test('32-bit ALU or JMP32 instructions make a program narrow; 64-bit ones and ld_imm64 do not', () => {
  const wide = [insn(0xb7), insn(0x18), insn(0x00), insn(0x0f), insn(0x15), insn(0x85), insn(0x95)].flat(); // mov64, ld_imm64 (2 slots), add64, jeq, call, exit
  assert.equal(usesNarrowArithmetic(Uint8Array.from(wide)), false);
  assert.equal(usesNarrowArithmetic(Uint8Array.from([...wide, ...insn(0xb4)])), true, 'mov32 (BPF_ALU)');
  assert.equal(usesNarrowArithmetic(Uint8Array.from([...wide, ...insn(0x16)])), true, 'jeq32 (BPF_JMP32)');
  assert.equal(usesNarrowArithmetic(new Uint8Array(0)), false);
});
