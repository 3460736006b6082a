/**
 * Everything `ecli run --metrics` serves, in one prom-client Registry: `ecli_info`, the counters
 * of every exported buffer, the families of every sampled map, and prom-client's default process
 * metrics. It is the run's observer: the run reports its exports here and hands over its reads.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { EcliError } from '../errors.js';
import type { EventExportSpec } from '../model/exports.js';
import type { RunCounters } from '../runner/counters.js';
import type { RunObserver, SampledMapSpec, SampledMapWatch, MapEntries } from '../runner/observer.js';
import { metricName } from './names.js';
import { SampledMapMetrics, type MetricFamily } from './sampled-map.js';

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
  /** Where notes about members that cannot be exported go. */
  warn: (message: string) => void;
  /** prom-client's process and Node.js metrics (CPU, memory, event loop...). */
  processMetrics: boolean;
}

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
  private readonly sampledMaps: Array<{ metrics: SampledMapMetrics; read: (() => MapEntries) | undefined }> = [];
  /** The counters of each export, and whether it can lose events (only perf buffers report losses). */
  private readonly tallies = new Map<string, { counters: Readonly<RunCounters>; reportsLoss: boolean }>();
  private detached = false;

  constructor(private readonly options: RunMetricsOptions) {
    this.registry.setDefaultLabels({ ...options.constantLabels });
    const { name, version, object } = options.identity;
    const info = metricName('info');
    const infoLabels = ['name', 'version', 'object'];
    this.add({
      source: 'ecli',
      names: [info],
      labelNames: infoLabels,
      register: (registry) =>
        new Gauge({ name: info, help: 'The package ecli runs (always 1)', labelNames: infoLabels, registers: [registry] }).set({ name, version, object }, 1),
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
    this.tallies.set(exported.map.name, { counters, reportsLoss: exported.transport === 'perf_event_array' });
  }

  sampled(spec: SampledMapSpec): SampledMapWatch {
    const metrics = new SampledMapMetrics(spec);
    metrics.families.forEach((family) => this.add(family));
    metrics.warnings.forEach(this.options.warn);
    const entry = { metrics, read: undefined as (() => MapEntries) | undefined };
    this.sampledMaps.push(entry);
    return {
      connect: (read) => {
        if (!this.detached) entry.read = read;
      },
      intervalRead: (entries) => metrics.intervalRead(entries),
    };
  }

  detach(): void {
    this.detached = true;
    for (const entry of this.sampledMaps) entry.read = undefined;
  }

  /** The text of one scrape: every connected sampled map is read once, then all is rendered. */
  async scrape(): Promise<string> {
    for (const { metrics, read } of this.sampledMaps) if (read) metrics.scrapeRead(read());
    return this.registry.metrics();
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
    family.register(this.registry);
  }

  private checkConstantLabels(metric: string, labelNames: readonly string[]): void {
    for (const label of Object.keys(this.options.constantLabels)) {
      if (labelNames.includes(label)) {
        throw new EcliError('USAGE', `--metrics-labels: ${label} is already a label of ${metric}`, { hint: 'choose another label name' });
      }
    }
  }
}
