/**
 * The BPF iterators of a package: `iter/<target>` programs (task, task_file, tcp, bpf_map...),
 * whose output is the text they write with bpf_seq_printf, read from a seq_file the kernel makes
 * for each pass (bpf_iter_create on their link). Pure.
 */
import type { ProgramSpec } from './programs.js';

export interface IteratorSpec {
  /** The program (the C function). */
  readonly program: string;
  readonly section: string;
  /** What it walks: `task` for `iter/task`. */
  readonly target: string;
}

export function iteratorSpecs(programs: readonly ProgramSpec[]): IteratorSpec[] {
  return programs.filter((p) => p.kind === 'iter').map((p) => Object.freeze({ program: p.name, section: p.section, target: p.target }));
}
