/**
 * What `ecli run` does with a run's output: the engine's RunOutput that formats every export to
 * stdout (plain-text rows or JSON lines, histograms, trace pipe lines), through one batching
 * LineSink; the lost/malformed notices on stderr; the wait for a slow stdout at the end and the
 * exit summary.
 */
import type { Writable } from 'node:stream';
import type { EcliError } from '../errors.js';
import type { OutputSettings } from '../format/event.js';
import type { StackSymbolizer } from '../format/stack.js';
import { createIteratorTextFormatter, type IteratorTextFormatter } from '../format/iterator-text.js';
import { createTimeText } from '../format/time.js';
import type { EventExportSpec, ExportSpec, SampleExportSpec } from '../model/exports.js';
import type { IteratorSpec } from '../model/iterators.js';
import type { PackageSpec } from '../model/spec.js';
import { startupMark } from '../startup-mark.js';
import { escapeControls } from '../terminal.js';
import { nothingToCancel, type Cancel, type Clock } from './clock.js';
import { buildConsumers, type ConsumerSpec, type EventConsumerSpec, type SampleConsumerSpec } from './consumers.js';
import type { RunCounters } from './counters.js';
import { countUnitOf, type CountUnit, type Delivery, type EventSink, type IteratorPassSink, type RunOutput, type SampleSink } from './engine.js';
import { EventNotices } from './event-notices.js';
import { createLineSink, type LineSink } from './output.js';
import type { RunStop } from './stop.js';

/**
 * Watches stdout's reader, calling `onGone` as soon as it goes away (the pipe's read end is
 * closed) even when nothing is being written; returns what stops watching.
 */
export type OutputWatcher = (onGone: () => void) => Cancel;

export interface StdoutOutputOptions {
  stdout: Writable;
  /** One line on stderr (escaped by the caller). */
  notice: (message: string) => void;
  output: OutputSettings;
  /** Names stack-trace frames. */
  symbolizer?: StackSymbolizer;
  clock: Clock;
  /** The run's stop: stdout's end ends the run, a write error fails it. */
  stop: RunStop;
  /** The run's counters now (the engine's). */
  counters: () => RunCounters;
  watchOutput?: OutputWatcher;
  /** Iterator snapshots repeat (`--interval`): plain text puts a time line before each. */
  repeatedSnapshots?: boolean;
}

/** After a stop, how long stdout gets to take the output still queued (a second signal ends it at once). */
export const OUTPUT_GRACE_MS = 3000;

export class StdoutOutput implements RunOutput {
  private readonly lines: LineSink;
  private readonly notices: EventNotices;
  /** The formatter of each export, made when the engine asks for its sink. */
  private readonly consumers = new Map<ExportSpec, ConsumerSpec>();
  private readonly cancelWatch: Cancel;
  private readonly iteratorText: IteratorTextFormatter;
  private readonly snapshotTime: (() => string) | undefined;
  private snapshotStarted = false;
  private unwrittenAtEnd = 0;

  /** Builds the formatters of `spec`'s exports: one that refuses its columns is a package error, before anything is opened. */
  constructor(
    private readonly spec: PackageSpec,
    private readonly options: StdoutOutputOptions,
  ) {
    this.notices = new EventNotices(options.notice, options.clock, options.counters);
    this.lines = createLineSink(options.stdout, {
      closed: () => options.stop.end(),
      failed: (error) => options.stop.abort(error),
    });
    this.cancelWatch = options.watchOutput?.(() => options.stop.end()) ?? nothingToCancel;
    this.iteratorText = createIteratorTextFormatter({ format: options.output.format, time: options.output.time });
    const time = options.output.time ?? 'hms';
    this.snapshotTime = options.output.format === 'plain' && options.repeatedSnapshots === true && time !== 'none' ? createTimeText(time) : undefined;
  }

  iteratorPass(iterator: IteratorSpec): IteratorPassSink {
    if (!this.snapshotStarted && this.snapshotTime !== undefined) this.lines.writeLine(this.snapshotTime());
    this.snapshotStarted = true;
    const pass = this.iteratorText.pass(iterator.program);
    const write = (lines: string[]): void => lines.forEach((line) => this.lines.writeLine(line));
    return { chunk: (bytes) => write(pass.push(bytes)), end: () => write(pass.end()) };
  }

  snapshotEnd(): void {
    this.snapshotStarted = false;
    this.lines.endUnit('snapshots');
  }

