/** The programs of a package: attach kind and target from the section, and the validated attach settings of its prog meta. */
import type { ProgMeta, TcxAnchor } from '../package/types.js';
import { EcliError } from '../errors.js';
import { closestName } from '../suggest.js';
import { attachKindOf, attachTargetOf, type AttachKind } from './attach-kind.js';
import { findSectionDef, OLDEST_LIBBPF, releaseAtLeast, sectionSuggestions, type LibbpfRelease } from './section-defs.js';
import { resolvePerfEvent, type PerfEventSpec } from './perf-event.js';
import { tcHookPlan, type TcHookPlan } from './tc-hook.js';

/** What the special attachers (xdp, tc, tcx, perf_event) read; see the package format, progs[]. */
export interface AttachMeta {
  ifindex?: number;
  flags?: number;
  xdpopts?: { old_prog_fd?: number };
  tchook?: { ifindex?: number; attach_point?: string };
  tcopts?: { handle?: number; priority?: number };
  /** TCX programs: the interface and the place in the hook's chain. */
  tcx?: { interface?: string; ifindex?: number; before?: TcxAnchor; after?: TcxAnchor };
  /** `tc` and `tcx/...` programs: TCX link or netlink filter, where, and in which order. */
  tcHook?: TcHookPlan;
  /** The sampling event of a `perf_event` program, validated. */
  perfEvent?: PerfEventSpec;
  /** `sockops` programs: the cgroup directory to attach to (wasm-bpf guests name it as their target). */
  cgroup?: string;
}

export interface ProgramSpec {
  /** libbpf's program name (the C function). */
  readonly name: string;
  /** The full SEC() string. */
  readonly section: string;
  readonly kind: AttachKind;
  /** What follows the section's first `/` (empty for `xdp`, `tc`, `perf_event`). */
  readonly target: string;
  readonly attach: Readonly<AttachMeta>;
  /** The oldest libbpf that can load and attach it (with what ecli adds: TCX on libbpf 1.1); undefined when no libbpf release knows its section. */
  readonly needsLibbpf: LibbpfRelease | undefined;
}

/** ecli makes TCX links itself where libbpf cannot (attach-tcx.ts), so these sections work on every libbpf it supports. */
const EMULATED_SECTIONS = new Set(['tcx/ingress', 'tcx/egress']);

function libbpfNeedOf(section: string): LibbpfRelease | undefined {
  if (EMULATED_SECTIONS.has(section)) return OLDEST_LIBBPF;
  return findSectionDef(section)?.since;
}

/**
 * The first program the libbpf of `release` cannot handle, as the error that says why: its
 * section is one no libbpf knows (a package ecc did not check), or one a later libbpf added.
 */
export function libbpfRefusal(programs: readonly ProgramSpec[], release: LibbpfRelease & { library: string }): EcliError | undefined {
  for (const program of programs) {
    const needs = program.needsLibbpf;
    if (needs === undefined) {
      const suggestion = closestName(program.section, sectionSuggestions(program.section));
      return new EcliError(
        'PACKAGE_INVALID',
        `program ${program.name} is in SEC("${program.section}"), a section no libbpf release knows${suggestion === undefined ? '' : ` (did you mean SEC("${suggestion}")?)`}`,
        { hint: 'fix the SEC(...) name and recompile with ecc, which checks it' },
      );
    }
    if (!releaseAtLeast(release, needs)) {
      return new EcliError(
        'TOOL_MISSING',
        `program ${program.name}: SEC("${program.section}") needs libbpf ${needs.major}.${needs.minor} or newer, and ecli loaded libbpf ${release.major}.${release.minor} (${release.library})`,
        { hint: 'install a newer libbpf1, or name another libbpf.so.1 with ECLI_LIBBPF=<path>' },
      );
    }
  }
  return undefined;
}

export function programSpecs(progs: readonly ProgMeta[]): ProgramSpec[] {
  return progs.map((prog) => {
    const kind = attachKindOf(prog.attach);
    const attach: AttachMeta = {};
    if (prog.ifindex !== undefined) attach.ifindex = prog.ifindex;
    if (prog.flags !== undefined) attach.flags = prog.flags;
    if (prog.xdpopts !== undefined) attach.xdpopts = prog.xdpopts;
    if (prog.tchook !== undefined) attach.tchook = prog.tchook;
    if (prog.tcopts !== undefined) attach.tcopts = prog.tcopts;
    if (prog.tcx !== undefined) attach.tcx = prog.tcx;
    // Checked here, not when attaching: a bad event is a package error, found before loading.
    if (kind === 'perf_event') attach.perfEvent = resolvePerfEvent(prog.perf_event, prog.name);
    if (prog.attach === 'tc' || kind === 'tcx') attach.tcHook = tcHookPlan(prog, kind === 'tcx' ? 'tcx' : 'tc');
    return Object.freeze({
      name: prog.name,
      section: prog.attach,
      kind,
      target: attachTargetOf(prog.attach),
      attach: Object.freeze(attach),
      needsLibbpf: libbpfNeedOf(prog.attach),
    });
  });
}
