/**
 * The metric families of one sampled map. Key members become labels (a key that is a single
 * integer, not a struct, is the label `key`); value members that are strings or enums become
 * labels too; numeric value members become gauges (`ecli_<map>_<member>`, or `ecli_<map>` for a
 * value that is a single number); a `log2_hist` or `linear_hist` map's `slots` become a
 * histogram `ecli_<map>_<unit>`, in seconds or bytes when the unit is a time or byte unit.
 *
 * Reads and clear_map: the runner's sampling tick reads the map once per interval (for stdout)
 * and hands the entries here before clearing; a scrape reads it again without clearing.
 * - without clear_map the map is cumulative already: each read replaces the last one;
 * - with clear_map a histogram is the sum of every interval's read plus a scrape's read of what
 *   the current interval has so far (so it only ever grows, as Prometheus expects), and a gauge
 *   is the value of the last whole interval (a partial interval would make it saw-tooth).
 */
import type { Buffer } from 'node:buffer';
import { Gauge, type Registry } from 'prom-client';
import type { Btf } from '../btf/btf.js';
import type { Column } from '../btf/columns.js';
import { BtfKind, type BtfMember } from '../btf/types.js';
import { compileRecord, type CompiledRecord } from '../format/record.js';
import { linearBounds, slotBounds, slotsReader, type SlotsReader } from '../format/sample.js';
import { asBuffer, isCharArray, ValueCompiler, type Decoder } from '../format/value.js';
import type { MapEntries, SampledMapSpec } from '../runner/observer.js';
import { BucketHistogram } from './bucket-histogram.js';
import { baseUnit, labelName, metricName, snakeCase } from './names.js';

/** What prom-client's Registry is given, with the names it will write (for collision checks). */
export interface MetricFamily {
  /** What it comes from, for messages: `map hists`, `ecli`. */
  source: string;
  /** Every sample name the family writes: `x`, or `x_bucket`, `x_sum`, `x_count` and `x`. */
  names: string[];
  labelNames: string[];
  register(registry: Registry): void;
}

interface Entry {
  /** The label values, as one string: entries with equal labels are the same series. */
  id: string;
  labels: Record<string, string>;
  /** Histogram slot counts (histogram maps only). */
  counts: number[];
  gauges: number[];
}

interface LabelSource {
  name: string;
  record: 'key' | 'value';
  offset: number;
  text: Decoder;
}

interface GaugeSource {
  name: string;
  member: string;
  offset: number;
  number: (data: Buffer, offset: number) => number;
}

interface HistogramLayout {
  slots: SlotsReader;
  /** The `le` label of each slot, in base units. */
  upperBounds: string[];
  /** The middle of each slot, in the map's unit: the `_sum` estimate. */
  midpoints: number[];
  /** Map units per base unit. */
  divisor: number;
  name: string;
  help: string;
}

export class SampledMapMetrics {
  readonly families: MetricFamily[] = [];
  /** Members that are neither numbers nor strings, left out of the metrics. */
  readonly warnings: string[] = [];
  private readonly clearMap: boolean;
  private readonly key: CompiledRecord;
  private readonly value: CompiledRecord;
  private readonly labels: LabelSource[] = [];
  private readonly gauges: GaugeSource[] = [];
  private readonly histogram: HistogramLayout | undefined;
  /** The latest read: the map's contents (without clear_map), or this interval's so far (with it). */
  private current: Entry[] = [];
  /** clear_map only: the last whole interval, and the histogram sums of every interval. */
  private lastInterval: Entry[] = [];
  private readonly accumulated = new Map<string, Entry>();

