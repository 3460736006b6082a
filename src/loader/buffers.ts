/**
 * Readers for the two kernel → user event channels: perf buffers (BPF_MAP_TYPE_PERF_EVENT_ARRAY)
 * and ring buffers (BPF_MAP_TYPE_RINGBUF). poll() runs the callbacks synchronously on the
 * calling thread. A reader needs only a map's fd (and, for a ring buffer, its size) and holds no
 * shared state, so a Worker can own its own readers given map fds (fds are process-wide) and its
 * own `native()`. Tests hand in a fake Native whose "kernel memory" is a plain ArrayBuffer.
 *
 * A record is handed over as `length` bytes at `offset` in a Buffer, valid only during the
 * callback (the ring buffer's memory is handed back to the kernel, and unmapped on close):
 * copy what must be kept, e.g. `Buffer.from(data.subarray(offset, offset + length))` (a
 * Buffer's slice() is a view, not a copy).
 */
import { EcliError } from '../errors.js';
import { isPowerOfTwo } from '../model/meta-numbers.js';
import { EINTR, describeErrno } from './ffi/errno.js';
import { native } from './ffi/libbpf.js';
import type { Native, Pointer } from './ffi/native.js';

export interface EventMap {
  readonly fd: number;
  readonly name: string;
}

export interface PerfBufferOptions {
  /** Pages per CPU, a power of two; 64 by default. */
  pages?: number;
  onRecord(data: Buffer, offset: number, length: number, cpu: number): void;
  onLost?(cpu: number, count: number): void;
}

export interface RingBufferOptions {
  onRecord(data: Buffer, offset: number, length: number): void;
}

const DEFAULT_PAGES = 64;
const RECORD_BUFFER_SIZE = 64 * 1024;

/** Copies records out of libbpf's memory (valid only during its callback) into a reused buffer. */
class RecordCopier {
  buffer = Buffer.alloc(RECORD_BUFFER_SIZE);

  constructor(private readonly sys: Native) {}

  copy(data: Pointer, size: number): void {
    if (size > this.buffer.length) this.buffer = Buffer.alloc(size);
    if (size > 0) this.sys.copyInto(this.buffer, data, size);
  }
}

/** Reading through libbpf (perf buffers): callback registration, error relay, record counting, close. */
abstract class EventReader {
  protected readonly copier: RecordCopier;
  protected handled = 0;
  protected failure: { error: unknown } | undefined;
  private handle: Pointer | undefined;
  private callbacks: Pointer[] = [];

  protected constructor(
    protected readonly map: EventMap,
    private readonly kind: string,
    protected readonly sys: Native,
  ) {
    this.copier = new RecordCopier(sys);
  }

  protected start(callbacks: Pointer[], create: () => { ptr: Pointer | null; errno: number }): void {
    this.callbacks = callbacks;
    const created = create();
    if (created.ptr === null) {
      this.releaseCallbacks();
      throw new EcliError('RUNTIME', `cannot read ${this.kind} map ${this.map.name}: ${describeErrno(created.errno)}`);
    }
    this.handle = created.ptr;
  }

  /** Waits up to timeoutMs for records and handles them; returns how many were handled. */
  poll(timeoutMs: number): number {
    if (this.handle === undefined) throw new EcliError('INTERNAL', `${this.kind} reader for ${this.map.name} used after close()`);
    this.handled = 0;
    const result = this.pollNative(this.handle, timeoutMs);
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;
      throw error;
    }
    if (result < 0 && result !== -EINTR) {
      throw new EcliError('RUNTIME', `polling ${this.kind} map ${this.map.name} failed: ${describeErrno(result)}`);
    }
    return this.handled;
  }

  close(): void {
    if (this.handle === undefined) return;
    this.freeNative(this.handle);
    this.handle = undefined;
    this.releaseCallbacks();
  }

  protected abstract pollNative(handle: Pointer, timeoutMs: number): number;
  protected abstract freeNative(handle: Pointer): void;

  private releaseCallbacks(): void {
    const { unregisterCallback } = this.sys;
    this.callbacks.forEach((callback) => unregisterCallback(callback));
    this.callbacks = [];
  }
}

