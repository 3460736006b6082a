/** What a program's SEC() string says about how it attaches: `tp/sched/x` → tracepoint `sched/x`. */

export interface AttachSpec {
  /** libbpf's program kind, e.g. `tracepoint`, `raw_tracepoint`, `kprobe`, `xdp`, `tc`. */
  kind: string;
  /** What follows the first `/`, e.g. `sched/sched_process_exec`; empty when nothing does. */
  target: string;
}

/** Short spellings libbpf accepts for the same kind. */
const KIND_ALIASES: Record<string, string> = {
  tp: 'tracepoint',
  raw_tp: 'raw_tracepoint',
  'raw_tp.w': 'raw_tracepoint.w',
  classifier: 'tc',
};

export function parseAttachSection(section: string): AttachSpec {
  const slash = section.indexOf('/');
  const prefix = slash < 0 ? section : section.slice(0, slash);
  return { kind: KIND_ALIASES[prefix] ?? prefix, target: slash < 0 ? '' : section.slice(slash + 1) };
}
