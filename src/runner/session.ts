/**
 * The live part of a run: event readers, sampling timers and the trace pipe relay writing into
 * one line sink, with the lost/malformed notices and the stop logic. Readers and the clock come
 * from the caller, so all of it runs in tests without a kernel.
 */
import type { Writable } from 'node:stream';
import { escapeControls } from '../terminal.js';
import { nothingToCancel, systemClock, type Cancel, type Clock } from './clock.js';
import type { EventConsumerSpec, SampleConsumerSpec } from './consumers.js';
import type { EventTally } from './observer.js';
import { EventNotices } from './event-notices.js';
import { createLineSink, type LineSink } from './output.js';
import { PollLoop, type Poller } from './poll-loop.js';
import { startupMark } from '../startup-mark.js';
import { startSampler, type SampleSource } from './sampler.js';
import { RunStop } from './stop.js';
import { relayLines, type LineReaderOpener } from './trace-relay.js';

/** What a record reader calls back with; `onLost` only for perf buffers. */
export interface RecordHandlers {
  onRecord(data: Buffer, offset: number, length: number): void;
  onLost(count: number): void;
}

/** Creates the reader of one event map (a RingBufferReader or PerfBufferReader, or a fake). */
export type RecordReaderOpener = (handlers: RecordHandlers) => Poller;

/** `--count` and `--duration`: when a run stops by itself. */
export interface RunLimits {
  /** Stop once this many events were printed, or this many sampled intervals when `countOf` is `intervals`. */
  count?: number;
  /** What `count` counts: `events` unless the run prints only sampled maps. */
  countOf?: 'events' | 'intervals';
  /** Stop after this many milliseconds. */
  durationMs?: number;
}

/**
 * Watches stdout's reader, calling `onGone` as soon as it goes away (the pipe's read end is
 * closed) even when nothing is being written; returns what stops watching.
 */
export type OutputWatcher = (onGone: () => void) => Cancel;

export interface SessionOptions {
  stdout: Writable;
  notice: (message: string) => void;
  clock?: Clock;
  limits?: RunLimits;
  watchOutput?: OutputWatcher;
}

/** After a stop, how long stdout gets to take the output still queued (a second signal ends it at once). */
export const OUTPUT_GRACE_MS = 3000;

export class Session {
  private readonly sink: LineSink;
  private readonly clock: Clock;
  private readonly notice: (message: string) => void;
  private readonly notices: EventNotices;
  private readonly stop = new RunStop();
  private readonly polling: PollLoop;
  private readonly samplers: Cancel[] = [];
  private tracePipe: { close(): void } | undefined;
  private readonly limits: RunLimits;
  private readonly cancelWatch: Cancel;
  private printed = 0;
  private intervals = 0;
  private startedAt = 0;
  private stoppedAt: number | undefined;
  private droppedAtEnd = 0;

  constructor(options: SessionOptions) {
    this.clock = options.clock ?? systemClock;
    this.notice = options.notice;
    this.limits = options.limits ?? {};
    this.notices = new EventNotices(this.notice, this.clock);
    this.sink = createLineSink(options.stdout, {
      closed: () => this.stop.end(),
      failed: (error) => this.stop.abort(error),
    });
    this.cancelWatch = options.watchOutput?.(() => this.stop.end()) ?? nothingToCancel;
    this.polling = new PollLoop(this.clock, {
      flush: () => this.sink.flush(),
      afterBurst: () => this.notices.report(),
      onError: (error) => this.stop.abort(error),
    });
  }

  /** Prints the consumer's header, then polls its reader with the others; counts into `tally` what the export sees. */
  startEvents(consumer: EventConsumerSpec, openReader: RecordReaderOpener, tally?: EventTally): void {
    this.writeHeader(consumer.header);
    const counts = tally ?? { received: 0, lost: undefined, malformed: 0, dropped: 0 };
    const onRecord = (data: Buffer, offset: number, length: number): void => {
      counts.received++;
      // After --count, or once stdout's reader is gone, the rest is not printed.
      if (this.stop.hasEnded) return;
      const dropped = this.sink.dropped;
      const out = this.sink.lineBuffer();
      if (out === undefined) {
        counts.dropped += this.sink.dropped - dropped;
        return;
      }
      const before = out.length;
      try {
        consumer.write(data, offset, length, out);
        if (out.length > before) this.counted('events');
      } catch (error) {
        this.notices.countMalformed(error);
        counts.malformed++;
      }
    };
    const onLost = (count: number): void => {
      this.notices.addLost(count);
      counts.lost = (counts.lost ?? 0) + count;
    };
    this.polling.add(openReader({ onRecord, onLost }));
  }

