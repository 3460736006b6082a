/**
 * The maps an object declares, read from its BTF: the `.maps` DATASEC lists one VAR per map,
 * whose struct encodes `__uint(name, N)` as a member of type `int (*)[N]` and `__type(name, T)`
 * as `T *`.
 */
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/types.js';
import { mapTypeName } from './map-types.js';

export interface MapDefinition {
  name: string;
  /** bpf_map_type number. */
  type?: number | undefined;
  /** e.g. `ringbuf`, `hash`; `type <N>` for numbers this table does not know. */
  kind: string;
  maxEntries?: number | undefined;
  /** Key and value C types when given with __type(), else sizes from key_size/value_size. */
  key?: string;
  value?: string;
  keySize?: number | undefined;
  valueSize?: number | undefined;
  /** The `__type()` pointees: what libbpf reports as the map's BTF key and value type ids. */
  keyTypeId?: number;
  valueTypeId?: number;
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
          if (pointee === undefined) break;
          map[member.name] = btf.typeName(pointee);
          map[member.name === 'key' ? 'keyTypeId' : 'valueTypeId'] = pointee;
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
