/**
 * Everything `ecli run --metrics` serves: `ecli_info`, the counters of every exported buffer,
 * the families of every sampled map, what the series limit dropped, and prom-client's default
 * process metrics. It is the run's observer: the run reports its exports here and hands over each
 * interval's read of every sampled map. Small families are prom-client's (its Registry writes
 * them); the sampled maps' families, which can hold many series, are written here a slice at a
 * time, with a turn of the event loop between slices, so that a scrape never stalls the run.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { EcliError } from '../errors.js';
import type { EventExportSpec } from '../model/exports.js';
import type { RunCounters } from '../runner/counters.js';
import type { RunObserver, SampledMapSpec, SampledMapWatch } from '../runner/observer.js';
import { escapeControls, escapeExactly } from '../terminal.js';
import { labelText, type StreamedFamily } from './exposition.js';
import { metricName } from './names.js';
import { SampledMapMetrics, type MetricFamily } from './sampled-map.js';
import { SeriesCap } from './series-cap.js';
import { containerCell, type ContainerInfo } from '../format/container.js';
import type { RecordContext } from '../runner/stages.js';

export interface PackageIdentity {
  /** The manifest's name, else the object name. */
  name: string;
  version: string;
  object: string;
}

export interface RunMetricsOptions {
  identity: PackageIdentity;
  /** `--metrics-labels`: added to every series. */
  constantLabels: Readonly<Record<string, string>>;
  /** Where notes about members that cannot be exported, and about dropped series, go (escaped for a terminal). */
  warn: (message: string) => void;
  /** prom-client's process and Node.js metrics (CPU, memory, event loop...). */
  processMetrics: boolean;
  /** `--metrics-max-series`: the most series one family of a sampled map keeps, and the most containers counted. */
  seriesLimit: number;
  /** `--metrics-labels container`: events counted by the container they came from. */
  byContainer?: boolean;
}

/** The labels of the events counted by container, after `export`. */
const CONTAINER_LABELS = ['container', 'image', 'runtime', 'pod', 'namespace'] as const;

/** The label values of ecli_container_events_total for one export and container, and the series' id. */
interface ContainerLabels {
  id: string;
  values: string[];
}

/**
 * The labels of `exported`'s events by their container (empty for host processes), made once
 * per container: the same containers come back event after event.
 */
function containerLabelsOf(exported: EventExportSpec): (container: ContainerInfo | undefined) => ContainerLabels {
  const make = (container: ContainerInfo | undefined): ContainerLabels => {
    // Runtime strings: escaped, distinct ones kept distinct.
    const values = [
      escapeExactly(exported.map.name),
      escapeExactly(containerCell(container)),
      escapeExactly(container?.image ?? ''),
      container?.runtime ?? '',
      escapeExactly(container?.pod ?? ''),
      escapeExactly(container?.namespace ?? ''),
    ];
    return { id: values.join('\u0000'), values };
  };
  const host = make(undefined);
  const known = new WeakMap<ContainerInfo, ContainerLabels>();
  return (container) => {
    if (container === undefined) return host;
    let labels = known.get(container);
    if (labels === undefined) known.set(container, (labels = make(container)));
    return labels;
  };
}

/** The default of `--metrics-max-series`. */
export const DEFAULT_SERIES_LIMIT = 10_000;

const EVENT_COUNTERS: ReadonlyArray<[keyof RunCounters, string]> = [
  ['received', 'Events received from the exported ring buffer or perf event array'],
  ['lost', 'Events lost in the kernel because the perf buffer was full'],
  ['malformed', 'Events skipped because they were too short for their struct'],
  ['dropped', 'Events dropped because stdout could not keep up'],
];

