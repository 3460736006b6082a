/**
 * The run engine's per-record plug-in points, between a reader and its sink:
 *
 *   enrich   what a record carries beyond its bytes (its container), read from its members
 *            (pid, cgroup id). An answer that is not known yet is a promise: that record and
 *            every later one of the same export wait, in order, until it settles.
 *   keep     a filter on the record's bytes and its enrichment: false drops it before it is
 *            formatted or decoded (counted as `filtered`).
 *   keepEntry  the same for the entries of a sampled map, on their key and value bytes.
 *
 * Stages are built per export before anything is opened (RunSettings.stages), so a filter that
 * names no such field is a usage error with nothing loaded.
 */
import type { ContainerInfo } from '../format/container.js';
import type { MapEntry } from '../format/sample-order.js';
import type { ExportSpec } from '../model/exports.js';

/** What a record carries beyond its bytes, for its sink (a `container` member or column) and for observers. */
export interface RecordContext {
  /** The container the record came from; undefined for a host process, or when nobody asked. */
  readonly container?: ContainerInfo | undefined;
}

/** The context of records no stage enriched. */
export const NO_CONTEXT: RecordContext = Object.freeze({});

export interface EventStages {
  /** The record is the `length` bytes at `offset` in `data`, valid only during the call. */
  enrich?(data: Buffer, offset: number, length: number): RecordContext | Promise<RecordContext>;
  keep?(data: Buffer, offset: number, length: number, context: RecordContext): boolean;
}

export interface SampleStages {
  keepEntry?(entry: MapEntry): boolean;
}

/** The stages of one export (undefined: none), built before anything is opened. */
export type StageFactory = (exported: ExportSpec) => (EventStages & SampleStages) | undefined;

/** Records held behind an enrichment that has not settled, per export, before later ones are dropped (counted). */
export const MAX_HELD_RECORDS = 65536;

/** What became of a record that went through the stages; 'filtered' records never reach the sink. */
export type StagedDelivery = 'delivered' | 'dropped' | 'empty' | 'filtered';

export interface StagedTarget {
  /** Hands a record on (to the sink); throws like the sink. */
  deliver(data: Buffer, offset: number, length: number, context: RecordContext): 'delivered' | 'dropped' | 'empty';
  /** What became of each record, in order; `error` when the sink threw (a malformed record). */
  settled(outcome: StagedDelivery | { error: unknown }): void;
  /** After records that were held are handed on: write what they produced. */
  flush(): void;
}

interface Held {
  bytes: Buffer;
  context: RecordContext | undefined;
  pending: Promise<RecordContext> | undefined;
}

/**
 * Runs records through an export's stages into `target`, keeping their order: once one waits for
 * its enrichment, later ones are copied and wait behind it (at most MAX_HELD_RECORDS).
 */
export class StagedRecords {
  private readonly held: Held[] = [];
  private closed = false;

  constructor(
    private readonly stages: EventStages,
    private readonly target: StagedTarget,
  ) {}

  /** One record from the reader, valid only during the call. */
  offer(data: Buffer, offset: number, length: number): void {
    if (this.held.length > 0) {
      this.hold(data, offset, length, this.stages.enrich?.(data, offset, length) ?? NO_CONTEXT);
      return;
    }
    const context = this.stages.enrich?.(data, offset, length) ?? NO_CONTEXT;
    if (context instanceof Promise) this.hold(data, offset, length, context);
    else this.pass(data, offset, length, context);
  }

  /** Hands on what is held, with the contexts known by now (undefined for those still pending). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const record of this.held.splice(0)) this.pass(record.bytes, 0, record.bytes.length, record.context ?? NO_CONTEXT);
  }

  private hold(data: Buffer, offset: number, length: number, context: RecordContext | Promise<RecordContext>): void {
    if (this.held.length >= MAX_HELD_RECORDS) {
      this.target.settled('dropped');
      return;
    }
    const record: Held = { bytes: Buffer.from(data.subarray(offset, offset + length)), context: undefined, pending: undefined };
    if (context instanceof Promise) {
      record.pending = context;
      // An enrichment that fails leaves the record without context: it is still delivered.
      const settle = (known: RecordContext): void => {
        record.context = known;
        record.pending = undefined;
        this.release();
      };
      context.then(settle, () => settle(NO_CONTEXT));
    } else record.context = context;
    this.held.push(record);
  }

  /** Hands on the held records from the first, up to the first that still waits. */
  private release(): void {
    if (this.closed) return;
    let released = false;
    while (this.held.length > 0 && this.held[0]!.pending === undefined) {
      const record = this.held.shift()!;
      this.pass(record.bytes, 0, record.bytes.length, record.context ?? NO_CONTEXT);
      released = true;
    }
    if (released) this.target.flush();
  }

  private pass(data: Buffer, offset: number, length: number, context: RecordContext): void {
    try {
      if (this.stages.keep !== undefined && !this.stages.keep(data, offset, length, context)) {
        this.target.settled('filtered');
        return;
      }
      this.target.settled(this.target.deliver(data, offset, length, context));
    } catch (error) {
      this.target.settled({ error });
    }
  }
}
