/**
 * A running package, for library users: the run engine with an output that decodes the records
 * of the event maps into objects and each read of a sampled map into a Sample, each into a
 * bounded queue read with `for await`. close() detaches everything; so do the run's AbortSignal
 * and the process's exit.
 */
import { EcliError } from '../errors.js';
import type { EventExportSpec, SampleExportSpec } from '../model/exports.js';
import type { PackageSpec } from '../model/spec.js';
import type { MapSampleMeta } from '../package/types.js';
import type { RunCounters } from '../runner/counters.js';
import { RunEngine, type EventSink, type RunKernel, type RunOutput, type RunSettings, type SampleSink } from '../runner/engine.js';
import { eventDecoder, recordDecoder, type EventRecord } from './decode.js';
import { BoundedQueue } from './queue.js';

/** A session's counters: records received, lost in the kernel, malformed, and not queued because the reader did not keep up (or left its loop). */
export type SessionStats = RunCounters;

/** One read of a sampled map: every entry, decoded. */
export interface Sample<Key = EventRecord, Value = EventRecord> {
  map: string;
  /** The map's `sample.type`. */
  type: NonNullable<MapSampleMeta['type']>;
  time: Date;
  entries: { key: Key; value: Value }[];
}

export interface SessionOptions {
  /** Records (and samples) held for a slow reader. */
  queueLimit: number;
  signal: AbortSignal | undefined;
  /** Non-fatal notices (libbpf warnings, package warnings). */
  warn: (message: string) => void;
  /** The kernel side; tests hand in a fake. */
  kernel?: RunKernel;
}

/** The engine's output for the library: decoders into the two queues. */
class QueueOutput implements RunOutput {
  readonly eventQueue: BoundedQueue<EventRecord>;
  readonly sampleQueue: BoundedQueue<Sample>;

  constructor(
    private readonly spec: PackageSpec,
    private readonly options: SessionOptions,
  ) {
    this.eventQueue = new BoundedQueue(options.queueLimit, 'session.events()');
    this.sampleQueue = new BoundedQueue(options.queueLimit, 'session.samples()');
  }

  events(exported: EventExportSpec): EventSink {
    const decode = eventDecoder(this.spec.btf, exported.columns);
    const queue = this.eventQueue;
    return (data, offset, length) => (queue.offer(() => decode(data.subarray(offset, offset + length))) ? 'delivered' : 'dropped');
  }

  samples(exported: SampleExportSpec): SampleSink {
    const key = recordDecoder(this.spec.btf, exported.keyColumns, `key of map ${exported.map.name}`);
    const value = recordDecoder(this.spec.btf, exported.valueColumns, `value of map ${exported.map.name}`);
    const queue = this.sampleQueue;
    return (read, malformed) => {
      const entries: Sample['entries'] = [];
      for (const [k, v] of read) {
        try {
          entries.push({ key: key(k), value: value(v) });
        } catch (error) {
          malformed(error);
        }
      }
      const sample: Sample = { map: exported.map.name, type: exported.sample.type ?? 'default_kv', time: new Date(), entries };
      return queue.offer(() => sample) ? 0 : 1;
    };
  }

  warn(message: string): void {
    this.options.warn(message);
  }
}

export class Session {
  private readonly output: QueueOutput;
  private readonly engine: RunEngine;
  private readonly signal: AbortSignal | undefined;
  private closing: Promise<void> | undefined;
  /** For the process's exit and the signal's abort, where nobody could see a detach failure. */
  private readonly closeQuietly = (): void => {
    void this.close().catch(() => undefined);
  };

  /** Loads and attaches `spec`; on failure nothing stays loaded. */
  constructor(
    private readonly spec: PackageSpec,
    settings: RunSettings,
    options: SessionOptions,
  ) {
    options.signal?.throwIfAborted();
    this.signal = options.signal;
    this.output = new QueueOutput(spec, options);
    this.engine = RunEngine.start(spec, settings, this.output, options.kernel ? { kernel: options.kernel } : {});
    // The engine settles only when reading fails (the library sets no limits); a session does
    // not keep the process alive by itself.
    this.engine.wait(new Promise(() => undefined), { keepAlive: false }).catch((error: unknown) => this.fail(error));
    process.once('exit', this.closeQuietly);
    options.signal?.addEventListener('abort', this.closeQuietly, { once: true });
  }

  /**
   * The decoded records of the package's ring buffers and perf event arrays, in arrival order,
   * until the session closes. `T` names the shape of the export struct. One loop per session.
   */
  events<T extends object = EventRecord>(): AsyncIterable<T> {
    if (!this.spec.exports.some((e) => e.kind === 'events')) {
      throw new EcliError('USAGE', `package ${this.spec.objectName} exports no ring buffer or perf event array`, {
        hint: this.spec.exports.length > 0 ? 'read its sampled maps with session.samples()' : 'it only writes to the kernel trace pipe',
      });
    }
    return this.output.eventQueue as unknown as AsyncIterable<T>;
  }

  /** Each read of each sampled map (every `sample.interval` ms), until the session closes. One loop per session. */
  samples<Key = EventRecord, Value = EventRecord>(): AsyncIterable<Sample<Key, Value>> {
    if (!this.spec.exports.some((e) => e.kind === 'sample')) {
      throw new EcliError('USAGE', `package ${this.spec.objectName} has no sampled map`, {
        hint: this.spec.exports.length > 0 ? 'read its events with session.events()' : 'it only writes to the kernel trace pipe',
      });
    }
    return this.output.sampleQueue as unknown as AsyncIterable<Sample<Key, Value>>;
  }

  get stats(): Readonly<SessionStats> {
    return Object.freeze(this.engine.counters);
  }

  /** True once close() was called (or the signal aborted, or the run failed). */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Detaches and unloads everything; what the buffers still hold is read first. The loops over
   * events() and samples() end after the records already queued. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      process.removeListener('exit', this.closeQuietly);
      this.signal?.removeEventListener('abort', this.closeQuietly);
      const failure = this.engine.close();
      this.output.eventQueue.end();
      this.output.sampleQueue.end();
      if (failure === undefined) resolve();
      else reject(failure);
    });
    return this.closing;
  }

  /** Reading failed: the loops reject with the error, and everything is detached. */
  private fail(error: unknown): void {
    if (this.closing !== undefined) return;
    this.output.eventQueue.fail(error);
    this.output.sampleQueue.fail(error);
    this.closeQuietly();
  }
}
