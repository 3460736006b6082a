/** enum bpf_map_type: the one table of map type numbers → libbpf's names, and what each kind means to the runner. */

/** By value (include/uapi/linux/bpf.h); the names are libbpf's (libbpf_bpf_map_type_str) and bpftool's. */
const MAP_TYPE_NAMES = [
  'unspec',
  'hash',
  'array',
  'prog_array',
  'perf_event_array',
  'percpu_hash',
  'percpu_array',
  'stack_trace',
  'cgroup_array',
  'lru_hash',
  'lru_percpu_hash',
  'lpm_trie',
  'array_of_maps',
  'hash_of_maps',
  'devmap',
  'sockmap',
  'cpumap',
  'xskmap',
  'sockhash',
  'cgroup_storage',
  'reuseport_sockarray',
  'percpu_cgroup_storage',
  'queue',
  'stack',
  'sk_storage',
  'devmap_hash',
  'struct_ops',
  'ringbuf',
  'inode_storage',
  'task_storage',
  'bloom_filter',
  'user_ringbuf',
  'cgrp_storage',
  'arena',
];

export const MAP_TYPE = {
  array: 2,
  perfEventArray: 4,
  percpuArray: 6,
  stackTrace: 7,
  ringbuf: 27,
} as const;

/** Map types whose values are per CPU: a lookup returns round_up(valueSize, 8) bytes per possible CPU. */
const PER_CPU_MAP_TYPES = new Set([5 /* percpu_hash */, MAP_TYPE.percpuArray, 10 /* lru_percpu_hash */, 21 /* percpu_cgroup_storage */]);

/** How the runner reads a map that it exports: a buffer of events, or by sampling (`other`). */
export type MapTransport = 'ringbuf' | 'perf_event_array' | 'other';

/** `hash`, `ringbuf`...; `type <N>` for numbers this table does not know; `unknown` without a number. */
export function mapTypeName(type: number | undefined): string {
  if (type === undefined) return 'unknown';
  return MAP_TYPE_NAMES[type] ?? `type ${type}`;
}

export function isPerCpuMapType(type: number | undefined): boolean {
  return type !== undefined && PER_CPU_MAP_TYPES.has(type);
}

/** Arrays keep their slots: clearing zeroes them instead of deleting keys. */
export function isArrayMapType(type: number | undefined): boolean {
  return type === MAP_TYPE.array || type === MAP_TYPE.percpuArray;
}

export function transportOfMapType(type: number | undefined): MapTransport {
  if (type === MAP_TYPE.ringbuf) return 'ringbuf';
  if (type === MAP_TYPE.perfEventArray) return 'perf_event_array';
  return 'other';
}