  constructor(spec: SampledMapSpec) {
    const { btf, mapName, sample } = spec;
    const compiler = new ValueCompiler(btf);
    this.key = compileRecord(compiler, spec.key);
    this.value = compileRecord(compiler, spec.value);
    this.clearMap = sample.clear_map === true;
    const type = sample.type ?? 'default_kv';
    const base = snakeCase(mapName) || 'map';
    const histogram = type === 'log2_hist' || type === 'linear_hist' ? histogramLayout(spec, this.value, base) : undefined;
    this.histogram = histogram;

    const keyStruct = structMembers(btf, spec.keyTypeId);
    spec.key.members.forEach((column, i) => {
      const name = keyStruct ? labelName(memberName(keyStruct, column), 'key') : 'key';
      this.labels.push({ name, record: 'key', offset: column.offset, text: this.key.values[i]!.plain });
    });
    const valueStruct = structMembers(btf, spec.valueTypeId);
    spec.value.members.forEach((column, i) => {
      if (column === histogram?.slots.column) return;
      const member = valueStruct ? memberName(valueStruct, column) : column.name;
      const what = `member "${member}" of map ${mapName}`;
      const kind = memberKind(btf, column);
      if (kind === 'label') {
        const name = labelName(member, 'value');
        if (this.labels.some((l) => l.name === name)) {
          this.warnings.push(`metrics: ${what} is not a label: the key already has a label "${name}"`);
          return;
        }
        this.labels.push({ name, record: 'value', offset: column.offset, text: this.value.values[i]!.plain });
      } else if (kind === 'number') {
        const plain = this.value.values[i]!.plain;
        this.gauges.push({
          name: valueStruct ? metricName(base, snakeCase(member)) : metricName(base),
          member,
          offset: column.offset,
          number: (data, offset) => numberOf(plain(data, offset)),
        });
      } else {
        this.warnings.push(`metrics: ${what} (${btf.typeName(column.typeId)}) is neither a number nor a string, so it is not exported`);
      }
    });

    const labelNames = this.labels.map((l) => l.name);
    if (histogram) {
      const collector = new BucketHistogram(histogram.name, histogram.help, histogram.upperBounds, () => this.histogramSeries());
      this.families.push({
        source: `map ${mapName}`,
        names: [histogram.name, `${histogram.name}_bucket`, `${histogram.name}_sum`, `${histogram.name}_count`],
        labelNames: [...labelNames, 'le'],
        register: (registry) => collector.register(registry),
      });
    }
    this.gauges.forEach((source, index) => {
      const series = (): Entry[] => this.gaugeSeries();
      const help = `Member ${source.member} of map ${mapName} (${type}${this.clearMap ? ', value of the last interval: the map is cleared each interval' : ''})`;
      this.families.push({
        source: `map ${mapName}`,
        names: [source.name],
        labelNames,
        register: (registry) =>
          new Gauge({
            name: source.name,
            help,
            labelNames,
            registers: [registry],
            collect() {
              this.reset();
              for (const entry of series()) this.set(entry.labels, entry.gauges[index]!);
            },
          }),
      });
    });
  }

  /** What the sampling tick read, before clear_map (if set) cleared the map. */
  intervalRead(entries: MapEntries): void {
    const decoded = this.decode(entries);
    if (!this.clearMap) {
      this.current = decoded;
      return;
    }
    for (const entry of decoded) {
      const total = this.accumulated.get(entry.id);
      if (total === undefined) this.accumulated.set(entry.id, { ...entry, counts: [...entry.counts] });
      else entry.counts.forEach((count, i) => (total.counts[i]! += count));
    }
    this.lastInterval = decoded;
    this.current = [];
  }

  /** A read made for a scrape, which never clears the map. */
  scrapeRead(entries: MapEntries): void {
    this.current = this.decode(entries);
  }

  private histogramSeries(): Array<{ labels: Record<string, string>; counts: number[]; sum: number }> {
    const { midpoints, divisor } = this.histogram!;
    const withSum = (entry: Entry) => ({
      labels: entry.labels,
      counts: entry.counts,
      sum: entry.counts.reduce((s, c, i) => s + c * midpoints[i]!, 0) / divisor,
    });
    if (!this.clearMap) return this.current.map(withSum);
    const merged = new Map<string, Entry>();
    for (const entry of this.accumulated.values()) merged.set(entry.id, { ...entry, counts: [...entry.counts] });
    for (const entry of this.current) {
      const total = merged.get(entry.id);
      if (total === undefined) merged.set(entry.id, entry);
      else entry.counts.forEach((count, i) => (total.counts[i]! += count));
    }
    return [...merged.values()].map(withSum);
  }

