/**
 * The run engine: the one place a package spec becomes a running package, for `ecli run`, the
 * library's `pkg.run()` and `--metrics` alike.
 *
 *   RunEngine.start(spec, settings, output)
 *     open      the BPF object, with the program options written into its data sections
 *     check     privileges and tracefs, then the package's warnings
 *     load      maps created, CO-RE, the verifier
 *     attach    every program, with its meta
 *     read      a reader per exported ring buffer / perf event array, drained by one PollLoop;
 *               a sampler per sampled map; or the trace pipe relay for a package without exports
 *   engine.wait(stopRequested)   until a stop signal, a limit (--count, --duration), the output's
 *               end (its reader went away) or a failure
 *   engine.close()               readers drained and closed, timers stopped, observers detached,
 *               everything detached: returns what could not be detached
 *
 * What is done with the records is the RunOutput's business: the CLI formats them to stdout
 * (runner/print.ts), the library decodes them into bounded queues (api/session.ts). Observers
 * (the Prometheus metrics) watch the same run beside the output. Plug-in points for what comes
 * next are listed in docs/architecture.md; each has one place here.
 */
import { EcliError } from '../errors.js';
import type { MapEntry } from '../format/sample-order.js';
import type { EventExportSpec, SampleExportSpec } from '../model/exports.js';
import type { IteratorSpec } from '../model/iterators.js';
import type { PackageSpec } from '../model/spec.js';
import { startupMark } from '../startup-mark.js';
import { TracePipeReader } from '../loader/trace-pipe.js';
import { systemClock, type Cancel, type Clock } from './clock.js';
import { totalOf, zeroCounters, type RunCounters } from './counters.js';
import type { RunObserver, SampledMapWatch } from './observer.js';
import { OpenedPackage } from './package-object.js';
import { PollLoop, type Poller } from './poll-loop.js';
import type { SectionImage } from './prepare.js';
import { startSampler, type SampleSource, type Sampler } from './sampler.js';
import { NO_CONTEXT, StagedRecords, type EventStages, type RecordContext, type SampleStages, type StageFactory } from './stages.js';
import { RunStop } from './stop.js';
import type { LineReaderOpener } from './trace-relay.js';

/** How the object is loaded: the part of the run settings the loader sees. */
export interface LoadSettings {
  /** The initial images of the settable data sections, with the program's options written in (runner/prepare.ts). */
  images: readonly SectionImage[];
  /** libbpf's own messages on stderr, and full verifier logs in errors. */
  verbose: boolean;
  /** The BTF for CO-RE when it is not the kernel's own (BTF_FILE_PATH, a tarball's btfhub file). */
  btfCustomPath: string | undefined;
}

/** `--count` and `--duration`: when a run stops by itself. */
export interface RunLimits {
  /** Stop once this many events were delivered, or this many sampled intervals when the package only has sampled maps. */
  count?: number;
  /** Stop after this many milliseconds. */
  durationMs?: number;
}

/**
 * Everything that decides how a package runs, whoever starts it: `ecli run`'s flags and
 * `pkg.run()`'s options are both turned into this, and nothing else reaches the engine.
 */
export interface RunSettings extends LoadSettings {
  limits: RunLimits;
  /** Iterators: a pass every this many ms (`--interval`); without it, one pass after attaching. */
  iteratorIntervalMs?: number | undefined;
  /** Relay the kernel's trace pipe (bpf_printk output) when the package exports nothing. */
  tracePipe: boolean;
  /**
   * Read the sampled maps once more when a stop signal or `--duration` ends the run: the partial
   * last interval, as runqlat prints it on Ctrl-C (`ecli run`; the library ends with the last
   * full interval). Not after `--count`, a failure, or when the output's reader went away.
   */
  lastIntervalOnStop?: boolean;
  /** Enrichment and filters per export (runner/stages.ts); none by default. */
  stages?: StageFactory;
}

/** What became of one record handed to a sink. */
export type Delivery = 'delivered' | 'dropped' | 'empty';

/**
 * The consumer of one event export: takes the `length` bytes at `offset` in `data` (valid only
 * during the call) and what the export's stages found about it. Throws EcliError('RUNTIME') for
 * a record too short for its struct, before delivering anything: the engine counts it as
 * malformed and goes on.
 */
