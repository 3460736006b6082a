/**
 * Turns the selected export maps into consumers: a formatter per map plus what drives it
 * (a perf/ring buffer reader, or a sampling timer). Formatting problems in the package are
 * found here, before polling starts.
 */
import type { Btf } from '../btf/btf.js';
import { checkExportStruct, checkSampleColumns, descriptorColumns } from '../btf/export-check.js';
import type { Columns } from '../btf/columns.js';
import { EcliError } from '../errors.js';
import { createEventFormatter, type OutputFormat } from '../format/event.js';
import { createSampleFormatter } from '../format/sample.js';
import { createStackTraceFormatter, type StackSymbolizer } from '../format/stack.js';
import type { TextBuffer } from '../format/text-buffer.js';
import type { EunomiaObjectMeta, MapMeta, MapSampleMeta } from '../package/types.js';
import type { ExportSelection } from './select-exports.js';

/** What the runner needs to know about a loaded map. */
export interface LoadedMapInfo {
  name: string;
  valueSize: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  perCpu: boolean;
}

export interface EventConsumerSpec {
  kind: 'events';
  map: MapMeta;
  transport: 'ringbuf' | 'perf_event_array';
  header: string | undefined;
  /**
   * Writes the output of the record (the `length` bytes at `offset` in `data`) into `out`, each
   * line with its newline; records that print nothing (empty stack traces) write nothing.
   * Throws EcliError('RUNTIME') for a record too short for its columns, before writing.
   */
  write(data: Buffer, offset: number, length: number, out: TextBuffer): void;
}

export interface SampleConsumerSpec {
  kind: 'sample';
  map: MapMeta;
  sample: MapSampleMeta;
  header: string | undefined;
  format(key: Uint8Array, value: Uint8Array): string;
}

export type ConsumerSpec = EventConsumerSpec | SampleConsumerSpec;

export interface ConsumerBuild {
  consumers: ConsumerSpec[];
  warnings: string[];
}

export function buildConsumers(
  btf: Btf,
  meta: EunomiaObjectMeta,
  exports: ExportSelection[],
  mapInfo: (name: string) => LoadedMapInfo,
  format: OutputFormat,
  /** Names stack-trace frames, unless the interpreter says `with_symbols: false`; without it, addresses only. */
  symbolizer?: StackSymbolizer,
): ConsumerBuild {
  const warnings: string[] = [];
  const multiple = meta.enable_multiple_export_types === true;
  const consumers = exports.map(({ map, transport }): ConsumerSpec => {
    const info = mapInfo(map.name);
    if (map.sample) {
      if (info.perCpu) {
        throw new EcliError('PACKAGE_INVALID', `map ${map.name} is a per-CPU map, which cannot be sampled`, {
          hint: 'sample a plain HASH or ARRAY map and aggregate in the BPF program',
        });
      }
      const sample = map.sample;
      const keyColumns = checkSampleColumns(btf, info.btfKeyTypeId);
      let valueColumns: Columns;
      let columnWarnings: string[] = [];
      if (multiple) {
        const config = map.export_config;
        const descriptor = config === 'default' || config === undefined || config === 'no_export' ? { btf_type_id: info.btfValueTypeId } : config;
        valueColumns = descriptorColumns(btf, descriptor, map.name, info.valueSize);
      } else {
        const checked = checkSampleColumns(btf, info.btfValueTypeId, meta.export_types[0]);
        columnWarnings = [...keyColumns.warnings, ...checked.warnings];
        warnings.push(...columnWarnings);
        valueColumns = checked.columns;
      }
      const formatter = explainedByWarnings(columnWarnings, () =>
        createSampleFormatter(btf, keyColumns.columns, valueColumns, { format, sample, mapName: map.name }),
      );
      return { kind: 'sample', map, sample, header: formatter.header, format: (k, v) => formatter.format(k, v) };
    }
    if (transport === 'other') throw new EcliError('INTERNAL', `map ${map.name} was selected for export but is not a buffer`);
    const columns = eventColumns(btf, meta, map, multiple);
    const stackTrace = typeof map.intepreter === 'object' ? map.intepreter.stack_trace : undefined;
    if (stackTrace && format === 'plain') {
      const formatter = createStackTraceFormatter(btf, columns, stackTrace.field_map, stackTrace.with_symbols === false ? undefined : symbolizer);
      const write = (data: Buffer, offset: number, length: number, out: TextBuffer): void => {
        const text = formatter.format(data.subarray(offset, offset + length));
        if (text === undefined) return;
        out.string(text);
        out.byte(0x0a);
      };
      return { kind: 'events', map, transport, header: undefined, write };
    }
    const formatter = createEventFormatter(btf, columns, { format });
    return { kind: 'events', map, transport, header: formatter.header, write: (data, offset, length, out) => formatter.formatInto(data, offset, length, out) };
  });
  return { consumers, warnings };
}

/**
 * A formatter that refuses the columns (no `slots` for a histogram) usually does so because
 * the package's names were dropped: say so in the error, since the warnings are only printed
 * once building succeeds.
 */
function explainedByWarnings<T>(warnings: string[], build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof EcliError) || warnings.length === 0) throw error;
    throw new EcliError(error.code, `${error.message}, because ${warnings.join('; ')}`, {
      hint: "declare only the map's value struct in the header given to ecc: export_types[0] names the value columns",
      cause: error,
    });
  }
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