  private gaugeSeries(): Entry[] {
    return this.clearMap ? this.lastInterval : this.current;
  }

  private decode(entries: MapEntries): Entry[] {
    const decoded: Entry[] = [];
    for (const [keyBytes, valueBytes] of entries) {
      const key = asBuffer(keyBytes);
      const value = asBuffer(valueBytes);
      // A short entry is counted and reported by the output path, which reads the same entries.
      if (key.length < this.key.needed || value.length < this.value.needed) continue;
      const labels: Record<string, string> = {};
      for (const l of this.labels) labels[l.name] = l.text(l.record === 'key' ? key : value, l.offset);
      decoded.push({
        id: JSON.stringify(Object.values(labels)),
        labels,
        counts: this.histogram ? this.histogram.slots.read(value).map(Number) : [],
        gauges: this.gauges.map((g) => g.number(value, g.offset)),
      });
    }
    return decoded;
  }
}

function structMembers(btf: Btf, typeId: number): readonly BtfMember[] | undefined {
  const t = btf.resolve(typeId);
  return t.kind === BtfKind.Struct ? t.members : undefined;
}

/**
 * A column's member name from BTF: the columns of a key, or of a value whose export type did not
 * match, are named after the members' types, which make no label names.
 */
function memberName(members: readonly BtfMember[], column: Column): string {
  return members.find((m) => m.bitOffset === column.offset * 8)?.name || column.name;
}

function memberKind(btf: Btf, column: Column): 'label' | 'number' | 'other' {
  const t = btf.resolve(column.typeId);
  if (t.kind === BtfKind.Int || t.kind === BtfKind.Float) return 'number';
  if (t.kind === BtfKind.Enum || t.kind === BtfKind.Enum64 || isCharArray(btf, t)) return 'label';
  return 'other';
}

/** A number from its plain text: integers (any width), floats (`null` when not finite), bools. */
function numberOf(text: string): number {
  if (text === 'true') return 1;
  if (text === 'false') return 0;
  return text === 'null' ? Number.NaN : Number(text);
}

/**
 * Slot i of a log2_hist counts values in [2^i, 2^(i+1)) (slot 0: 0 and 1), of a linear_hist
 * [min + i*step, min + (i+1)*step). The values are integers, so `le` is the last integer a slot
 * holds (what the plain-text histogram prints as its upper bound), scaled to the base unit.
 */
function histogramLayout(spec: SampledMapSpec, value: CompiledRecord, base: string): HistogramLayout {
  const type = spec.sample.type as 'log2_hist' | 'linear_hist';
  const slots = slotsReader(spec.btf, value, spec.mapName, type);
  const unit = baseUnit(spec.sample.unit);
  const linear = type === 'linear_hist' ? linearBounds(spec.sample, spec.mapName) : undefined;
  const upperBounds: string[] = [];
  const midpoints: number[] = [];
  for (let i = 0; i < slots.count; i++) {
    const [low, high] = slotBounds(i, linear);
    upperBounds.push(`${Number(high) / unit.divisor}`);
    midpoints.push((Number(low) + Number(high)) / 2);
  }
  const unitText = spec.sample.unit === undefined ? '' : `, unit ${spec.sample.unit}${unit.divisor === 1 ? '' : ` as ${unit.suffix}`}`;
  const clear = spec.sample.clear_map === true ? '; the sum of every interval, since the map is cleared each interval' : '';
  return {
    slots,
    upperBounds,
    midpoints,
    divisor: unit.divisor,
    name: metricName(base, unit.suffix),
    help: `${type} map ${spec.mapName}${unitText}; _sum is estimated from the middle of each slot${clear}`,
  };
}
