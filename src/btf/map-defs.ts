/**
 * BTF-defined maps: the `.maps` DATASEC of a BPF object lists one VAR per map, whose struct
 * encodes `__uint(name, N)` as a member of type `int (*)[N]` and `__type(name, T)` as `T *`.
 */
import type { Btf } from './btf.js';
import { BtfKind } from './types.js';

export interface MapDefinition {
  name: string;
  /** bpf_map_type number. */
  type?: number;
  /** e.g. `ringbuf`, `hash`; `type <N>` for numbers this table does not know. */
  kind: string;
  maxEntries?: number;
  /** Key and value C types when given with __type(), else sizes from key_size/value_size. */
  key?: string;
  value?: string;
  keySize?: number;
  valueSize?: number;
}

/** enum bpf_map_type, by value (include/uapi/linux/bpf.h). */
const MAP_TYPE_NAMES = [
  'unspec', 'hash', 'array', 'prog_array', 'perf_event_array', 'percpu_hash', 'percpu_array',
  'stack_trace', 'cgroup_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie', 'array_of_maps',
  'hash_of_maps', 'devmap', 'sockmap', 'cpumap', 'xskmap', 'sockhash', 'cgroup_storage',
  'reuseport_sockarray', 'percpu_cgroup_storage', 'queue', 'stack', 'sk_storage', 'devmap_hash',
  'struct_ops', 'ringbuf', 'inode_storage', 'task_storage', 'bloom_filter', 'user_ringbuf',
  'cgrp_storage', 'arena',
];

export function mapTypeName(type: number | undefined): string {
  if (type === undefined) return 'unknown';
  return MAP_TYPE_NAMES[type] ?? `type ${type}`;
}

/** The maps declared in `.maps`, by name; empty when the object has no such section. */
export function mapDefinitions(btf: Btf): Map<string, MapDefinition> {
  const result = new Map<string, MapDefinition>();
  const datasec = btf.findByName('.maps', BtfKind.Datasec);
  if (datasec?.kind !== BtfKind.Datasec) return result;
  for (const entry of datasec.vars) {
    const variable = btf.type(entry.type);
    if (variable.kind !== BtfKind.Var) continue;
    const def = btf.resolve(variable.type);
    if (def.kind !== BtfKind.Struct) continue;
    const map: MapDefinition = { name: variable.name, kind: 'unknown' };
    for (const member of def.members) {
      switch (member.name) {
        case 'type':
          map.type = uintOf(btf, member.type);
          map.kind = mapTypeName(map.type);
          break;
        case 'max_entries':
          map.maxEntries = uintOf(btf, member.type);
          break;
        case 'key':
        case 'value': {
          const pointee = pointeeOf(btf, member.type);
          if (pointee !== undefined) map[member.name] = btf.typeName(pointee);
          break;
        }
        case 'key_size':
          map.keySize = uintOf(btf, member.type);
          break;
        case 'value_size':
          map.valueSize = uintOf(btf, member.type);
          break;
      }
    }
    result.set(map.name, map);
  }
  return result;
}

/** `int (*)[N]` → N. */
function uintOf(btf: Btf, typeId: number): number | undefined {
  const pointee = pointeeOf(btf, typeId);
  if (pointee === undefined) return undefined;
  const array = btf.resolve(pointee);
  return array.kind === BtfKind.Array ? array.nelems : undefined;
}

function pointeeOf(btf: Btf, typeId: number): number | undefined {
  const ptr = btf.resolve(typeId);
  return ptr.kind === BtfKind.Ptr ? ptr.type : undefined;
}