  /** Prints the consumer's header, then samples `source` at once and every interval. */
  startSampling(consumer: SampleConsumerSpec, source: SampleSource): void {
    this.writeHeader(consumer.header);
    const schedule = { interval: consumer.sample.interval, clearMap: consumer.sample.clear_map === true };
    this.samplers.push(
      startSampler(
        source,
        consumer.format,
        schedule,
        {
          intervalHeader: () => consumer.intervalHeader(),
          ...(consumer.arrange ? { arrange: (entries) => consumer.arrange!(entries) } : {}),
          writeLine: (line) => this.sink.writeLine(line),
          flush: () => this.sink.flush(),
          countMalformed: (error) => this.notices.countMalformed(error),
          afterSample: () => {
            this.notices.report();
            this.counted('intervals');
          },
          onError: (error) => this.stop.abort(error),
        },
        this.clock,
      ),
    );
  }

  relayTracePipe(open: LineReaderOpener): void {
    this.tracePipe = relayLines(open, {
      // bpf_printk lines quote whatever the program read, other users' strings included.
      writeLine: (line) => this.sink.writeLine(escapeControls(line)),
      flush: () => this.sink.flush(),
      onError: (error) => this.stop.abort(error),
    });
  }

  /** Lost and malformed events so far. */
  get counts(): { lost: number; malformed: number; dropped: number } {
    return { ...this.notices.counts, dropped: this.sink.dropped };
  }

  /**
   * Resolves with exit status 0 on a stop signal, when stdout is closed, or when a limit
   * (`--count`, `--duration`) is reached; rejects when polling or sampling failed.
   */
  async runUntil(stopRequested: Promise<string>): Promise<number> {
    this.startedAt = this.clock.now();
    try {
      return await this.stop.wait(stopRequested, this.clock, this.limits.durationMs);
    } finally {
      this.stoppedAt = this.clock.now();
    }
  }

  /**
   * Stops timers and readers; drains what is already in the buffers first, unless the run failed
   * or ended by itself (`--count` reached, or nobody reads stdout any more).
   */
  close(): void {
    this.stoppedAt ??= this.clock.now();
    this.stop.close();
    this.cancelWatch();
    this.notices.close();
    this.samplers.forEach((cancel) => cancel());
    this.tracePipe?.close();
    this.polling.close(!this.stop.hasFailed && !this.stop.hasEnded);
  }

  /** The exit summary: `printed 12 events in 3.004 s; 0 lost, 0 malformed, 0 dropped`. Complete after finish(). */
  summary(): string {
    const what = [
      ...(this.printed > 0 || this.intervals === 0 ? [plural(this.printed, 'event')] : []),
      ...(this.intervals > 0 ? [plural(this.intervals, 'interval')] : []),
    ].join(' and ');
    const seconds = (((this.stoppedAt ?? this.clock.now()) - this.startedAt) / 1000).toFixed(3);
    const { lost, malformed } = this.notices.counts;
    return `printed ${what} in ${seconds} s; ${lost} lost, ${malformed} malformed, ${this.sink.dropped + this.droppedAtEnd} dropped`;
  }

  private counted(unit: 'events' | 'intervals'): void {
    if (unit === 'events') this.printed++;
    else this.intervals++;
    const { count, countOf = 'events' } = this.limits;
    if (count !== undefined && unit === countOf && (unit === 'events' ? this.printed : this.intervals) >= count) this.stop.end();
  }

  /**
   * Final notices, then waits for stdout to take what is queued: at most OUTPUT_GRACE_MS, and
   * not at all once `forced` settles (a second stop signal). What stdout did not take is
   * counted with the dropped lines.
   */
  async finish(forced: Promise<unknown> = new Promise(() => undefined)): Promise<void> {
    this.notices.flush();
    let cancelGrace: Cancel = nothingToCancel;
    const grace = new Promise<void>((resolve) => {
      cancelGrace = this.clock.after(OUTPUT_GRACE_MS, resolve);
    });
    const complete = await this.sink.drain(Promise.race([grace, forced]));
    cancelGrace();
    const unwritten = complete ? 0 : this.sink.unwritten;
    this.droppedAtEnd = unwritten;
    const dropped = this.sink.dropped + unwritten;
    if (dropped === 0) return;
    const stalled = unwritten > 0 ? ` (${unwritten} of them still waiting for stdout when ecli stopped)` : '';
    this.notice(`dropped ${dropped} lines because stdout could not keep up${stalled}`);
  }

  private writeHeader(header: string | undefined): void {
    if (header === undefined) return;
    this.sink.writeLine(header);
    this.sink.flush();
    startupMark('header');
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
