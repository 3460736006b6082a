/**
 * The series of one metric family, at most `limit` of them: a new label set beyond the limit
 * evicts the one updated longest ago, and the evictions are counted (a package whose keys never
 * repeat, a pid or a call number, would otherwise grow the metrics until the process dies). Any
 * family keyed by label sets can use one: a sampled map's series, or per-container counters.
 */
export class SeriesCap<T> {
  /** Oldest update first: an update moves a series to the end. */
  private readonly series = new Map<string, T>();
  /** Series evicted (or not admitted) since the start. */
  evicted = 0;

  constructor(readonly limit: number) {}

  /** The series `id` (its label values as one string), made by `create` when new; now the most recent. */
  update(id: string, create: () => T): T {
    const known = this.series.get(id);
    if (known !== undefined) {
      this.series.delete(id);
      this.series.set(id, known);
      return known;
    }
    if (this.series.size >= this.limit) {
      const oldest = this.series.keys().next().value as string;
      this.series.delete(oldest);
      this.evicted++;
    }
    const made = create();
    this.series.set(id, made);
    return made;
  }

  get size(): number {
    return this.series.size;
  }

  /** The series now, oldest update first: an array, so that later updates do not change what a scrape walks. */
  snapshot(): T[] {
    return [...this.series.values()];
  }
}
