/**
 * The metric families of one sampled map. Key members become labels (a key that is a single
 * integer, not a struct, is the label `key`); value members that are strings or enums become
 * labels too; numeric value members become gauges (`ecli_<map>_<member>`, or `ecli_<map>` for a
 * value that is a single number); a `log2_hist` or `linear_hist` map's `slots` become a
 * histogram `ecli_<map>_<unit>`, in seconds or bytes when the unit is a time or byte unit.
 *
 * Reads: the run's sampling tick reads the map once per interval (for stdout) and hands the
 * entries here before clear_map (if set) clears the map; scrapes never read the map, they show
 * the latest interval's read (one read serves every scrape, and a scrape costs no map read).
 * - without clear_map the map is cumulative already: each read replaces the last one;
 * - with clear_map a histogram is the sum of every interval's read, so it only ever grows, as
 *   Prometheus expects, and a gauge is the value of the last interval.
 * Each family holds at most `seriesLimit` series (label sets): beyond it the series updated
 * longest ago are dropped, and counted.
 */
import type { Buffer } from 'node:buffer';
import type { Registry } from 'prom-client';
import type { Btf } from '../btf/btf.js';
import type { Column } from '../btf/columns.js';
import { BtfKind, type BtfMember } from '../btf/types.js';
import { EcliError } from '../errors.js';
import { compileRecord, type CompiledRecord } from '../format/record.js';
import { linearBounds, slotBounds, slotsReader, type SlotsReader } from '../format/sample.js';
import { asBuffer, isCharArray, ValueCompiler, type Decoder } from '../format/value.js';
import type { MapEntries, SampledMapSpec } from '../runner/observer.js';
import { escapeBytesExactly } from '../terminal.js';
import { familyHeader, joinLabels, labelText, sampleLine, SERIES_PER_SLICE, type StreamedFamily } from './exposition.js';
import { baseUnit, labelName, metricName, snakeCase } from './names.js';
import { SeriesCap } from './series-cap.js';

/** The names a family writes and the labels its series carry, for the collision checks. */
export interface FamilyNames {
  /** What it comes from, for messages: `map hists`, `ecli`. */
  source: string;
  /** Every sample name the family writes: `x`, or `x_bucket`, `x_sum`, `x_count` and `x`. */
  names: string[];
  labelNames: string[];
}

/** A family prom-client's Registry writes (small ones), or one ecli writes itself, in slices. */
export type MetricFamily = FamilyNames & ({ register(registry: Registry): void } | StreamedFamily);

interface Series {
  /** The series' labels as text: `key="1",comm="bash"`. */
  labels: string;
  /** Histogram slot counts (histogram maps only). */
  counts: number[];
  gauges: number[];
}

interface LabelSource {
  name: string;
  /** The member this label comes from, for messages. */
  member: string;
  record: 'key' | 'value';
  offset: number;
  /** The label value: different member values always give different text. */
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
  readonly mapName: string;
  private readonly clearMap: boolean;
  private readonly key: CompiledRecord;
  private readonly value: CompiledRecord;
  private readonly labels: LabelSource[] = [];
  private readonly gauges: GaugeSource[] = [];
  private readonly histogram: HistogramLayout | undefined;
  /** The latest read's series. */
  private latest: SeriesCap<Series>;
  /** clear_map histograms only: the sums of every interval's read. */
  private readonly accumulated: SeriesCap<Series>;
  /** Series the per-read caps dropped, over all reads. */
  private droppedFromReads = 0;