export type EventSink = (data: Buffer, offset: number, length: number, context: RecordContext) => Delivery;

/**
 * The consumer of one sampled map: takes one interval's entries, reports each entry it could
 * not decode to `malformed`, and returns how many items it had to drop.
 */
export type SampleSink = (entries: readonly MapEntry[], malformed: (error: unknown) => void) => number;

/** One pass of an iterator: its text in chunks as they are read, then its end. */
export interface IteratorPassSink {
  chunk(bytes: Uint8Array): void;
  end(): void;
}

/** Where a run's output goes: the CLI's stdout, the library's queues. */
export interface RunOutput {
  /** A pass of an iterator program begins (every iterator in the package's order makes one snapshot). */
  iteratorPass?(iterator: IteratorSpec): IteratorPassSink;
  /** Every iterator made its pass: one snapshot is complete. */
  snapshotEnd?(): void;
  /** The sink of an event export; made before anything is opened, so a formatter or decoder that refuses its columns is a package error. */
  events(exported: EventExportSpec): EventSink;
  /** The sink of a sampled map; made before anything is opened. */
  samples(exported: SampleExportSpec): SampleSink;
  /** One line of the kernel's trace pipe (untrusted text), when the run relays it. */
  traceLine?(line: string): Delivery;
  /** Everything is attached and being read: the first output may go out (headers). */
  started?(): void;
  /** After each round of polls, each interval and each trace line: write what was produced. */
  flush?(): void;
  /** After each burst of polls and each interval: rate-limited notices go out here. */
  settled?(): void;
  /** Events the kernel lost (a full perf buffer). */
  lost?(count: number): void;
  /** A record or map entry that was too short for its struct (already counted). */
  malformed?(error: EcliError): void;
  /** Warnings of libbpf, the loader and the package: not errors. */
  warn(message: string): void;
}

/** What a record reader calls back with; `onLost` only for perf buffers. */
export interface RecordHandlers {
  onRecord(data: Buffer, offset: number, length: number): void;
  onLost(count: number): void;
}

/** Creates the reader of one event map (a RingBufferReader or PerfBufferReader, or a fake). */
export type RecordReaderOpener = (handlers: RecordHandlers) => Poller;

/** An opened object of a package (OpenedPackage), or a fake one in tests. */
export interface OpenedRunObject {
  checkHost(): void;
  /** Loads it; when that fails, nothing stays open. */
  load(): LoadedRunObject;
  close(): void;
}

/** A loaded object of a package (LoadedPackage), or a fake one in tests. */
export interface LoadedRunObject {
  attachAll(): void;
  /** One pass of an attached iterator program, its text handed to `onChunk` as it is read. */
  readIterator(program: string, onChunk: (bytes: Uint8Array) => void): void;
  recordReader(exported: EventExportSpec): RecordReaderOpener;
  sampleSource(mapName: string): SampleSource;
  /** Detaches everything; returns what could not be detached. Idempotent. */
  close(): Error | undefined;
}

/** The kernel side of a run: how the engine opens the object and the trace pipe. Tests hand in fakes. */
export interface RunKernel {
  open(spec: PackageSpec, settings: LoadSettings, warn: (message: string) => void): OpenedRunObject;
  openTracePipe: LineReaderOpener;
}

/** The system's libbpf and tracefs. */
export const systemKernel: RunKernel = {
  open: (spec, settings, warn) => OpenedPackage.open(spec, settings, warn),
  openTracePipe: (handlers) => TracePipeReader.open(handlers),
};

export interface EngineOptions {
  /** Watches the exports beside the output (`--metrics`). */
  observer?: RunObserver;
  clock?: Clock;
  /** The run's stop, when the caller has to end or fail it too (the CLI's stdout does). */
  stop?: RunStop;
  /** Default: systemKernel. */
  kernel?: RunKernel;
}

