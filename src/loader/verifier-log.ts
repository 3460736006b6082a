/**
 * The verdict of a kernel verifier log, in one line, with the C line it concerns. The log is a
 * trace (instructions, register states, `; <code> @ <file>:<line>` annotations) that ends with
 * the verifier's reason and its statistics; some reasons are followed by state dumps (an
 * infinite loop prints the current and the old state), so the reason is looked for, not taken
 * from the last line.
 */

export interface VerifierSummary {
  /** Why it refused: the verifier's own reason line. */
  line: string;
  /** The C line concerned (the instruction the reason names, else the last one checked), with its location when the log has it. */
  source: { code: string; location: string | undefined } | undefined;
  /** Non-empty lines in the whole log. */
  lines: number;
}

/** Lines the verifier writes when it refuses a program (kernel/bpf/verifier.c). */
const REASONS: readonly RegExp[] = [
  /^infinite loop detected/,
  /^back-edge from insn/,
  /^unreachable insn/,
  /^jump out of range/,
  /^BPF program is too large/,
  /^The sequence of \d+ jumps is too complex/,
  /^too many /,
  /invalid .*access/,
  /^invalid (indirect )?(read|write)/,
  /^invalid (stack|size|func|argument|return|bpf_context|zero-sized|variable-offset)/,
  /unbounded memory access/,
  /outside of the allowed memory range/,
  /min value is negative/,
  /^Unreleased reference/,
  /reference leak/,
  /!read_ok/,
  /type=\S+ expected=/,
  /^(unknown func|program of this type cannot use helper)/,
  /(math between|pointer arithmetic).* (not allowed|prohibited)/,
  /^combined stack size/,
  /misaligned/,
  /^At program exit the register R\d/,
  /^last insn is not an exit or jmp/,
  /^Possibly NULL pointer passed/,
  /^R\d+ is invalid/,
  /is not allowed/,
];

/** The steps of the trace: instructions and the registers before them, annotations, branches taken. */
const STEPS: readonly RegExp[] = [/^\d+: /, /^; /, /^from \d+ to \d+:/, /^\.\.\.$/];
/** State dumps, which may follow the reason. */
const STATES: readonly RegExp[] = [
  /^(cur|old) state:/,
  /^(mark_precise|last_idx|parent didn't have regs|parent already had regs|regs=|frame\d+:|caller:|callee:)/,
];
const TRACE = [...STEPS, ...STATES];

/** Lines that say nothing about the refusal: BTF notes printed before the trace starts. */
const NOISE: readonly RegExp[] = [/^arg#\d+ reference type\(.*\) size cannot be determined/, /^Func#\d+ .* is global and assumed valid/, /^Validating /];

const STATISTICS = /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|Func#\d+ \(|-- END PROG LOAD LOG)/;

const matchesAny = (patterns: readonly RegExp[], line: string) => patterns.some((p) => p.test(line));

/** The verifier's reason for refusing, and the source line it concerns; the statistics at the end are skipped. */
export function summarizeVerifierLog(log: string): VerifierSummary {
  const lines = log
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  let end = lines.length;
  while (end > 1 && STATISTICS.test(lines[end - 1]!)) end--;
  const reasonAt = reasonIndex(lines, end);
  const line = lines[reasonAt] ?? '';
  return { line, source: sourceOf(lines, reasonAt, line), lines: lines.length };
}

/** Where the reason is: a known reason after the trace, else the last one anywhere, else the first line after the trace. */
function reasonIndex(lines: readonly string[], end: number): number {
  let traceEnd = end;
  while (traceEnd > 0 && !matchesAny(STEPS, lines[traceEnd - 1]!)) traceEnd--;
  const after = (from: number, wanted: (line: string) => boolean): number | undefined => {
    for (let i = from; i < end; i++) if (wanted(lines[i]!)) return i;
    return undefined;
  };
  const known = (line: string) => matchesAny(REASONS, line) && !matchesAny(TRACE, line);
  const knownAfterTrace = after(traceEnd, known);
  if (knownAfterTrace !== undefined) return knownAfterTrace;
  for (let i = end - 1; i >= 0; i--) if (known(lines[i]!)) return i;
  return after(traceEnd, (line) => !matchesAny(NOISE, line) && !matchesAny(TRACE, line)) ?? end - 1;
}

/**
 * The C line of the instruction the reason names (`infinite loop detected at insn 14`, a leaked
 * reference's `alloc_insn=4`), else the last annotation before the reason.
 */
function sourceOf(lines: readonly string[], reasonAt: number, reason: string): VerifierSummary['source'] {
  const insn = /(?:\binsn |alloc_insn=)(\d+)/.exec(reason)?.[1];
  const insnAt = insn === undefined ? -1 : lines.findIndex((l) => l.startsWith(`${insn}: (`));
  const before = insnAt >= 0 ? insnAt : reasonAt;
  for (let i = before - 1; i >= 0; i--) {
    const annotation = /^; (.*?)(?: @ (\S+:\d+))?$/.exec(lines[i]!);
    if (annotation && annotation[1]!.trim() !== '') return { code: annotation[1]!.trim(), location: annotation[2] };
  }
  return undefined;
}
