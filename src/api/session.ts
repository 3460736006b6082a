/**
 * A running package, for library users: loads and attaches it, decodes the records of its
 * event maps into objects and reads its sampled maps on their intervals, each into a bounded
 * queue read with `for await`. close() detaches everything; so do the run's AbortSignal and
 * the process's exit.
 */
import { EcliError } from '../errors.js';
import type { EventExportSpec, SampleExportSpec } from '../model/exports.js';
import type { PackageSpec } from '../model/spec.js';
import type { MapSampleMeta } from '../package/types.js';
import { systemClock, type Cancel } from '../runner/clock.js';
import { PackageObject } from '../runner/package-object.js';
import { PollLoop } from '../runner/poll-loop.js';
import type { SectionImage } from '../runner/prepare.js';
import { startSampler } from '../runner/sampler.js';
import { eventDecoder, recordDecoder, type EventRecord } from './decode.js';
import { BoundedQueue } from './queue.js';

export interface SessionStats {
  /** Records read from the event maps. */
  received: number;
  /** Lost in the kernel because a perf buffer was full (ring buffers lose nothing here: their program sees the full buffer). */
  lost: number;
  /** Records or map entries too short for their struct. */
  malformed: number;
  /** Decoded records and samples not queued because the reader did not keep up (or left its loop). */
  dropped: number;
}

/** One read of a sampled map: every entry, decoded. */
export interface Sample<Key = EventRecord, Value = EventRecord> {
  map: string;
  /** The map's `sample.type`. */
  type: NonNullable<MapSampleMeta['type']>;
  time: Date;
  entries: { key: Key; value: Value }[];
}

export interface SessionSettings {
  images: readonly SectionImage[];
  verbose: boolean;
  btfCustomPath: string | undefined;
  warn: (message: string) => void;
  queueLimit: number;
  signal: AbortSignal | undefined;
}

export class Session {
  private readonly counts = { received: 0, lost: 0, malformed: 0 };
  private readonly eventQueue: BoundedQueue<EventRecord>;
  private readonly sampleQueue: BoundedQueue<Sample>;
  private readonly polling: PollLoop;
  private readonly samplers: Cancel[] = [];
  private readonly object: PackageObject;
  private readonly signal: AbortSignal | undefined;
  private closing: Promise<void> | undefined;
  private failed = false;
  /** For the process's exit and the signal's abort, where nobody could see a detach failure. */
  private readonly closeQuietly = (): void => {
    void this.close().catch(() => undefined);
  };

  /** Loads and attaches `spec`; on failure nothing stays loaded. */
  constructor(
    private readonly spec: PackageSpec,
    settings: SessionSettings,
  ) {
    settings.signal?.throwIfAborted();
    this.signal = settings.signal;
    this.eventQueue = new BoundedQueue(settings.queueLimit, 'session.events()');
    this.sampleQueue = new BoundedQueue(settings.queueLimit, 'session.samples()');
    this.polling = new PollLoop(systemClock, { flush: () => undefined, afterBurst: () => undefined, onError: (error) => this.fail(error) });
    // Decoders are built before anything is opened: a struct they refuse is a package error.
    const events = spec.exports.filter((e): e is EventExportSpec => e.kind === 'events').map((e) => ({ spec: e, decode: eventDecoder(spec.btf, e.columns) }));
    const samples = spec.exports
      .filter((e): e is SampleExportSpec => e.kind === 'sample')
      .map((e) => ({
        spec: e,
        key: recordDecoder(spec.btf, e.keyColumns, `key of map ${e.map.name}`),
        value: recordDecoder(spec.btf, e.valueColumns, `value of map ${e.map.name}`),
      }));
    this.object = PackageObject.open(spec, settings.images, { verbose: settings.verbose, warn: settings.warn, btfCustomPath: settings.btfCustomPath });
    try {
      this.object.checkHost();
      spec.warnings.forEach(settings.warn);
      this.object.loadAndAttach();
      for (const { spec: exported, decode } of events) this.startEvents(exported, decode);
      for (const { spec: exported, key, value } of samples) this.startSampling(exported, key, value);
    } catch (error) {
      this.closeNow();
      throw error;
    }
    process.once('exit', this.closeQuietly);
    settings.signal?.addEventListener('abort', this.closeQuietly, { once: true });
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
    return this.eventQueue as unknown as AsyncIterable<T>;
  }

  /** Each read of each sampled map (every `sample.interval` ms), until the session closes. One loop per session. */
  samples<Key = EventRecord, Value = EventRecord>(): AsyncIterable<Sample<Key, Value>> {
    if (!this.spec.exports.some((e) => e.kind === 'sample')) {
      throw new EcliError('USAGE', `package ${this.spec.objectName} has no sampled map`, {
        hint: this.spec.exports.length > 0 ? 'read its events with session.events()' : 'it only writes to the kernel trace pipe',
      });
    }
    return this.sampleQueue as unknown as AsyncIterable<Sample<Key, Value>>;
  }

  get stats(): Readonly<SessionStats> {
    return Object.freeze({ ...this.counts, dropped: this.eventQueue.dropped + this.sampleQueue.dropped });
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
      const failure = this.closeNow();
      if (failure === undefined) resolve();
      else reject(failure);
    });
    return this.closing;
  }

  private closeNow(): Error | undefined {
    process.removeListener('exit', this.closeQuietly);
    this.signal?.removeEventListener('abort', this.closeQuietly);
    this.samplers.forEach((cancel) => cancel());
    this.polling.close(!this.failed);
    const failure = this.object.close();
    this.eventQueue.end();
    this.sampleQueue.end();
    return failure;
  }

  private startEvents(exported: EventExportSpec, decode: (record: Uint8Array) => EventRecord): void {
    const onRecord = (data: Buffer, offset: number, length: number): void => {
      this.counts.received++;
      this.eventQueue.offer(() => {
        try {
          return decode(data.subarray(offset, offset + length));
        } catch (error) {
          this.countMalformed(error);
          return undefined;
        }
      });
    };
    const onLost = (count: number): void => {
      this.counts.lost += count;
    };
    this.polling.add(this.object.recordReader(exported.map.name, exported.transport)({ onRecord, onLost }));
  }

  private startSampling(exported: SampleExportSpec, key: (bytes: Uint8Array) => EventRecord, value: (bytes: Uint8Array) => EventRecord): void {
    const map = this.object.map(exported.map.name);
    const schedule = { interval: exported.sample.interval, clearMap: exported.sample.clear_map === true };
    let entries: Sample['entries'] = [];
    const read = { entries: () => map.entries(), clear: () => map.clear() };
    this.samplers.push(
      startSampler(
        read,
        (k, v) => ({ key: key(k), value: value(v) }),
        schedule,
        {
          writeLine: (entry) => entries.push(entry),
          flush: () => {
            const sample: Sample = { map: exported.map.name, type: exported.sample.type ?? 'default_kv', time: new Date(), entries };
            entries = [];
            this.sampleQueue.offer(() => sample);
          },
          countMalformed: (error) => this.countMalformed(error),
          afterSample: () => undefined,
          onError: (error) => this.fail(error),
        },
        systemClock,
      ),
    );
  }

  private countMalformed(error: unknown): void {
    if (!(error instanceof EcliError) || error.code !== 'RUNTIME') throw error;
    this.counts.malformed++;
  }

  /** Reading failed: the loops reject with the error, and everything is detached. */
  private fail(error: unknown): void {
    if (this.closing !== undefined) return;
    this.failed = true;
    this.eventQueue.fail(error);
    this.sampleQueue.fail(error);
    this.closeQuietly();
  }
}