export class RunEngine {
  private readonly clock: Clock;
  private readonly stop: RunStop;
  private readonly polling: PollLoop;
  private readonly samplers: Sampler[] = [];
  private iteratorTimer: Cancel | undefined;
  private readonly staged: StagedRecords[] = [];
  /** The counters of each export (and of the trace pipe relay). */
  private readonly sources: RunCounters[] = [];
  private tracePipe: { close(): void } | undefined;
  private object: LoadedRunObject | undefined;
  private countOf: CountUnit = 'events';
  private delivered = 0;
  private intervals = 0;
  private snapshots = 0;
  private closed = false;
  private detachFailure: Error | undefined;
  private startedAt = 0;
  private stoppedAt: number | undefined;

  private constructor(
    private readonly spec: PackageSpec,
    private readonly settings: RunSettings,
    private readonly output: RunOutput,
    private readonly options: EngineOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.stop = options.stop ?? new RunStop();
    this.polling = new PollLoop(this.clock, {
      flush: () => output.flush?.(),
      afterBurst: () => output.settled?.(),
      onError: (error) => this.stop.abort(error),
    });
  }

  /**
   * Opens, loads and attaches `spec` and starts reading its exports into `output`. When any step
   * fails, everything done so far is undone before the error is thrown.
   */
  static start(spec: PackageSpec, settings: RunSettings, output: RunOutput, options: EngineOptions = {}): RunEngine {
    const engine = new RunEngine(spec, settings, output, options);
    engine.begin(options.kernel ?? systemKernel);
    return engine;
  }

  /** The run's counters so far, over every export. */
  get counters(): RunCounters {
    return totalOf(this.sources);
  }

  /** How long the run ran (until now, while it runs), in ms. */
  get elapsedMs(): number {
    return (this.stoppedAt ?? this.clock.now()) - this.startedAt;
  }

  /** True once the run ended by itself (`--count` reached, the output's reader gone, a package of iterators alone after its snapshot). */
  get hasEnded(): boolean {
    return this.stop.hasEnded;
  }

  /**
   * Resolves with exit status 0 on `stopRequested`, when a limit is reached or the output ended
   * the run; rejects when reading failed. Unless `keepAlive` is false, the process stays alive
   * meanwhile even when nothing is read (a package with nothing to poll must still be detached).
   */
  async wait(stopRequested: Promise<unknown>, options: { keepAlive?: boolean } = {}): Promise<number> {
    try {
      return await this.stop.wait(stopRequested, this.clock, { keepAlive: options.keepAlive ?? true, ...this.settings.limits });
    } finally {
      this.stoppedAt = this.clock.now();
    }
  }

  /**
   * Stops the timers and readers (draining what the buffers hold first, unless the run failed or
   * ended by itself), tells the observers, and detaches everything. Returns what could not be
   * detached; idempotent.
   */
  close(): Error | undefined {
    if (this.closed) return this.detachFailure;
    this.closed = true;
    this.stoppedAt ??= this.clock.now();
    const lastRead = this.settings.lastIntervalOnStop === true && !this.stop.hasFailed && !this.stop.hasEnded;
    this.stop.close();
    this.samplers.forEach((sampler) => sampler.stop(lastRead));
    this.iteratorTimer?.();
    this.tracePipe?.close();
    this.polling.close(!this.stop.hasFailed && !this.stop.hasEnded);
    // Records still waiting for their enrichment go out with what is known of them.
    this.staged.forEach((records) => records.close());
    this.output.flush?.();
    this.options.observer?.detach();
    this.detachFailure = this.object?.close();
    return this.detachFailure;
  }

