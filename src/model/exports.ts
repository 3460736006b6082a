/**
 * What a package prints, and why (docs/eunomia-spec.md §2.3/§2.4): in single-export mode the last map that
 * is sampled or is a ring buffer / perf event array wins; in multiple-export mode every map with
 * an `export_config` other than `no_export`. Each export carries the columns its formatter
 * prints, checked against the object's BTF.
 */
import type { Btf } from '../btf/btf.js';
import type { Columns } from '../btf/columns.js';
import { checkExportStruct, checkSampleColumns, descriptorColumns } from '../btf/export-check.js';
import { EcliError } from '../errors.js';
import type { EunomiaObjectMeta, MapMeta, MapSampleMeta, StackTraceFieldMap } from '../package/types.js';
import type { MapSpec } from './maps.js';

export interface EventExportSpec {
  readonly kind: 'events';
  readonly map: MapMeta;
  readonly transport: 'ringbuf' | 'perf_event_array';
  readonly columns: Columns;
  /** Set when the map's `intepreter` asks for stack traces (plain text prints them as blocks). */
  readonly stackTrace?: { readonly fieldMap?: StackTraceFieldMap; readonly withSymbols: boolean };
  /** Why this map is printed, for `inspect`. */
  readonly reason: string;
}

export interface SampleExportSpec {
  readonly kind: 'sample';
  readonly map: MapMeta;
  readonly sample: MapSampleMeta;
  readonly keyColumns: Columns;
  readonly valueColumns: Columns;
  /** Why some column names were dropped; they explain a formatter that then refuses the columns. */
  readonly columnWarnings: readonly string[];
  readonly reason: string;
}

export type ExportSpec = EventExportSpec | SampleExportSpec;

export interface ExportPlan {
  exports: ExportSpec[];
  warnings: string[];
}

interface Selected {
  map: MapSpec;
  reason: string;
}

const EXPORTABLE = 'ring buffers, perf event arrays and sampled maps';

export function planExports(meta: EunomiaObjectMeta, btf: Btf, maps: readonly MapSpec[]): ExportPlan {
  const multiple = meta.enable_multiple_export_types === true;
  const { selected, warnings } = multiple ? selectMultiple(maps) : selectSingle(maps);
  const exports = selected.map(({ map, reason }) => exportSpec(meta, btf, map, reason, multiple));
  for (const spec of exports) if (spec.kind === 'sample') warnings.push(...spec.columnWarnings);
  return { exports, warnings };
}

function selectMultiple(maps: readonly MapSpec[]): { selected: Selected[]; warnings: string[] } {
  const selected: Selected[] = [];
  for (const map of maps) {
    const config = map.meta.export_config ?? 'no_export';
    if (config === 'no_export') continue;
    if (config === 'default' && !map.meta.sample) {
      throw new EcliError('PACKAGE_INVALID', `map ${map.name}: export_config "default" only applies to sampled maps`, {
        hint: 'give the map a "sample" entry or use {"btf_type_id": N}',
      });
    }
    if (map.meta.sample || map.transport !== 'other') selected.push({ map, reason: `multiple-export mode: export_config ${JSON.stringify(config)}` });
  }
  return { selected, warnings: [] };
}

function selectSingle(maps: readonly MapSpec[]): { selected: Selected[]; warnings: string[] } {
  const warnings: string[] = [];
  const candidates = maps.filter((map) => map.meta.sample !== undefined || map.transport !== 'other');
  let chosen: MapSpec | undefined;
  for (const map of candidates) {
    if (chosen) warnings.push(`several maps can be exported (${chosen.name}, ${map.name}); using the last one, ${map.name}`);
    chosen = map;
  }
  if (chosen === undefined) return { selected: [], warnings };
  const reason = candidates.length === 1 ? `the only one of the ${EXPORTABLE}` : `the last of the ${candidates.length} ${EXPORTABLE}`;
  return { selected: [{ map: chosen, reason }], warnings };
}

function exportSpec(meta: EunomiaObjectMeta, btf: Btf, map: MapSpec, reason: string, multiple: boolean): ExportSpec {
  if (map.meta.sample) {
    if (map.perCpu) {
      throw new EcliError('PACKAGE_INVALID', `map ${map.name} is a per-CPU map, which cannot be sampled`, {
        hint: 'sample a plain HASH or ARRAY map and aggregate in the BPF program',
      });
    }
    const keyColumns = checkSampleColumns(btf, map.btfKeyTypeId);
    if (multiple) {
      const config = map.meta.export_config;
      const descriptor = config === 'default' || config === undefined || config === 'no_export' ? { btf_type_id: map.btfValueTypeId } : config;
      const valueColumns = descriptorColumns(btf, descriptor, map.name, map.valueSize);
      return Object.freeze({
        kind: 'sample',
        map: map.meta,
        sample: map.meta.sample,
        keyColumns: keyColumns.columns,
        valueColumns,
        columnWarnings: [],
        reason,
      });
    }
    const checked = checkSampleColumns(btf, map.btfValueTypeId, meta.export_types[0]);
    const columnWarnings = [...keyColumns.warnings, ...checked.warnings];
    return Object.freeze({
      kind: 'sample',
      map: map.meta,
      sample: map.meta.sample,
      keyColumns: keyColumns.columns,
      valueColumns: checked.columns,
      columnWarnings,
      reason,
    });
  }
  const transport = map.transport;
  if (transport === 'other') throw new EcliError('INTERNAL', `map ${map.name} was selected for export but is not a buffer`);
  const columns = eventColumns(btf, meta, map.meta, multiple);
  const interpreter = map.meta.intepreter;
  const stackTrace = typeof interpreter === 'object' ? interpreter.stack_trace : undefined;
  return Object.freeze({
    kind: 'events',
    map: map.meta,
    transport,
    columns,
    ...(stackTrace === undefined ? {} : { stackTrace: stackTraceSpec(stackTrace) }),
    reason,
  });
}

/** `with_symbols` defaults to true, as in the reference. */
function stackTraceSpec(meta: { field_map?: StackTraceFieldMap; with_symbols?: boolean }): { fieldMap?: StackTraceFieldMap; withSymbols: boolean } {
  return { ...(meta.field_map === undefined ? {} : { fieldMap: meta.field_map }), withSymbols: meta.with_symbols !== false };
}

function eventColumns(btf: Btf, meta: EunomiaObjectMeta, map: MapMeta, multiple: boolean): Columns {
  if (multiple) {
    const config = map.export_config;
    if (config === undefined || typeof config === 'string') {
      throw new EcliError('PACKAGE_INVALID', `map ${map.name}: export_config "${config ?? 'no_export'}" cannot describe ring buffer or perf events`, {
        hint: 'use {"btf_type_id": N} or {"custom_members": [...]}',
      });
    }
    return descriptorColumns(btf, config, map.name);
  }
  const exportType = meta.export_types[0];
  if (!exportType) {
    throw new EcliError('PACKAGE_INVALID', `map ${map.name} carries events but the package has no export type describing them`, {
      hint: 'compile with the header that declares the event struct: ./ecc prog.bpf.c prog.h',
    });
  }
  return checkExportStruct(btf, exportType);
}
