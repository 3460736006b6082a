/**
 * Line output with batching: lines are collected and written once per flush, so a burst of
 * events costs one write(2) instead of one per line. When the destination cannot keep up
 * (a slow pipe), lines beyond a cap are dropped and counted rather than buffered without
 * bound, so the kernel side is never blocked silently.
 */
import type { Writable } from 'node:stream';

export interface LineSink {
  /** Queues one line (without its newline). */
  writeLine(line: string): void;
  /** Queues text exactly as given (used for multi-line histogram blocks). */
  writeText(text: string): void;
  /** Writes what is queued. */
  flush(): void;
  /** Lines dropped because the destination was too slow. */
  readonly dropped: number;
  /** Resolves when everything queued has been handed to the OS. */
  drain(): Promise<void>;
}

/** Upper bound of text held while the destination is not draining (bytes). */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export function createLineSink(stream: Writable & { writableLength?: number }): LineSink {
  let parts: string[] = [];
  let queuedBytes = 0;
  let dropped = 0;
  let broken = false;
  stream.on('error', () => {
    // EPIPE (reader went away, e.g. `| head`): stop writing; the runner keeps shutting down normally.
    broken = true;
  });
  const queue = (text: string): boolean => {
    if (broken) return false;
    if (queuedBytes + (stream.writableLength ?? 0) > MAX_PENDING_BYTES) {
      dropped++;
      return false;
    }
    parts.push(text);
    queuedBytes += text.length;
    return true;
  };
  return {
    writeLine(line) {
      queue(line + '\n');
    },
    writeText(text) {
      queue(text);
    },
    flush() {
      if (parts.length === 0 || broken) return;
      const text = parts.length === 1 ? parts[0]! : parts.join('');
      parts = [];
      queuedBytes = 0;
      stream.write(text);
    },
    get dropped() {
      return dropped;
    },
    drain() {
      this.flush();
      if (broken || !stream.writableNeedDrain) return Promise.resolve();
      return new Promise((resolve) => stream.once('drain', () => resolve()));
    },
  };
}