  events(exported: EventExportSpec): EventSink {
    const consumer = this.consumer(exported) as EventConsumerSpec;
    const lines = this.lines;
    return (data, offset, length, context) => {
      const dropped = lines.dropped;
      const out = lines.lineBuffer();
      if (out === undefined) return lines.dropped > dropped ? 'dropped' : 'empty';
      const before = out.length;
      consumer.write(data, offset, length, out, context.container);
      if (out.length === before) return 'empty';
      lines.wrote();
      lines.endUnit('events');
      return 'delivered';
    };
  }

  samples(exported: SampleExportSpec): SampleSink {
    const consumer = this.consumer(exported) as SampleConsumerSpec;
    const lines = this.lines;
    return (read, malformed) => {
      const dropped = lines.dropped;
      const shown = consumer.arrange ? consumer.arrange([...read]) : read;
      const header = shown.length > 0 ? consumer.intervalHeader() : undefined;
      if (header !== undefined) lines.writeLine(header);
      for (const [key, value] of shown) {
        try {
          lines.writeLine(consumer.format(key, value, read.length));
        } catch (error) {
          malformed(error);
        }
      }
      // An interval that found the map empty printed nothing: the summary does not count it.
      if (shown.length > 0) lines.endUnit('intervals');
      return lines.dropped - dropped;
    };
  }

  traceLine(line: string): Delivery {
    const dropped = this.lines.dropped;
    // bpf_printk lines quote whatever the program read, other users' strings included.
    if (!this.lines.writeLine(escapeControls(line))) return this.lines.dropped > dropped ? 'dropped' : 'empty';
    this.lines.endUnit('lines');
    return 'delivered';
  }

  started(): void {
    let wrote = false;
    for (const exported of this.spec.exports) {
      const consumer = this.consumers.get(exported);
      if (consumer === undefined) continue;
      if (consumer.header === undefined) continue;
      this.lines.writeLine(consumer.header);
      wrote = true;
    }
    this.lines.flush();
    if (wrote) startupMark('header');
  }

  flush(): void {
    this.lines.flush();
  }

  private consumer(exported: ExportSpec): ConsumerSpec {
    const [built] = buildConsumers(this.spec.btf, [exported], this.options.output, this.options.symbolizer);
    this.consumers.set(exported, built!);
    return built!;
  }

  settled(): void {
    this.notices.report();
  }

  malformed(error: EcliError): void {
    this.notices.malformed(error);
  }

  warn(message: string): void {
    this.options.notice(message);
  }

  /** Stops watching stdout's reader and the notices' timer (after the engine stopped reading). */
  close(): void {
    this.cancelWatch();
    this.notices.close();
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
      cancelGrace = this.options.clock.after(OUTPUT_GRACE_MS, resolve);
    });
    const complete = await this.lines.drain(Promise.race([grace, forced]));
    cancelGrace();
    const unwritten = complete ? 0 : this.lines.unwritten;
    this.unwrittenAtEnd = unwritten;
    const dropped = this.options.counters().dropped + unwritten;
    if (dropped === 0) return;
    const stalled = unwritten > 0 ? ` (${unwritten} of them still waiting for stdout when ecli stopped)` : '';
    this.notice(`dropped ${dropped} ${plural(dropped, 'line')} because stdout could not keep up${stalled}`);
  }

  /**
   * The exit summary, complete after finish(): what reached stdout, in how long, and what did
   * not: `printed 12 events in 3.004 s; 0 lost, 0 malformed, 0 dropped`.
   */
  summary(elapsedMs: number): string {
    const written = this.lines.written;
    const texts: Record<CountUnit, string> = {
      events: `${written.events} ${plural(written.events, 'event')}`,
      intervals: `${written.intervals} ${plural(written.intervals, 'interval')}`,
      snapshots: `${written.snapshots} iterator ${plural(written.snapshots, 'snapshot')}`,
    };
    const printed = (['events', 'intervals', 'snapshots'] as const).filter((unit) => written[unit] > 0);
    // Nothing printed: say none of what the run counts.
    const what =
      written.lines > 0
        ? [`${written.lines} trace pipe ${plural(written.lines, 'line')}`]
        : (printed.length > 0 ? printed : [countUnitOf(this.spec)]).map((unit) => texts[unit]);
    const { lost, malformed, filtered, dropped } = this.options.counters();
    const left = filtered > 0 ? `${filtered} filtered, ` : '';
    return `printed ${what.join(' and ')} in ${(elapsedMs / 1000).toFixed(3)} s; ${lost} lost, ${malformed} malformed, ${left}${dropped + this.unwrittenAtEnd} dropped`;
  }

  private notice(message: string): void {
    this.options.notice(message);
  }
}

function plural(count: number, noun: string): string {
  return count === 1 ? noun : `${noun}s`;
}
