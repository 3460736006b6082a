/**
 * A running package, for library users: the run engine with an output that decodes the records
 * of the event maps into objects and each read of a sampled map into a Sample, each into a
 * bounded queue read with `for await`. close() detaches everything; so do the run's AbortSignal,
 * the process's exit, and SIGINT, SIGTERM, SIGHUP or SIGQUIT when the process has no handler of
 * its own for them (loader/teardown.ts).
 */
import { EcliError } from '../errors.js';
import { closeOnProcessEnd } from '../loader/teardown.js';
import type { EventExportSpec, SampleExportSpec } from '../model/exports.js';
import type { PackageSpec } from '../model/spec.js';
import type { MapSampleMeta } from '../package/types.js';
import type { RunCounters } from '../runner/counters.js';
import { RunEngine, type EventSink, type RunKernel, type RunOutput, type RunSettings, type SampleSink } from '../runner/engine.js';
import { eventDecoder, lengthCheck, recordDecoder, type EventRecord } from './decode.js';
import { BoundedQueue, type QueueLimits } from './queue.js';
import type { ContainerInfo } from '../format/container.js';
import { asBuffer } from '../format/value.js';

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
  /** Records (and samples), and their bytes as read from the kernel, held for a slow reader. */
  queueLimits: QueueLimits;
  signal: AbortSignal | undefined;
  /** Non-fatal notices (libbpf warnings, package warnings). */
  warn: (message: string) => void;
  /** The kernel side; tests hand in a fake. */
  kernel?: RunKernel;
}

/**
 * The engine's output for the library: records go into the two queues as the bytes the kernel
 * gave (their length checked at once, so a malformed one is counted by the engine), and are
 * decoded as the reader takes them.
 */
class QueueOutput implements RunOutput {
  readonly eventQueue: BoundedQueue<EventRecord>;
  readonly sampleQueue: BoundedQueue<Sample>;
  /** The decoder of each event export, by the tag its records are queued with. */
  private readonly eventDecoders: Array<(record: Uint8Array) => EventRecord> = [];
  private readonly sampleDecoders: Array<(packed: Buffer) => Sample> = [];

  constructor(
    private readonly spec: PackageSpec,
    private readonly options: SessionOptions,
  ) {
    this.eventQueue = new BoundedQueue(options.queueLimits, 'session.events()', (tag, record) => this.eventDecoders[tag]!(record));
    this.sampleQueue = new BoundedQueue(options.queueLimits, 'session.samples()', (tag, packed) => this.sampleDecoders[tag]!(packed));
  }

  events(exported: EventExportSpec): EventSink {
    const check = lengthCheck(this.spec.btf, exported.columns, 'event');
    // The JSON of a record shows its container when it has one; records of host processes (and
    // of exports without enrichment) have none.
    const decode = eventDecoder(this.spec.btf, exported.columns, true);
    const tag = this.eventDecoders.push((record) => decode(record)) - 1;
    const withContainer = this.eventDecoders.push((packed) => unpackContainer(asBuffer(packed), decode)) - 1;
    const queue = this.eventQueue;
    return (data, offset, length, context) => {
      const record = data.subarray(offset, offset + length);
      check(record);
      const container = context.container;
      const queued = container === undefined ? queue.offer(tag, record) : queue.offer(withContainer, packContainer(record, container));
      return queued ? 'delivered' : 'dropped';
    };
  }

  samples(exported: SampleExportSpec): SampleSink {
    const what = (part: string) => `${part} of map ${exported.map.name}`;
    const checkKey = lengthCheck(this.spec.btf, exported.keyColumns, what('key'));
    const checkValue = lengthCheck(this.spec.btf, exported.valueColumns, what('value'));
    const key = recordDecoder(this.spec.btf, exported.keyColumns, what('key'));
    const value = recordDecoder(this.spec.btf, exported.valueColumns, what('value'));
    const tag = this.sampleDecoders.push((packed) => unpackSample(packed, exported, (k, v) => ({ key: key(k), value: value(v) }))) - 1;
    const queue = this.sampleQueue;
    return (read, malformed) => {
      const whole = read.filter(([k, v]) => {
        try {
          checkKey(k);
          checkValue(v);
          return true;
        } catch (error) {
          malformed(error);
          return false;
        }
      });
      return queue.offer(tag, packSample(Date.now(), whole)) ? 0 : 1;
    };
  }

