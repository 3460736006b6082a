/**
 * Which maps a package exports (reference §2.3/§2.4): in single-export mode the last map that
 * is sampled or is a ring buffer / perf event array wins; in multiple-export mode every map
 * with an `export_config` other than `no_export` is exported.
 */
import { EcliError } from '../errors.js';
import type { EunomiaObjectMeta, MapMeta } from '../package/types.js';

export type MapTransport = 'ringbuf' | 'perf_event_array' | 'other';

export interface ExportSelection {
  map: MapMeta;
  transport: MapTransport;
}

export interface SelectionResult {
  exports: ExportSelection[];
  warnings: string[];
}

export function selectExports(meta: EunomiaObjectMeta, transportOf: (mapName: string) => MapTransport | undefined): SelectionResult {
  const warnings: string[] = [];
  const maps = meta.bpf_skel.maps ?? [];
  const transport = (m: MapMeta): MapTransport => {
    const t = transportOf(m.name);
    if (t === undefined) {
      throw new EcliError('PACKAGE_INVALID', `map ${m.name} is listed in the package meta but not in its BPF object`, {
        hint: 'the meta and the object come from different builds; recompile with ./ecc',
      });
    }
    return t;
  };

  if (meta.enable_multiple_export_types) {
    const exports: ExportSelection[] = [];
    for (const map of maps) {
      const config = map.export_config ?? 'no_export';
      if (config === 'no_export') continue;
      const t = transport(map);
      if (config === 'default' && !map.sample) {
        throw new EcliError('PACKAGE_INVALID', `map ${map.name}: export_config "default" only applies to sampled maps`, {
          hint: 'give the map a "sample" entry or use {"btf_type_id": N}',
        });
      }
      if (map.sample || t !== 'other') exports.push({ map, transport: t });
    }
    return { exports, warnings };
  }

  let chosen: ExportSelection | undefined;
  for (const map of maps) {
    const t = transport(map);
    if (!map.sample && t === 'other') continue;
    if (chosen) warnings.push(`several maps can be exported (${chosen.map.name}, ${map.name}); using the last one, ${map.name}`);
    chosen = { map, transport: t };
  }
  return { exports: chosen ? [chosen] : [], warnings };
}