  private begin(kernel: RunKernel): void {
    const { spec, settings, output } = this;
    this.countOf = checkedCountOf(settings.limits, spec);
    if (settings.iteratorIntervalMs !== undefined && spec.iterators.length === 0) {
      throw new EcliError('USAGE', `--interval: package ${spec.objectName} has no iterator (iter/...) program to repeat`, {
        hint: 'sampled maps are read at the interval of their @sample; leave --interval out',
      });
    }
    // Sinks and observers first: a formatter, decoder or metric that refuses its export is a
    // package error, before anything is opened.
    // One case per kind of export (model/exports.ts): a new kind (iterators) does not compile
    // until it has its sink (RunOutput), its reader (LoadedRunObject) and its driver here.
    const readers = spec.exports.map((exported): (() => void) => {
      const stages = settings.stages?.(exported);
      switch (exported.kind) {
        case 'events': {
          const sink = output.events(exported);
          const counters = this.observeEvents(exported);
          return () => this.readEvents(exported, sink, counters, stages);
        }
        case 'sample': {
          const sink = output.samples(exported);
          const watch = this.observeSamples(exported);
          return () => this.sample(exported, sink, watch, stages);
        }
        default:
          return unknownExport(exported);
      }
    });
    startupMark('decoded');

    let opened: OpenedRunObject | undefined;
    try {
      opened = kernel.open(spec, settings, (message) => output.warn(message));
      startupMark('opened');
      opened.checkHost();
      spec.warnings.forEach((warning) => output.warn(warning));
      startupMark('checked');
      this.object = opened.load();
    } catch (error) {
      opened?.close();
      this.options.observer?.detach();
      throw error;
    }
    try {
      this.object.attachAll();
      this.startedAt = this.clock.now();
      // Readers before the output starts, so that every event after the first line is seen.
      readers.forEach((start) => start());
      if (spec.exports.length === 0 && spec.iterators.length === 0 && settings.tracePipe) this.relayTracePipe(kernel.openTracePipe);
      output.started?.();
      if (spec.iterators.length > 0) this.iterate();
    } catch (error) {
      this.stop.abort(error);
      const failure = this.close();
      if (failure !== undefined) output.warn(`error: ${failure.message}`);
      throw error;
    }
  }

  private observeEvents(exported: EventExportSpec): RunCounters {
    const counters = this.newCounters();
    this.options.observer?.events(exported, counters);
    return counters;
  }

  private newCounters(): RunCounters {
    const counters = zeroCounters();
    this.sources.push(counters);
    return counters;
  }

  private observeSamples(exported: SampleExportSpec): SampledMapWatch | undefined {
    const map = this.spec.maps.find((m) => m.name === exported.map.name);
    if (map === undefined) throw new EcliError('INTERNAL', `export ${exported.map.name} is not among the package's maps`);
    return this.options.observer?.sampled({
      btf: this.spec.btf,
      mapName: exported.map.name,
      sample: exported.sample,
      keyTypeId: map.btfKeyTypeId,
      valueTypeId: map.btfValueTypeId,
      key: exported.keyColumns,
      value: exported.valueColumns,
    });
  }

  private readEvents(exported: EventExportSpec, sink: EventSink, counters: RunCounters, stages: EventStages | undefined): void {
    const { stop, output } = this;
    const onRecord =
      stages?.enrich !== undefined || stages?.keep !== undefined
        ? this.stagedRecords(exported, sink, counters, stages)
        : (data: Buffer, offset: number, length: number): void => {
            counters.received++;
            // After --count, or once the output's reader is gone, the rest is not delivered.
            if (stop.hasEnded) return;
            let delivery: Delivery;
            try {
              delivery = sink(data, offset, length, NO_CONTEXT);
            } catch (error) {
              this.countMalformed(counters, error);
              return;
            }
            if (delivery === 'delivered') this.counted('events');
            else if (delivery === 'dropped') counters.dropped++;
          };
    const onLost = (count: number): void => {
      counters.lost += count;
      output.lost?.(count);
    };
    this.polling.add(this.object!.recordReader(exported)({ onRecord, onLost }));
  }

  /** The records of an export with stages: enriched (perhaps later, in order), filtered, then handed to the sink. */
  private stagedRecords(exported: EventExportSpec, sink: EventSink, counters: RunCounters, stages: EventStages): RecordHandlers['onRecord'] {
    const { stop, output } = this;
    const observer = stages.enrich === undefined ? undefined : this.options.observer;
    const records = new StagedRecords(stages, {
      deliver: (data, offset, length, context) => {
        if (stop.hasEnded) return 'empty';
        const delivery = sink(data, offset, length, context);
        if (delivery === 'delivered') observer?.enriched?.(exported, context);
        return delivery;
      },
      settled: (outcome) => {
        if (outcome === 'delivered') this.counted('events');
        else if (outcome === 'dropped') counters.dropped++;
        else if (outcome === 'filtered') counters.filtered++;
        else if (typeof outcome === 'object') {
          try {
            this.countMalformed(counters, outcome.error);
          } catch (error) {
            stop.abort(error);
          }
        }
      },
      flush: () => output.flush?.(),
    });
    this.staged.push(records);
    return (data, offset, length) => {
      counters.received++;
      if (!stop.hasEnded) records.offer(data, offset, length);
    };
  }