  warn(message: string): void {
    this.options.warn(message);
  }
}

/** A record queued with its container: the record's bytes, the container's JSON, then that JSON's length (u32). */
function packContainer(record: Uint8Array, container: ContainerInfo): Buffer {
  const json = Buffer.from(JSON.stringify(container));
  const packed = Buffer.allocUnsafe(record.length + json.length + 4);
  packed.set(record, 0);
  json.copy(packed, record.length);
  packed.writeUInt32LE(json.length, record.length + json.length);
  return packed;
}

function unpackContainer(packed: Buffer, decode: (record: Uint8Array, container?: ContainerInfo) => EventRecord): EventRecord {
  const jsonLength = packed.readUInt32LE(packed.length - 4);
  const recordLength = packed.length - 4 - jsonLength;
  const container = JSON.parse(packed.toString('utf8', recordLength, recordLength + jsonLength)) as ContainerInfo;
  return decode(packed.subarray(0, recordLength), container);
}

/**
 * One read of a sampled map as one queued record: the time (f64 ms), the number of entries and
 * the key and value sizes (u32 each; every entry of a map has the same), then each entry's key
 * and value.
 */
const SAMPLE_HEADER = 20;

function packSample(time: number, entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Buffer {
  const keySize = entries[0]?.[0].length ?? 0;
  const valueSize = entries[0]?.[1].length ?? 0;
  const packed = Buffer.allocUnsafe(SAMPLE_HEADER + entries.length * (keySize + valueSize));
  packed.writeDoubleLE(time, 0);
  packed.writeUInt32LE(entries.length, 8);
  packed.writeUInt32LE(keySize, 12);
  packed.writeUInt32LE(valueSize, 16);
  let at = SAMPLE_HEADER;
  for (const [key, value] of entries) {
    packed.set(key.subarray(0, keySize), at);
    packed.set(value.subarray(0, valueSize), at + keySize);
    at += keySize + valueSize;
  }
  return packed;
}

function unpackSample(packed: Buffer, exported: SampleExportSpec, decode: (key: Uint8Array, value: Uint8Array) => Sample['entries'][number]): Sample {
  const count = packed.readUInt32LE(8);
  const keySize = packed.readUInt32LE(12);
  const valueSize = packed.readUInt32LE(16);
  const entries: Sample['entries'] = [];
  for (let i = 0, at = SAMPLE_HEADER; i < count; i++, at += keySize + valueSize) {
    entries.push(decode(packed.subarray(at, at + keySize), packed.subarray(at + keySize, at + keySize + valueSize)));
  }
  return { map: exported.map.name, type: exported.sample.type ?? 'default_kv', time: new Date(packed.readDoubleLE(0)), entries };
}

export class Session {
  private readonly output: QueueOutput;
  private readonly engine: RunEngine;
  private readonly signal: AbortSignal | undefined;
  private closing: Promise<void> | undefined;
  private readonly forgetProcessEnd: () => void;
  /** For the signal's abort and a failed run, where nobody could see a detach failure. */
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
    this.forgetProcessEnd = closeOnProcessEnd(() => {
      const failure = this.closeNow();
      if (failure !== undefined) throw failure;
    });
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
    this.closeNow();
    return this.closing!;
  }

  /** Closes now (idempotent); the detach failure of the first call. */
  private closeNow(): Error | undefined {
    if (this.closing !== undefined) return undefined;
    this.forgetProcessEnd();
    this.signal?.removeEventListener('abort', this.closeQuietly);
    const failure = this.engine.close();
    this.closing = failure === undefined ? Promise.resolve() : Promise.reject(failure);
    // Handled here too: a session closed by the process's end or a failure has no caller to tell.
    this.closing.catch(() => undefined);
    this.output.eventQueue.end();
    this.output.sampleQueue.end();
    return failure;
  }

  /** Reading failed: the loops reject with the error, and everything is detached. */
  private fail(error: unknown): void {
    if (this.closing !== undefined) return;
    this.output.eventQueue.fail(error);
    this.output.sampleQueue.fail(error);
    this.closeQuietly();
  }
}
