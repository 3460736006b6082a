/**
 * A bounded queue read by one `for await` loop. Pushing never blocks (the kernel side keeps
 * being drained): an item that finds the queue full is counted as dropped instead. Ending lets
 * the reader take what is queued, then finish; failing rejects the reader's next step.
 */
import { EcliError } from '../errors.js';

export class BoundedQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiting: { resolve: (step: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private taken = false;
  dropped = 0;

  constructor(
    private readonly capacity: number,
    /** Names the stream in the error of a second reader. */
    private readonly what: string,
  ) {}

  /**
   * Queues the item `make` returns (nothing when it returns undefined), unless the queue is
   * full or its reader left: then counts it as dropped without making it.
   */
  offer(make: () => T | undefined): boolean {
    if (this.ended) {
      this.dropped++;
      return false;
    }
    if (this.waiting !== undefined) {
      const value = make();
      if (value === undefined) return false;
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
      return true;
    }
    if (this.items.length - this.head >= this.capacity) {
      this.dropped++;
      return false;
    }
    const value = make();
    if (value === undefined) return false;
    this.items.push(value);
    return true;
  }

  /** No more items: the reader finishes once it has taken the queued ones. */
  end(): void {
    this.ended = true;
    this.settleWaiting();
  }

  /** The reader's next step rejects with `error` (queued items are given up). */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = { error };
    this.items.length = this.head = 0;
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
        this.items.length = this.head = 0;
        return { value: undefined, done: true };
      },
    };
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++]!;
      if (this.head === this.items.length) this.items.length = this.head = 0;
      return Promise.resolve({ value, done: false });
    }
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
