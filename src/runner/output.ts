/**
 * Line output with batching: lines are collected as UTF-8 in one buffer and written once per
 * flush, so a burst of events costs one write(2) instead of one per line (event formatters write
 * their bytes straight into that buffer, see lineBuffer()). When the destination cannot keep up
 * (a slow pipe), lines beyond a cap are dropped and counted rather than buffered without
 * bound, so the kernel side is never blocked silently. What the OS took is counted by unit (events,
 * intervals, trace lines, iterator snapshots) when the write that carried it completes: the exit summary says what
 * reached the descriptor, not what was formatted.
 */
import type { Writable } from 'node:stream';
import { writeFailure, type EcliError } from '../errors.js';
import { TextBuffer } from '../format/text-buffer.js';

/** What the output is made of, as the summary counts it. */
export type OutputUnit = 'events' | 'intervals' | 'lines' | 'snapshots';

export interface LineSink {
  /** Queues one line (without its newline); false when it was dropped, or the destination is gone. */
  writeLine(line: string): boolean;
  /**
   * The buffer to write one more line into (with its newline), or undefined when that line has
   * to be dropped (counted in `dropped`) or the destination is gone. Call wrote() once it holds the line.
   */
  lineBuffer(): TextBuffer | undefined;
  /** The caller wrote a line into lineBuffer(). */
  wrote(): void;
  /** One more unit of output ends here: counted as written once the OS takes what is queued now. */
  endUnit(unit: OutputUnit): void;
  /** Writes what is queued. */
  flush(): void;
  /** Lines dropped because the destination was too slow. */
  readonly dropped: number;
  /** Units of output the OS has taken. */
  readonly written: Readonly<Record<OutputUnit, number>>;
  /** Lines queued or handed to the stream that the OS has not taken yet. */
  readonly unwritten: number;
  /**
   * Resolves with true when everything queued has been handed to the OS (every write's callback
   * has run), or with false as soon as `giveUp` settles first (a reader that stopped reading must
   * not hold up the exit).
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

type UnitCounts = Record<OutputUnit, number>;

const noUnits = (): UnitCounts => ({ events: 0, intervals: 0, lines: 0, snapshots: 0 });

function addUnits(to: UnitCounts, from: Readonly<UnitCounts>): void {
  to.events += from.events;
  to.intervals += from.intervals;
  to.lines += from.lines;
  to.snapshots += from.snapshots;
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
  // Units ended since the last flush; the units of the newest write until it completes.
  let queuedUnits = noUnits();
  let lastWrite: { units: UnitCounts; done: boolean } | undefined;
  const written = noUnits();
  let pendingWrites = 0;
  let allWritten: (() => void) | undefined;
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
      if (!room()) return false;
      buffer.string(line);
      buffer.byte(0x0a);
      queuedLines++;
      return true;
    },
    lineBuffer() {
      return room() ? buffer : undefined;
    },
    wrote() {
      queuedLines++;
    },
    endUnit(unit) {
      queuedUnits[unit]++;
    },
    flush() {
      if (broken) return;
      if (buffer.length === 0) {
        // Units without bytes of their own (an empty interval) are written with what came before them.
        if (lastWrite !== undefined && !lastWrite.done) addUnits(lastWrite.units, queuedUnits);
        else addUnits(written, queuedUnits);
        queuedUnits = noUnits();
        return;
      }
      const lines = queuedLines;
      const chunk = { units: queuedUnits, done: false };
      queuedLines = 0;
      queuedUnits = noUnits();
      lastWrite = chunk;
      inFlightLines += lines;
      pendingWrites++;
      stream.write(buffer.view(), (error) => {
        chunk.done = true;
        inFlightLines -= lines;
        if (error) failedLines += lines;
        else {
          writtenLines += lines;
          addUnits(written, chunk.units);
        }
        if (--pendingWrites === 0) allWritten?.();
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
    get written() {
      return written;
    },
    get unwritten() {
      return broken ? 0 : queuedLines + inFlightLines;
    },
    drain(giveUp) {
      this.flush();
      if (broken || pendingWrites === 0) return Promise.resolve(true);
      // Until the last write's callback: only then are its units counted as written.
      const drained = new Promise<boolean>((resolve) => (allWritten = () => resolve(true)));
      return giveUp === undefined ? drained : Promise.race([drained, giveUp.then(() => false)]);
    },
  };
}
