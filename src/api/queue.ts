/**
 * A bounded queue read by one `for await` loop. Pushing never blocks (the kernel side keeps
 * being drained): a record that finds the queue full, by count or by bytes, is counted as
 * dropped instead. Records are queued as the bytes they came as (copied out of buffers the
 * kernel reuses) and decoded when the reader takes them: the byte limit counts what the queue
 * really holds, and a dropped record costs no decoding. Ending lets the reader take what is
 * queued, then finish; failing rejects the reader's next step.
 */
import { EcliError } from '../errors.js';

export interface QueueLimits {
  /** Records held at most. */
  records: number;
  /** Bytes of records held at most (each record also counts its 8-byte frame). */
  bytes: number;
}

/** Turns a queued record back into an item; `tag` tells records of different sources apart. */
export type RecordDecoder<T> = (tag: number, record: Buffer) => T;

/** Frame of a queued record: its length and its tag, both u32. */
const FRAME_BYTES = 8;
/** Records are copied into chunks of this size (a larger record gets a chunk of its own). */
const CHUNK_BYTES = 64 * 1024;

/**
 * Framed records in a list of chunks, first in, first out. A chunk is freed once every record in
 * it was taken, so the memory held is the framed bytes plus at most two partly used chunks.
 */
class RecordFifo {
  private readonly chunks: Array<{ data: Buffer; used: number }> = [];
  /** Where the next record starts in the first chunk. */
  private readAt = 0;
  records = 0;
  /** Framed bytes of the queued records. */
  bytes = 0;

  push(tag: number, record: Uint8Array): void {
    const framed = FRAME_BYTES + record.length;
    let tail = this.chunks.at(-1);
    if (tail === undefined || tail.data.length - tail.used < framed) {
      tail = { data: Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, framed)), used: 0 };
      this.chunks.push(tail);
    }
    tail.data.writeUInt32LE(record.length, tail.used);
    tail.data.writeUInt32LE(tag, tail.used + 4);
    tail.data.set(record, tail.used + FRAME_BYTES);
    tail.used += framed;
    this.records++;
    this.bytes += framed;
  }

  /** The oldest record (a view valid until the next push or shift), or undefined when empty. */
  shift(): { tag: number; record: Buffer } | undefined {
    let head = this.chunks[0];
    if (head !== undefined && this.readAt >= head.used && this.chunks.length > 1) {
      this.chunks.shift();
      this.readAt = 0;
      head = this.chunks[0];
    }
    if (head === undefined || this.readAt >= head.used) return undefined;
    const length = head.data.readUInt32LE(this.readAt);
    const tag = head.data.readUInt32LE(this.readAt + 4);
    const start = this.readAt + FRAME_BYTES;
    this.readAt = start + length;
    this.records--;
    this.bytes -= FRAME_BYTES + length;
    if (this.records === 0) this.clear();
    return { tag, record: head.data.subarray(start, start + length) };
  }

  clear(): void {
    this.chunks.length = 0;
    this.readAt = 0;
    this.records = 0;
    this.bytes = 0;
  }
}

export class BoundedQueue<T> implements AsyncIterable<T> {
  private readonly fifo = new RecordFifo();
  private waiting: { resolve: (step: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private taken = false;
  dropped = 0;

  constructor(
    private readonly limits: QueueLimits,
    /** Names the stream in the error of a second reader. */
    private readonly what: string,
    private readonly decode: RecordDecoder<T>,
  ) {}

  /**
   * Hands the record to a waiting reader (decoded at once), or queues a copy of it, unless the
   * queue is full or its reader left: then counts it as dropped without decoding it. `record`
   * may be a view into a buffer that is reused once this returns.
   */
  offer(tag: number, record: Uint8Array): boolean {
    if (this.ended) {
      this.dropped++;
      return false;
    }
    if (this.waiting !== undefined) {
      const value = this.decode(tag, Buffer.from(record.buffer, record.byteOffset, record.byteLength));
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
      return true;
    }
    if (this.fifo.records >= this.limits.records || this.fifo.bytes + FRAME_BYTES + record.length > this.limits.bytes) {
      this.dropped++;
      return false;
    }
    this.fifo.push(tag, record);
    return true;
  }

  /** Records and framed bytes queued now. */
  get held(): { records: number; bytes: number } {
    return { records: this.fifo.records, bytes: this.fifo.bytes };
  }

  /** No more records: the reader finishes once it has taken the queued ones. */
  end(): void {
    this.ended = true;
    this.settleWaiting();
  }

  /** The reader's next step rejects with `error` (queued records are given up). */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = { error };
    this.fifo.clear();
    this.end();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.taken) {
      throw new EcliError('USAGE', `${this.what} can be iterated only once per session`, { hint: 'share the one iterator, or run the package again' });
    }
    this.taken = true;
    return {
      next: () => this.next(),
      // Leaving the loop early (break, throw) stops the stream; the session stays open.
      return: async () => {
        this.end();
        this.fifo.clear();
        return { value: undefined, done: true };
      },
    };
  }

  private next(): Promise<IteratorResult<T>> {
    const queued = this.fifo.shift();
    if (queued !== undefined) return Promise.resolve({ value: this.decode(queued.tag, queued.record), done: false });
    if (this.failure !== undefined) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  private settleWaiting(): void {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    this.waiting = undefined;
    if (this.failure === undefined) {
      waiting.resolve({ value: undefined, done: true });
      return;
    }
    const { error } = this.failure;
    this.failure = undefined;
    waiting.reject(error);
  }
}