  private sample(exported: SampleExportSpec, sink: SampleSink, watch: SampledMapWatch | undefined, stages: SampleStages | undefined): void {
    const map = this.object!.sampleSource(exported.map.name);
    const counters = this.newCounters();
    const schedule = { interval: exported.sample.interval, clearMap: exported.sample.clear_map === true };
    const keepEntry = stages?.keepEntry;
    const interval = (entries: MapEntry[]): void => {
      watch?.intervalRead(entries);
      const kept = keepEntry === undefined ? entries : entries.filter((entry) => keepEntry(entry));
      counters.filtered += entries.length - kept.length;
      counters.dropped += sink(kept, (error) => this.countMalformed(counters, error));
      this.output.flush?.();
      this.output.settled?.();
      this.counted('intervals');
    };
    this.samplers.push(startSampler(map, schedule, { interval, onError: (error) => this.stop.abort(error) }, this.clock));
  }

  /**
   * A snapshot of every iterator now and, with an interval, every interval after; without one
   * (and nothing else to read), the run ends after the first.
   */
  private iterate(): void {
    const snapshot = (): void => {
      if (this.stop.hasEnded) return;
      try {
        for (const iterator of this.spec.iterators) {
          const pass = this.output.iteratorPass?.(iterator);
          this.object!.readIterator(iterator.program, (bytes) => pass?.chunk(bytes));
          pass?.end();
        }
        this.output.snapshotEnd?.();
        this.output.flush?.();
        this.counted('snapshots');
      } catch (error) {
        this.stop.abort(error);
      }
    };
    snapshot();
    const interval = this.settings.iteratorIntervalMs;
    if (interval !== undefined) this.iteratorTimer = this.clock.every(interval, snapshot);
    else if (this.spec.exports.length === 0) this.stop.end();
  }

  private relayTracePipe(open: LineReaderOpener): void {
    const counters = this.newCounters();
    this.tracePipe = open({
      onLine: (line) => {
        if (this.output.traceLine?.(line) === 'dropped') counters.dropped++;
        this.output.flush?.();
      },
      onError: (error) => this.stop.abort(error),
    });
  }

  /** A RUNTIME error of a decoder is a malformed record, counted; anything else fails the run. */
  private countMalformed(counters: RunCounters, error: unknown): void {
    if (!(error instanceof EcliError) || error.code !== 'RUNTIME') throw error;
    counters.malformed++;
    this.output.malformed?.(error);
  }

  private counted(unit: CountUnit): void {
    const total = unit === 'events' ? ++this.delivered : unit === 'intervals' ? ++this.intervals : ++this.snapshots;
    const { count } = this.settings.limits;
    if (count !== undefined && unit === this.countOf && total >= count) this.stop.end();
  }
}

function unknownExport(exported: never): never {
  throw new EcliError('INTERNAL', `the run engine has no driver for export ${JSON.stringify(exported)}`);
}

/** What a run counts: delivered events, sampled-map intervals or iterator snapshots. */
export type CountUnit = 'events' | 'intervals' | 'snapshots';

/**
 * What a run of `spec` counts, for `--count` and the exit summary: iterator snapshots when it
 * only has iterators, intervals when it only exports sampled maps, else events.
 */
export function countUnitOf(spec: PackageSpec): CountUnit {
  if (spec.exports.length === 0) return spec.iterators.length > 0 ? 'snapshots' : 'events';
  return spec.exports.every((e) => e.kind === 'sample') ? 'intervals' : 'events';
}

/** The unit `--count` counts (countUnitOf); a count is refused for a package that exports nothing to count. */
function checkedCountOf(limits: RunLimits, spec: PackageSpec): CountUnit {
  if (limits.count !== undefined && spec.exports.length === 0 && spec.iterators.length === 0) {
    throw new EcliError('USAGE', `--count ${limits.count}: package ${spec.objectName} exports no map, so there is nothing to count`, {
      hint: 'use --duration to stop it after a time',
    });
  }
  return countUnitOf(spec);
}
