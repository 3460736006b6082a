/**
 * The hook through which something beside stdout (the Prometheus metrics) watches a run. The
 * observer is told about every export before anything is loaded, so it can refuse early; it
 * never changes what is printed, and reads maps only through what it is handed.
 */
import type { Btf } from '../btf/btf.js';
import type { Columns } from '../btf/columns.js';
import type { EventExportSpec } from '../model/exports.js';
import type { MapSampleMeta } from '../package/types.js';
import type { RunCounters } from './counters.js';
import type { RecordContext } from './stages.js';

export interface SampledMapSpec {
  btf: Btf;
  mapName: string;
  sample: MapSampleMeta;
  /** BTF type ids of the map's key and value, as the object reports them. */
  keyTypeId: number;
  valueTypeId: number;
  /** The columns the output formatter prints. */
  key: Columns;
  value: Columns;
}

export type MapEntries = ReadonlyArray<readonly [Uint8Array, Uint8Array]>;

export interface SampledMapWatch {
  /** What the run's sampling tick read, before clear_map (if set) cleared the map: the observer never reads a map itself. */
  intervalRead(entries: MapEntries): void;
}

export interface RunObserver {
  /** An exported ring buffer or perf event array, and its counters, which the run keeps current. */
  events(exported: EventExportSpec, counters: Readonly<RunCounters>): void;
  /**
   * A record of an export with an enrichment stage was delivered, with what the stage found
   * (its container): the place for labels per container. Only called for such exports.
   */
  enriched?(exported: EventExportSpec, context: RecordContext): void;
  sampled(spec: SampledMapSpec): SampledMapWatch;
  /** The run is over: the maps are about to be closed and must not be read any more. */
  detach(): void;
}