export class PerfBufferReader extends EventReader {
  constructor(map: EventMap, options: PerfBufferOptions, sys: Native = native()) {
    super(map, 'perf event array', sys);
    const pages = options.pages ?? DEFAULT_PAGES;
    if (!isPowerOfTwo(pages)) {
      throw new EcliError('INTERNAL', `perf buffer for map ${map.name}: ${pages} pages per CPU is not a power of two`);
    }
    const ffi = sys;
    const sample = ffi.registerPerfSampleCallback((_ctx, cpu, data, size) => {
      if (this.failure) return; // the rest of this poll's records are dropped with the error
      try {
        this.copier.copy(data, size);
        options.onRecord(this.copier.buffer, 0, size, cpu);
        this.handled++;
      } catch (error) {
        this.failure = { error };
      }
    });
    const onLost = options.onLost;
    const lost = onLost
      ? ffi.registerPerfLostCallback((_ctx, cpu, count) => {
          if (this.failure) return;
          try {
            onLost(cpu, Number(count));
          } catch (error) {
            this.failure = { error };
          }
        })
      : null;
    this.start(lost === null ? [sample] : [sample, lost], () => ffi.libbpf.perf_buffer__new(map.fd, pages, sample, lost, null, null));
  }

  protected pollNative(handle: Pointer, timeoutMs: number): number {
    return this.sys.libbpf.perf_buffer__poll(handle, timeoutMs);
  }

  protected freeNative(handle: Pointer): void {
    this.sys.libbpf.perf_buffer__free(handle);
  }
}

/** The map a ring buffer reader needs: its fd and its data size (max_entries, a power of two). */
export interface RingBufferMap extends EventMap {
  readonly maxEntries: number;
}

/** Ring buffer record header bits (linux/bpf.h): still being written, and dropped by the writer. */
const RINGBUF_BUSY_BIT = 0x80000000 | 0;
const RINGBUF_DISCARD_BIT = 0x40000000;
const RINGBUF_HEADER_SIZE = 8;
/** A poll hands back this many records at most, so that a backlog is drained in bounded steps. */
const MAX_RECORDS_PER_POLL = 4096;
/** The consumer position is published to the kernel at least this often (in records), freeing space. */
const PUBLISH_EVERY = 256;

/**
 * Reads a BPF ring buffer straight from its memory, as libbpf does but without a native
 * callback per record: the consumer page is mapped writable, the producer page and the data
 * pages read-only. libbpf maps the data twice in a row so that a record wrapping around the end
 * is contiguous; the kernel fills every mapped page at once, so that would count the whole ring
 * twice in our RSS. Here the data is mapped once and the rare wrapping record is copied.
 * `onRecord` gets a view into the shared memory, valid only during the call.
 */
export class RingBufferReader {
  private readonly consumerLength: number;
  private readonly producerLength: number;
  private consumerMemory: Pointer | undefined;
  private producerMemory: Pointer | undefined;
  private readonly consumerPos: BigUint64Array;
  private readonly producerPos: BigUint64Array;
  private readonly headers: Int32Array;
  private readonly data: Buffer;
  private readonly dataStart: number;
  private readonly size: number;
  /** Where a record that wraps around the end of the ring is put together. */
  private wrapped = Buffer.alloc(0);
  private consumed: number;