  constructor(
    spec: SampledMapSpec,
    private readonly seriesLimit: number,
  ) {
    const { btf, mapName, sample } = spec;
    this.mapName = mapName;
    this.latest = new SeriesCap(seriesLimit);
    this.accumulated = new SeriesCap(seriesLimit);
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
      const member = keyStruct ? memberName(keyStruct, column) : 'key';
      const name = keyStruct ? labelName(member, 'key') : 'key';
      const clash = this.labels.find((l) => l.name === name);
      if (clash !== undefined) {
        throw new EcliError('PACKAGE_INVALID', `metrics: key members ${clash.member} and ${member} of map ${mapName} both give the label ${name}`, {
          hint: 'rename one of the members, or run without --metrics',
        });
      }
      this.labels.push({ name, member, record: 'key', offset: column.offset, text: labelDecoder(btf, column, this.key.values[i]!.plain) });
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
        this.labels.push({ name, member, record: 'value', offset: column.offset, text: labelDecoder(btf, column, this.value.values[i]!.plain) });
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
      const le = this.labels.find((l) => l.name === 'le');
      if (le !== undefined) {
        throw new EcliError(
          'PACKAGE_INVALID',
          `metrics: member ${le.member} of histogram map ${mapName} gives the label le, which Prometheus keeps for bucket bounds`,
          {
            hint: 'rename the member, or run without --metrics',
          },
        );
      }
      this.families.push({
        source: `map ${mapName}`,
        names: [histogram.name, `${histogram.name}_bucket`, `${histogram.name}_sum`, `${histogram.name}_count`],
        labelNames: [...labelNames, 'le'],
        render: (constantLabels) => this.renderHistogram(histogram, constantLabels),
      });
    }
    this.gauges.forEach((source, index) => {
      const help = `Member ${source.member} of map ${mapName} (${type}${this.clearMap ? ', value of the last interval: the map is cleared each interval' : ''})`;
      this.families.push({
        source: `map ${mapName}`,
        names: [source.name],
        labelNames,
        render: (constantLabels) => this.renderGauge(source.name, help, index, constantLabels),
      });
    });
  }

  /** What the sampling tick read, before clear_map (if set) cleared the map. */
  intervalRead(entries: MapEntries): void {
    const read = new SeriesCap<Series>(this.seriesLimit);
    // Without clear_map only the read's last `seriesLimit` entries can stay (a map's keys are
    // distinct): the others are counted, not decoded.
    const skipped = this.clearMap ? 0 : Math.max(0, entries.length - this.seriesLimit);
    this.droppedFromReads += skipped;
    for (let i = skipped; i < entries.length; i++) {
      const [keyBytes, valueBytes] = entries[i]!;
      const key = asBuffer(keyBytes);
      const value = asBuffer(valueBytes);
      // A short entry is counted and reported by the output path, which reads the same entries.
      if (key.length < this.key.needed || value.length < this.value.needed) continue;
      const values = this.labels.map((l) => l.text(l.record === 'key' ? key : value, l.offset));
      const id = values.join('\0');
      const make = (): Series => ({ labels: labelText(this.labels.map((l, i) => [l.name, values[i]!])), counts: [], gauges: [] });
      const series = read.update(id, make);
      series.counts = this.histogram ? this.histogram.slots.read(value).map(Number) : [];
      series.gauges = this.gauges.map((g) => g.number(value, g.offset));
      if (this.clearMap && this.histogram) {
        const total = this.accumulated.update(id, make);
        series.counts.forEach((count, i) => (total.counts[i] = (total.counts[i] ?? 0) + count));
      }
    }
    this.droppedFromReads += read.evicted;
    this.latest = read;
  }

  /** Series dropped because of the limit so far: by the histogram's sums with clear_map, else by the reads. */
  get droppedSeries(): number {
    return this.clearMap && this.histogram ? this.accumulated.evicted : this.droppedFromReads;
  }

  /** Series exported now (the most any of the map's families has). */
  get seriesCount(): number {
    return this.clearMap && this.histogram ? Math.max(this.accumulated.size, this.latest.size) : this.latest.size;
  }

  private *renderHistogram(histogram: HistogramLayout, constantLabels: string): Iterable<string> {
    const { name, help, upperBounds, midpoints, divisor } = histogram;
    const series = (this.clearMap ? this.accumulated : this.latest).snapshot();
    yield familyHeader(name, help, 'histogram');
    for (let start = 0; start < series.length; start += SERIES_PER_SLICE) {
      let text = '';
      for (const { labels, counts } of series.slice(start, start + SERIES_PER_SLICE)) {
        const all = joinLabels(labels, constantLabels);
        let cumulative = 0;
        let sum = 0;
        upperBounds.forEach((le, i) => {
          const count = counts[i] ?? 0;
          cumulative += count;
          sum += count * midpoints[i]!;
          text += sampleLine(`${name}_bucket`, joinLabels(all, `le="${le}"`), cumulative);
        });
        text += sampleLine(`${name}_bucket`, joinLabels(all, 'le="+Inf"'), cumulative);
        text += sampleLine(`${name}_sum`, all, sum / divisor);
        text += sampleLine(`${name}_count`, all, cumulative);
      }
      yield text;
    }
  }

  private *renderGauge(name: string, help: string, index: number, constantLabels: string): Iterable<string> {
    const series = this.latest.snapshot();
    yield familyHeader(name, help, 'gauge');
    for (let start = 0; start < series.length; start += SERIES_PER_SLICE) {
      let text = '';
      for (const { labels, gauges } of series.slice(start, start + SERIES_PER_SLICE)) {
        text += sampleLine(name, joinLabels(labels, constantLabels), gauges[index]!);
      }
      yield text;
    }
  }
}

/**
 * The label value of a member: a char array's bytes up to the first NUL, escaped so that two
 * different byte strings never give the same value (an ESC and the text `\e`, two different
 * invalid UTF-8 sequences); other members as plain text.
 */
function labelDecoder(btf: Btf, column: Column, plain: Decoder): Decoder {
  if (!isCharArray(btf, btf.resolve(column.typeId))) return plain;
  return (data, offset) => {
    const end = offset + column.size;
    let stop = offset;
    while (stop < end && data[stop] !== 0) stop++;
    return escapeBytesExactly(data, offset, stop);
  };
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
