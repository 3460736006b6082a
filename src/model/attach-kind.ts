/**
 * What a program's ELF section name says about how it attaches, following libbpf's section
 * table (the part of it that matters for diagnosing failures). Pure.
 */

export type AttachKind =
  | 'tracepoint'
  | 'raw_tracepoint'
  | 'tp_btf'
  | 'fentry'
  | 'fexit'
  | 'fmod_ret'
  | 'lsm'
  | 'kprobe'
  | 'kretprobe'
  | 'uprobe'
  | 'uretprobe'
  | 'usdt'
  | 'xdp'
  | 'tc'
  | 'tcx'
  | 'perf_event'
  | 'iter'
  | 'other';

/** Section prefixes (before the first `/`, if any) → kind. */
const PREFIXES: Record<string, AttachKind> = {
  tp: 'tracepoint',
  tracepoint: 'tracepoint',
  raw_tp: 'raw_tracepoint',
  raw_tracepoint: 'raw_tracepoint',
  'raw_tp.w': 'raw_tracepoint',
  'raw_tracepoint.w': 'raw_tracepoint',
  tp_btf: 'tp_btf',
  fentry: 'fentry',
  'fentry.s': 'fentry',
  fexit: 'fexit',
  'fexit.s': 'fexit',
  fmod_ret: 'fmod_ret',
  'fmod_ret.s': 'fmod_ret',
  lsm: 'lsm',
  'lsm.s': 'lsm',
  lsm_cgroup: 'lsm',
  kprobe: 'kprobe',
  ksyscall: 'kprobe',
  'kprobe.multi': 'kprobe',
  kretprobe: 'kretprobe',
  kretsyscall: 'kretprobe',
  'kretprobe.multi': 'kretprobe',
  uprobe: 'uprobe',
  'uprobe.s': 'uprobe',
  'uprobe.multi': 'uprobe',
  'uprobe.multi.s': 'uprobe',
  uretprobe: 'uretprobe',
  'uretprobe.s': 'uretprobe',
  'uretprobe.multi': 'uretprobe',
  'uretprobe.multi.s': 'uretprobe',
  usdt: 'usdt',
  xdp: 'xdp',
  'xdp.frags': 'xdp',
  tc: 'tc',
  classifier: 'tc',
  tcx: 'tcx',
  perf_event: 'perf_event',
  iter: 'iter',
  'iter.s': 'iter',
};

export function attachKindOf(section: string): AttachKind {
  const slash = section.indexOf('/');
  const prefix = slash < 0 ? section : section.slice(0, slash);
  return Object.hasOwn(PREFIXES, prefix) ? PREFIXES[prefix]! : 'other';
}

/** Kinds that run through a BPF trampoline and so need the kernel's function tracing. */
export function usesTrampoline(kind: AttachKind): boolean {
  return kind === 'fentry' || kind === 'fexit' || kind === 'fmod_ret' || kind === 'lsm';
}

/** `tp/sched/sched_process_exec` → {category: 'sched', name: 'sched_process_exec'}. */
export function tracepointOf(section: string): { category: string; name: string } | undefined {
  const match = /^(?:tp|tracepoint)\/([^/]+)\/([^/]+)$/.exec(section);
  return match ? { category: match[1]!, name: match[2]! } : undefined;
}

/**
 * `uretprobe//bin/bash:readline` → {binary: '/bin/bash', func: 'readline'}; `uprobe/x:f+0x10`
 * keeps the offset in `func`. Undefined for sections without a target (manual attach).
 */
export function uprobeTargetOf(section: string): { binary: string; func: string } | undefined {
  const match = /^u(?:ret)?probe(?:\.s)?\/(.+):([^:]+)$/.exec(section);
  return match ? { binary: match[1]!, func: match[2]! } : undefined;
}

/** `usdt//usr/bin/x:provider:probe` → {binary: '/usr/bin/x', provider, name}; undefined without a target. */
export function usdtTargetOf(section: string): { binary: string; provider: string; name: string } | undefined {
  const match = /^usdt\/(.+):([^:]+):([^:]+)$/.exec(section);
  return match ? { binary: match[1]!, provider: match[2]!, name: match[3]! } : undefined;
}

/** What follows the section's first `/`: `sched/sched_process_exec` for `tp/sched/sched_process_exec`; empty for `xdp`. */
export function attachTargetOf(section: string): string {
  const slash = section.indexOf('/');
  return slash < 0 ? '' : section.slice(slash + 1);
}