export class RunMetrics implements RunObserver {
  readonly registry = new Registry();
  /** Every metric name written, and the source of its family. */
  private readonly names = new Map<string, string>();
  /** The families written here, in registration order. */
  private readonly streamed: StreamedFamily[] = [];
  private readonly constantLabelText: string;
  private readonly sampledMaps: SampledMapMetrics[] = [];
  /** The counters of each export, and whether it can lose events (only perf buffers report losses). */
  private readonly tallies = new Map<string, { counters: Readonly<RunCounters>; reportsLoss: boolean }>();
  /** `--metrics-labels container`: events by container, at most seriesLimit containers (the ones counted longest ago dropped). */
  private byContainer: SeriesCap<{ values: string[]; count: number }> | undefined;
  /** The label values of each export's containers, made once per container. */
  private readonly containerLabels = new Map<EventExportSpec, (container: ContainerInfo | undefined) => ContainerLabels>();
  private detached = false;

  private readonly warn: (message: string) => void;

  constructor(private readonly options: RunMetricsOptions) {
    // Notes name members and maps: package strings.
    this.warn = (message) => options.warn(escapeControls(message));
    this.registry.setDefaultLabels({ ...options.constantLabels });
    this.constantLabelText = labelText(Object.entries(options.constantLabels));
    const { name, version, object } = options.identity;
    const info = metricName('info');
    const infoLabels = ['name', 'version', 'object'];
    this.add({
      source: 'ecli',
      names: [info],
      labelNames: infoLabels,
      // Package strings: never a raw control character, and different strings stay different.
      register: (registry) =>
        new Gauge({ name: info, help: 'The package ecli runs (always 1)', labelNames: infoLabels, registers: [registry] }).set(
          { name: escapeExactly(name), version: escapeExactly(version), object: escapeExactly(object) },
          1,
        ),
    });
    if (options.processMetrics) {
      collectDefaultMetrics({ register: this.registry });
      for (const metric of this.registry.getMetricsAsArray()) {
        if (!this.names.has(metric.name)) this.checkConstantLabels(metric.name, (metric as { labelNames?: string[] }).labelNames ?? []);
      }
    }
  }

  events(exported: EventExportSpec, counters: Readonly<RunCounters>): void {
    if (this.tallies.size === 0) this.registerEventCounters();
    this.tallies.set(escapeExactly(exported.map.name), { counters, reportsLoss: exported.transport === 'perf_event_array' });
    if (this.options.byContainer !== true) return;
    this.containerLabels.set(exported, containerLabelsOf(exported));
    if (this.byContainer === undefined) this.registerContainerCounter();
  }

  /** A delivered event of an export whose events carry their container: counted by container. */
  enriched(exported: EventExportSpec, context: RecordContext): void {
    const series = this.byContainer;
    const labelsOf = this.containerLabels.get(exported);
    if (series === undefined || labelsOf === undefined || this.detached) return;
    const { id, values } = labelsOf(context.container);
    const dropped = series.evicted;
    series.update(id, () => ({ values, count: 0 })).count++;
    if (series.evicted > dropped && dropped === 0) {
      this.warn(
        `metrics: events came from more than ${series.limit} containers; the ones counted longest ago are dropped ` +
          `(counted in ecli_container_series_dropped_total; --metrics-max-series raises the limit)`,
      );
    }
  }

  sampled(spec: SampledMapSpec): SampledMapWatch {
    const metrics = new SampledMapMetrics(spec, this.options.seriesLimit);
    metrics.families.forEach((family) => this.add(family));
    metrics.warnings.forEach(this.warn);
    if (this.sampledMaps.length === 0) this.registerSeriesCounters();
    this.sampledMaps.push(metrics);
    let warned = false;
    return {
      intervalRead: (entries) => {
        if (this.detached) return;
        metrics.intervalRead(entries);
        if (warned || metrics.droppedSeries === 0) return;
        warned = true;
        this.warn(
          `metrics: map ${spec.mapName} has more than ${this.options.seriesLimit} series; the ones updated longest ago are dropped ` +
            `(counted in ecli_metrics_series_dropped_total; --metrics-max-series raises the limit)`,
        );
      },
    };
  }

  detach(): void {
    this.detached = true;
  }

