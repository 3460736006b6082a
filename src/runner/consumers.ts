/**
 * Turns the spec's exports into consumers: a formatter per exported map, for the chosen output
 * format, plus what drives it (a perf/ring buffer reader, or a sampling timer). Built before
 * anything is loaded, so a formatter that refuses its columns is a package error.
 */
import type { Btf } from '../btf/btf.js';
import { EcliError } from '../errors.js';
import { createEventFormatter, type OutputSettings } from '../format/event.js';
import { createSampleFormatter } from '../format/sample.js';
import { createSampleOrder, type MapEntry } from '../format/sample-order.js';
import { createStackTraceFormatter, type StackSymbolizer } from '../format/stack.js';
import type { TextBuffer } from '../format/text-buffer.js';
import type { ContainerInfo } from '../format/container.js';
import { noContainerReason } from '../containers/event-key.js';
import type { ExportSpec, SampleExportSpec } from '../model/exports.js';
import type { MapMeta, MapSampleMeta } from '../package/types.js';

export interface EventConsumerSpec {
  kind: 'events';
  map: MapMeta;
  transport: 'ringbuf' | 'perf_event_array';
  header: string | undefined;
  /**
   * Writes the output of the record (the `length` bytes at `offset` in `data`, from `container`
   * when the consumer was built for records that carry one) into `out`, each line with its
   * newline; records that print nothing (empty stack traces) write nothing. Throws
   * EcliError('RUNTIME') for a record too short for its columns, before writing.
   */
  write(data: Buffer, offset: number, length: number, out: TextBuffer, container?: ContainerInfo): void;
}

export interface SampleConsumerSpec {
  kind: 'sample';
  map: MapMeta;
  sample: MapSampleMeta;
  header: string | undefined;
  /** `--sort`, `--top`: the entries of one interval in the order to print them. */
  arrange?(entries: MapEntry[]): MapEntry[];
  /** The line before each interval's entries, or undefined. */
  intervalHeader(): string | undefined;
  /** `entries`: how many entries the map held in this interval. */
  format(key: Uint8Array, value: Uint8Array, entries?: number): string;
}

export type ConsumerSpec = EventConsumerSpec | SampleConsumerSpec;

/**
 * `symbolizer` names stack-trace frames, unless the interpreter says `with_symbols: false`;
 * without it, addresses only. With `output.containers`, the records of an export whose struct
 * tells their container (containers/event-key.ts) come with it: their formatter can show it.
 */
export function buildConsumers(btf: Btf, exports: readonly ExportSpec[], output: OutputSettings, symbolizer?: StackSymbolizer): ConsumerSpec[] {
  const { format } = output;
  return exports.map((spec): ConsumerSpec => {
    if ((output.sort !== undefined || output.top !== undefined) && spec.kind !== 'sample') {
      throw new EcliError('USAGE', `--sort and --top order the entries of sampled maps; the events of map ${spec.map.name} are printed as they arrive`, {
        hint: 'leave them out for this package (use --fields to choose event columns)',
      });
    }
    // Sampled maps take --fields for default_kv rows; their formatter refuses it for histograms.
    if (output.fields && spec.kind === 'events' && spec.stackTrace && format === 'plain') {
      throw new EcliError('USAGE', `--fields selects event columns, but map ${spec.map.name} is printed as stack traces`, {
        hint: 'leave out --fields for this package',
      });
    }
    if (spec.kind === 'sample') return sampleConsumer(btf, spec, output);
    const { map, transport, columns } = spec;
    if (spec.stackTrace && format === 'plain') {
      const formatter = createStackTraceFormatter(btf, columns, spec.stackTrace.fieldMap, spec.stackTrace.withSymbols ? symbolizer : undefined);
      const write = (data: Buffer, offset: number, length: number, out: TextBuffer): void => {
        const text = formatter.format(data.subarray(offset, offset + length));
        if (text === undefined) return;
        out.string(text);
        out.byte(0x0a);
      };
      return { kind: 'events', map, transport, header: undefined, write };
    }
    const formatter = createEventFormatter(btf, columns, {
      ...output,
      containers: output.containers === true && noContainerReason(btf, columns) === undefined,
    });
    return {
      kind: 'events',
      map,
      transport,
      header: formatter.header,
      write: (data, offset, length, out, container) => formatter.formatInto(data, offset, length, out, container),
    };
  });
}

function sampleConsumer(btf: Btf, spec: SampleExportSpec, output: OutputSettings): SampleConsumerSpec {
  const { map, sample } = spec;
  const { format, time, widen, fields } = output;
  const options = {
    format,
    sample,
    mapName: map.name,
    ...(time === undefined ? {} : { time }),
    ...(widen === undefined ? {} : { widen }),
    ...(fields === undefined ? {} : { fields }),
  };
  const formatter = explainedByWarnings(spec.columnWarnings, () => createSampleFormatter(btf, spec.keyColumns, spec.valueColumns, options));
  const arrange = createSampleOrder(btf, spec.keyColumns, spec.valueColumns, output, map.name);
  return {
    kind: 'sample',
    map,
    sample,
    header: formatter.header,
    ...(arrange ? { arrange } : {}),
    intervalHeader: () => formatter.intervalHeader(),
    format: (k, v, entries) => formatter.format(k, v, entries),
  };
}

/**
 * A formatter that refuses the columns (no `slots` for a histogram) usually does so because
 * the package's names were dropped: say so in the error, since the warnings are only printed
 * once building succeeds.
 */
function explainedByWarnings<T>(warnings: readonly string[], build: () => T): T {
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
