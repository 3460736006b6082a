/**
 * Line output with batching: lines are collected as UTF-8 in one buffer and written once per
 * flush, so a burst of events costs one write(2) instead of one per line (event formatters write
 * their bytes straight into that buffer, see lineBuffer()). When the destination cannot keep up
 * (a slow pipe), lines beyond a cap are dropped and counted rather than buffered without
 * bound, so the kernel side is never blocked silently.
 */
import type { Writable } from 'node:stream';
import { writeFailure, type EcliError } from '../errors.js';
import { TextBuffer } from '../format/text-buffer.js';

export interface LineSink {
  /** Queues one line (without its newline). */
  writeLine(line: string): void;
  /** Queues text exactly as given (used for multi-line histogram blocks). */
  writeText(text: string): void;
  /**
   * The buffer to write one more line into (with its newline), or undefined when that line has
   * to be dropped (counted in `dropped`) or the destination is gone.
   */
  lineBuffer(): TextBuffer | undefined;
  /** Writes what is queued. */
  flush(): void;
  /** Lines dropped because the destination was too slow. */
  readonly dropped: number;
  /** Lines queued or handed to the stream that the OS has not taken yet. */
  readonly unwritten: number;
  /**
   * Resolves with true when everything queued has been handed to the OS, or with false as soon
   * as `giveUp` settles first (a reader that stopped reading must not hold up the exit).
   */
  drain(giveUp?: Promise<unknown>): Promise<boolean>;
}

/** Upper bound of output held while the destination is not draining (bytes). */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export interface SinkEnd {
  /** The reader went away (EPIPE, e.g. `| head`): a clean end of the run. */
  closed(): void;
  /** Any other write error (ENOSPC, EIO, EBADF...): output is being lost, the run must fail. */
  failed(error: EcliError): void;
}

/** `end` hears once when the destination fails. */
export function createLineSink(stream: Writable & { writableLength?: number }, end: SinkEnd = { closed() {}, failed() {} }): LineSink {
  const buffer = new TextBuffer();
  // What may be queued before the next flush; the stream's own backlog is known after each write.
  let budget = MAX_PENDING_BYTES;
  let dropped = 0;
  let broken = false;
  // Lines in `buffer`, and lines in writes the stream has not completed.
  let queuedLines = 0;
  let inFlightLines = 0;
  let writtenLines = 0;
  let failedLines = 0;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (broken) return;
    broken = true;
    if (error.code === 'EPIPE') end.closed();
    else end.failed(writeFailure(error, writtenLines, failedLines + queuedLines + inFlightLines));
  });
  const room = (): boolean => {
    if (broken) return false;
    if (buffer.length > budget) {
      dropped++;
      return false;
    }
    return true;
  };
  return {
    writeLine(line) {
      if (!room()) return;
      buffer.string(line);
      buffer.byte(0x0a);
      queuedLines++;
    },
    writeText(text) {
      if (!room()) return;
      buffer.string(text);
      queuedLines += countNewlines(text);
    },
    lineBuffer() {
      if (!room()) return undefined;
      queuedLines++; // the caller writes exactly one line
      return buffer;
    },
    flush() {
      if (buffer.length === 0 || broken) return;
      const lines = queuedLines;
      queuedLines = 0;
      inFlightLines += lines;
      stream.write(buffer.view(), (error) => {
        inFlightLines -= lines;
        if (error) failedLines += lines;
        else writtenLines += lines;
      });
      const pending = stream.writableLength ?? 0;
      // Written through (files, and pipes with room, are written synchronously): reuse the memory.
      // Otherwise the stream holds on to those bytes until it can write them.
      if (pending === 0) buffer.clear();
      else buffer.detach();
      budget = MAX_PENDING_BYTES - pending;
    },
    get dropped() {
      return dropped;
    },
    get unwritten() {
      return broken ? 0 : queuedLines + inFlightLines;
    },
    drain(giveUp) {
      this.flush();
      if (broken || !stream.writableNeedDrain) return Promise.resolve(true);
      const drained = new Promise<boolean>((resolve) => stream.once('drain', () => resolve(true)));
      return giveUp === undefined ? drained : Promise.race([drained, giveUp.then(() => false)]);
    },
  };
}

function countNewlines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) count++;
  return count;
}