  /**
   * The text of one scrape, in slices: prom-client's families, then each sampled map's, a slice
   * of series at a time with a turn of the event loop between slices. Nothing reads a map here.
   */
  async *scrape(): AsyncIterable<string> {
    yield await this.registry.metrics();
    for (const family of this.streamed) {
      for (const slice of family.render(this.constantLabelText)) {
        yield slice.startsWith('# HELP') ? `\n${slice}` : slice;
        await nextTurn();
      }
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private registerEventCounters(): void {
    const tallies = this.tallies;
    for (const [field, help] of EVENT_COUNTERS) {
      const name = metricName('events', field, 'total');
      this.add({
        source: 'ecli',
        names: [name],
        labelNames: ['export'],
        register: (registry) =>
          new Counter({
            name,
            help,
            labelNames: ['export'],
            registers: [registry],
            collect() {
              this.reset();
              for (const [map, { counters, reportsLoss }] of tallies) {
                if (field !== 'lost' || reportsLoss) this.inc({ export: map }, counters[field]);
              }
            },
          }),
      });
    }
  }

  /** `ecli_container_events_total` and what its limit dropped. */
  private registerContainerCounter(): void {
    const series = new SeriesCap<{ values: string[]; count: number }>(this.options.seriesLimit);
    this.byContainer = series;
    const name = metricName('container', 'events', 'total');
    const labelNames = ['export', ...CONTAINER_LABELS];
    this.add({
      source: 'ecli',
      names: [name],
      labelNames,
      register: (registry) =>
        new Counter({
          name,
          help: 'Events delivered, by the container they came from (empty labels: host processes)',
          labelNames,
          registers: [registry],
          collect() {
            this.reset();
            for (const { values, count } of series.snapshot()) this.inc(Object.fromEntries(labelNames.map((label, i) => [label, values[i]!])), count);
          },
        }),
    });
    const dropped = metricName('container', 'series', 'dropped', 'total');
    this.add({
      source: 'ecli',
      names: [dropped],
      labelNames: [],
      register: (registry) =>
        new Counter({
          name: dropped,
          help: 'Containers no longer counted by ecli_container_events_total because more than --metrics-max-series were: the ones counted longest ago',
          registers: [registry],
          collect() {
            this.reset();
            this.inc(series.evicted);
          },
        }),
    });
  }

  /** How many series each sampled map exports, and how many the limit dropped. */
  private registerSeriesCounters(): void {
    const maps = this.sampledMaps;
    const series = metricName('metrics', 'series');
    this.add({
      source: 'ecli',
      names: [series],
      labelNames: ['map'],
      register: (registry) =>
        new Gauge({
          name: series,
          help: `Series a sampled map exports now (at most ${this.options.seriesLimit} per metric: --metrics-max-series)`,
          labelNames: ['map'],
          registers: [registry],
          collect() {
            for (const map of maps) this.set({ map: escapeExactly(map.mapName) }, map.seriesCount);
          },
        }),
    });
    const dropped = metricName('metrics', 'series', 'dropped', 'total');
    this.add({
      source: 'ecli',
      names: [dropped],
      labelNames: ['map'],
      register: (registry) =>
        new Counter({
          name: dropped,
          help: 'Series of a sampled map dropped because it had more than --metrics-max-series: the ones updated longest ago',
          labelNames: ['map'],
          registers: [registry],
          collect() {
            this.reset();
            for (const map of maps) this.inc({ map: escapeExactly(map.mapName) }, map.droppedSeries);
          },
        }),
    });
  }

  /** Registers a family once its names and labels are known not to clash with any other's. */
  private add(family: MetricFamily): void {
    for (const name of family.names) {
      const owner = this.names.get(name);
      if (owner !== undefined) {
        throw new EcliError('PACKAGE_INVALID', `metrics: ${owner} and ${family.source} both give the metric name ${name}`, {
          hint: 'rename one of the maps or members, or run without --metrics',
        });
      }
    }
    this.checkConstantLabels(family.names[0]!, family.labelNames);
    for (const name of family.names) this.names.set(name, family.source);
    if ('register' in family) family.register(this.registry);
    else this.streamed.push(family);
  }

  private checkConstantLabels(metric: string, labelNames: readonly string[]): void {
    for (const label of Object.keys(this.options.constantLabels)) {
      if (labelNames.includes(label)) {
        throw new EcliError('USAGE', `--metrics-labels: ${label} is already a label of ${metric}`, { hint: 'choose another label name' });
      }
    }
  }
}