  constructor(
    private readonly map: RingBufferMap,
    private readonly options: RingBufferOptions,
    private readonly sys: Native = native(),
  ) {
    const ffi = sys;
    const page = ffi.pageSize;
    this.size = map.maxEntries;
    this.consumerLength = page;
    this.producerLength = page + this.size;
    const consumer = ffi.mapShared(map.fd, this.consumerLength, 0, true);
    if (consumer.ptr === null) throw this.mapError(consumer.errno);
    const producer = ffi.mapShared(map.fd, this.producerLength, page, false);
    if (producer.ptr === null) {
      ffi.unmap(consumer.ptr, this.consumerLength);
      throw this.mapError(producer.errno);
    }
    this.consumerMemory = consumer.ptr;
    this.producerMemory = producer.ptr;
    const producerView = ffi.view(producer.ptr, this.producerLength);
    this.consumerPos = new BigUint64Array(ffi.view(consumer.ptr, this.consumerLength), 0, 1);
    this.producerPos = new BigUint64Array(producerView, 0, 1);
    this.headers = new Int32Array(producerView);
    this.data = Buffer.from(producerView);
    this.dataStart = page;
    this.consumed = Number(Atomics.load(this.consumerPos, 0));
  }

  /**
   * Handles the records written so far (at most MAX_RECORDS_PER_POLL); when there are none,
   * first waits up to timeoutMs for one. Returns how many records were handled.
   */
  poll(timeoutMs: number): number {
    if (this.producerMemory === undefined) throw new EcliError('INTERNAL', `ring buffer reader for ${this.map.name} used after close()`);
    if (timeoutMs > 0 && this.consumed === Number(Atomics.load(this.producerPos, 0))) {
      const ready = this.sys.waitReadable(this.map.fd, timeoutMs);
      if (ready < 0 && ready !== -EINTR) {
        throw new EcliError('RUNTIME', `polling ring buffer map ${this.map.name} failed: ${describeErrno(ready)}`);
      }
    }
    const { headers, data, dataStart, size, options } = this;
    let consumed = this.consumed;
    let produced = Number(Atomics.load(this.producerPos, 0));
    let handled = 0;
    try {
      while (handled < MAX_RECORDS_PER_POLL) {
        if (consumed >= produced) {
          produced = Number(Atomics.load(this.producerPos, 0));
          if (consumed >= produced) break;
        }
        const at = dataStart + (consumed % size);
        const header = Atomics.load(headers, at >>> 2);
        if ((header & RINGBUF_BUSY_BIT) !== 0) break;
        const length = header & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
        consumed += (length + RINGBUF_HEADER_SIZE + 7) & ~7;
        if ((header & RINGBUF_DISCARD_BIT) !== 0) continue;
        const start = at + RINGBUF_HEADER_SIZE;
        const end = dataStart + size;
        // A record that throws is consumed all the same, as libbpf does; the error ends the poll.
        if (start + length <= end) options.onRecord(data, start, length);
        else options.onRecord(this.unwrap(start, length), 0, length);
        if (++handled % PUBLISH_EVERY === 0) this.publish(consumed);
      }
    } finally {
      this.publish(consumed);
    }
    return handled;
  }

  close(): void {
    if (this.producerMemory === undefined || this.consumerMemory === undefined) return;
    const ffi = this.sys;
    ffi.unmap(this.producerMemory, this.producerLength);
    ffi.unmap(this.consumerMemory, this.consumerLength);
    this.producerMemory = undefined;
    this.consumerMemory = undefined;
  }

  /** The record at `start` whose tail continues at the beginning of the data, in one piece. */
  private unwrap(start: number, length: number): Buffer {
    if (this.wrapped.length < length) this.wrapped = Buffer.alloc(length);
    const end = this.dataStart + this.size;
    const first = Math.max(0, end - start);
    this.data.copy(this.wrapped, 0, start, start + first);
    this.data.copy(this.wrapped, first, this.dataStart, this.dataStart + length - first);
    return this.wrapped;
  }

  private publish(consumed: number): void {
    if (consumed === this.consumed) return;
    this.consumed = consumed;
    Atomics.store(this.consumerPos, 0, BigInt(consumed));
  }

  private mapError(errno: number): EcliError {
    return new EcliError('RUNTIME', `cannot read ring buffer map ${this.map.name}: mmap failed: ${describeErrno(errno)}`);
  }
}
