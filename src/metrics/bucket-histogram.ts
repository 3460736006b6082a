/**
 * A Prometheus histogram whose buckets arrive already counted: a kernel histogram map holds a
 * count per slot, not the observations. prom-client's Histogram only takes single observations
 * (replaying millions of them per scrape is not an option), so this is a collector in the shape
 * prom-client's Registry reads (`name`, `help`, `type`, `get()`), and the Registry still writes
 * the text format: label escaping, constant labels, content type.
 */
import type { Metric, Registry } from 'prom-client';

export interface BucketSeries {
  labels: Readonly<Record<string, string>>;
  /** Count per bucket, in bucket order (not cumulative). */
  counts: readonly number[];
  /** Sum of the observed values, in the histogram's unit. */
  sum: number;
}

interface SeriesValue {
  metricName: string;
  labels: Record<string, string>;
  value: number;
}

export class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  /**
   * `upperBounds[i]` is the `le` label of bucket i; a `+Inf` bucket (the total count) follows
   * them. `series` is called on each scrape.
   */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly string[],
    private readonly series: () => Iterable<BucketSeries>,
  ) {}

  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: SeriesValue[] }> {
    const values: SeriesValue[] = [];
    for (const { labels, counts, sum } of this.series()) {
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += counts[i] ?? 0;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels: { ...labels }, value: sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...labels }, value: cumulative });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** The registry's resetMetrics(); the series belong to the map, so there is nothing to reset. */
  reset(): void {}

  register(registry: Registry): void {
    // The Registry's typings list only its own metric classes; at run time it needs the members above.
    registry.registerMetric(this as unknown as Metric);
  }
}
