/**
 * Compile-time checks of a compiled object's programs that libbpf or the kernel would otherwise
 * only refuse when ecli loads it: a section no libbpf release knows, a function left without any
 * section (so it is no program and nothing calls it), and a tracepoint the running kernel lacks.
 * Each can be turned off with an `-a -Wno-<check>` flag, for a user who targets another kernel or
 * libbpf; ecc takes those flags out before clang sees them.
 */
import { closestName } from '../suggest.js';
import { STT_FUNC, type ElfFile } from '../elf/elf.js';
import { attachKindOf, attachTargetOf, tracepointOf } from '../model/attach-kind.js';
import { findSectionDef, sectionSuggestions } from '../model/section-defs.js';
import { programSections } from './skeleton.js';

export type ProgramCheck = 'unknown-section' | 'missing-section' | 'unknown-tracepoint';

const CHECKS: readonly ProgramCheck[] = ['unknown-section', 'missing-section', 'unknown-tracepoint'];

/** Splits `-Wno-<check>` opt-outs (ecc's, not clang's) from the flags meant for clang. */
export function splitCheckOptOuts(cflags: readonly string[]): { clangFlags: string[]; disabled: Set<ProgramCheck> } {
  const disabled = new Set<ProgramCheck>();
  const clangFlags = cflags.filter((flag) => {
    const check = CHECKS.find((c) => flag === `-Wno-${c}`);
    if (check !== undefined) disabled.add(check);
    return check === undefined;
  });
  return { clangFlags, disabled };
}

/** The kernel's tracepoints, as far as ecc can see them. */
export interface KernelTracepoints {
  /** `category/name` pairs from tracefs' events/; undefined when tracefs cannot be read. */
  events(): readonly string[] | undefined;
  /** Names with a `btf_trace_<name>` type in the kernel BTF (raw and BTF tracepoints); undefined when unknown. */
  btfNames(): readonly string[] | undefined;
}

export interface ProgramProblem {
  check: ProgramCheck;
  message: string;
}

const SHT_REL = 9;
const SHF_EXECINSTR = 0x4n;
/** Weak functions are library code (usdt.bpf.h's `__weak __hidden` helpers), local ones static: only plain globals can be forgotten programs. */
const STB_GLOBAL = 1;

/** Symbol indices that some relocation of code refers to (calls and address-of of global functions); BTF's own relocations do not count. */
function referencedSymbols(elf: ElfFile): Set<number> {
  const code = new Set(elf.sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0n).map((s) => s.name));
  const referenced = new Set<number>();
  for (const section of elf.sections) {
    if (section.type !== SHT_REL || !code.has(section.name.slice('.rel'.length))) continue;
    const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
    for (let at = 0; at + 16 <= section.data.length; at += 16) referenced.add(Number(view.getBigUint64(at + 8, true) >> 32n));
  }
  return referenced;
}

function sectionProblem(name: string, section: string): ProgramProblem | undefined {
  if (findSectionDef(section) !== undefined) return undefined;
  const suggestion = closestName(section, sectionSuggestions(section));
  return {
    check: 'unknown-section',
    message: `program ${name} is in SEC("${section}"), a section libbpf does not know${suggestion === undefined ? '' : ` (did you mean SEC("${suggestion}")?)`}`,
  };
}

function tracepointProblem(name: string, section: string, tracepoints: KernelTracepoints): ProgramProblem | undefined {
  const kind = attachKindOf(section);
  if (kind === 'tracepoint') {
    const tracepoint = tracepointOf(section);
    const events = tracepoints.events();
    if (tracepoint === undefined || events === undefined) return undefined;
    const wanted = `${tracepoint.category}/${tracepoint.name}`;
    if (events.includes(wanted)) return undefined;
    const prefix = section.slice(0, section.indexOf('/') + 1);
    const suggestion = closestName(wanted, events);
    return {
      check: 'unknown-tracepoint',
      message: `program ${name} attaches to the tracepoint ${wanted}, which this kernel does not have${suggestion === undefined ? '' : ` (did you mean SEC("${prefix}${suggestion}")?)`}`,
    };
  }
  if (kind === 'raw_tracepoint' || kind === 'tp_btf') {
    const wanted = attachTargetOf(section);
    if (wanted === '') return undefined;
    const events = tracepoints.events();
    if (events?.some((event) => event.endsWith(`/${wanted}`))) return undefined;
    const btfNames = tracepoints.btfNames();
    if (btfNames === undefined || btfNames.includes(wanted)) return undefined;
    const prefix = section.slice(0, section.indexOf('/') + 1);
    const suggestion = closestName(wanted, btfNames);
    return {
      check: 'unknown-tracepoint',
      message: `program ${name} attaches to the raw tracepoint ${wanted}, which this kernel does not have${suggestion === undefined ? '' : ` (did you mean SEC("${prefix}${suggestion}")?)`}`,
    };
  }
  return undefined;
}

/** Every problem of the object's programs that the `disabled` checks leave in. */
export function checkPrograms(elf: ElfFile, tracepoints: KernelTracepoints, disabled: ReadonlySet<ProgramCheck> = new Set()): ProgramProblem[] {
  const problems: ProgramProblem[] = [];
  const sections = programSections(elf);
  const text = elf.sections.find((s) => s.name === '.text');
  const referenced = referencedSymbols(elf);
  elf.symbols.forEach((symbol, index) => {
    if (symbol.type !== STT_FUNC) return;
    const section = sections.get(symbol.sectionIndex);
    if (section !== undefined) {
      const problem = sectionProblem(symbol.name, section) ?? tracepointProblem(symbol.name, section, tracepoints);
      if (problem !== undefined) problems.push(problem);
    } else if (symbol.sectionIndex === text?.index && symbol.bind === STB_GLOBAL && !referenced.has(index)) {
      problems.push({
        check: 'missing-section',
        message: `function ${symbol.name} has no SEC(...): it is not a program, and nothing calls it`,
      });
    }
  });
  return problems.filter((problem) => !disabled.has(problem.check));
}

/** How to fix, or knowingly keep, the first problem found. */
export function programProblemHint(problem: ProgramProblem): string {
  switch (problem.check) {
    case 'unknown-section':
      return 'fix the SEC(...) name (libbpf decides the program type and attach point from it); -a -Wno-unknown-section keeps it, for a libbpf of your own that knows it';
    case 'missing-section':
      return 'put SEC("<type>/<target>") before it to make it a program (e.g. SEC("tp/syscalls/sys_enter_openat")), make it static, or call it; -a -Wno-missing-section keeps it';
    case 'unknown-tracepoint':
      return 'check the name against /sys/kernel/tracing/events; -a -Wno-unknown-tracepoint keeps it, for a kernel other than this one';
  }
}
