/**
 * Runs a package: prepare (pure) → open, set data sections, check exports against the object →
 * load, attach → consume exports until a stop signal → detach everything. Whatever happens
 * after the object is opened, it is closed before this function returns or throws, so nothing
 * stays attached.
 */
import type { Writable } from 'node:stream';
import { EcliError } from '../errors.js';
import type { OutputFormat } from '../format/event.js';
import { PerfBufferReader, RingBufferReader } from '../loader/buffers.js';
import { BpfObject, type AttachMeta, type BpfMap, type BpfProgram } from '../loader/object.js';
import { checkPrivileges, ensureTracefs } from '../loader/probe.js';
import { TracePipeReader } from '../loader/trace-pipe.js';
import type { ComposedPackage } from '../package/types.js';
import { buildConsumers, type ConsumerSpec, type EventConsumerSpec, type SampleConsumerSpec } from './consumers.js';
import { createLineSink, type LineSink } from './output.js';
import { prepareRun } from './prepare.js';
import { selectExports, type MapTransport } from './select-exports.js';

export interface RunOptions {
  format: OutputFormat;
  /** libbpf's own messages on stderr, and full verifier logs in errors. */
  verbose: boolean;
  /** Relay the kernel's trace_pipe (bpf_printk output) to stdout. */
  tracePipe: boolean;
  btfCustomPath: string | undefined;
  stdout: Writable;
  stderr: Writable;
  /** Resolves (with the signal's name) when the run should stop. */
  stopRequested: Promise<string>;
}

export interface RunnablePackage {
  source: string;
  pkg: ComposedPackage;
  elf: Uint8Array;
}

/** How often buffers are drained when idle. A busy buffer is drained again at once. */
const POLL_INTERVAL_MS = 10;
/** Longest stretch of back-to-back polls before the event loop (signals, timers) gets a turn. */
const POLL_BURST_MS = 50;
/** At stop, what is still in the buffers is drained for at most this long. */
const CLOSE_DRAIN_MS = 2000;
/** Loss and malformed-event notices are rate-limited to one per this period. */
const NOTICE_INTERVAL_MS = 1000;

export async function runPackage(input: RunnablePackage, programArgs: readonly string[], options: RunOptions): Promise<number> {
  const prepared = prepareRun(input.pkg, input.elf, input.source, programArgs);
  if (prepared.kind === 'print') {
    options.stdout.write(prepared.text);
    return 0;
  }
  const { meta } = input.pkg;
  const verbose = options.verbose || prepared.verbose;

  const notice = (message: string): void => {
    options.stderr.write(`ecli: ${message}\n`);
  };
  const object = BpfObject.open(input.elf, {
    objectName: meta.bpf_skel.obj_name,
    verbose,
    warn: notice,
    ...(options.btfCustomPath === undefined ? {} : { btfCustomPath: options.btfCustomPath }),
  });
  const session = new Session(options.stdout, notice);
  try {
    for (const { mapName, image } of prepared.images) object.setInitialValue(requireMap(object, mapName, input.source), image);
    const programs = meta.bpf_skel.progs.map((prog) => ({ program: requireProgram(object, prog.name, input.source), meta: prog as AttachMeta }));
    // Map types and BTF ids are known once the object is opened: a package whose meta disagrees
    // with its object is refused here, before it needs privileges or touches the kernel.
    const selection = selectExports(meta, (name) => transportOf(object.findMap(name)));
    const built = buildConsumers(prepared.btf, meta, selection.exports, (name) => requireMap(object, name, input.source), options.format);
    checkPrivileges();
    ensureTracefs();
    selection.warnings.forEach(notice);
    built.warnings.forEach(notice);

    object.load();
    for (const { program, meta: attachMeta } of programs) object.attach(program, attachMeta);

    // Readers first, so that every event after the notice below is seen.
    for (const consumer of built.consumers) session.start(consumer, requireMap(object, consumer.map.name, input.source), prepared.perfBufferPages);
    if (built.consumers.length === 0 && options.tracePipe) session.relayTracePipe();
    const attached = meta.bpf_skel.progs.length;
    notice(`${meta.bpf_skel.obj_name}: ${attached} program${attached === 1 ? '' : 's'} attached; press Ctrl-C to stop`);
    if (built.consumers.length === 0 && attached > 0 && !options.tracePipe) {
      notice('this package exports no map; bpf_printk output goes to the kernel trace pipe (use --trace-pipe to print it here)');
    }
    return await session.runUntil(options.stopRequested);
  } finally {
    session.close();
    object.close();
    await session.finish();
  }
}

function requireMap(object: BpfObject, name: string, source: string): BpfMap {
  return object.findMap(name) ?? missingFromObject('map', name, source);
}

function requireProgram(object: BpfObject, name: string, source: string): BpfProgram {
  return object.findProgram(name) ?? missingFromObject('program', name, source);
}

function missingFromObject(what: 'map' | 'program', name: string, source: string): never {
  throw new EcliError('PACKAGE_INVALID', `${source}: ${what} ${name} is listed in the meta but not in the BPF object`, {
    hint: 'the meta and the object come from different builds; recompile with ./ecc',
  });
}

function transportOf(map: BpfMap | undefined): MapTransport | undefined {
  if (!map) return undefined;
  if (map.typeName === 'ringbuf') return 'ringbuf';
  if (map.typeName === 'perf_event_array') return 'perf_event_array';
  return 'other';
}

interface Poller {
  poll(timeoutMs: number): number;
  close(): void;
}

/** The live part of a run: readers, sampling timers, output, counters, and the stop logic. */
class Session {
  private readonly sink: LineSink;
  private readonly pollers: Poller[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private tracePipe: TracePipeReader | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private pollAgain: NodeJS.Immediate | undefined;
  private failure: unknown;
  private fail: ((error: unknown) => void) | undefined;
  private outputClosed = false;
  private stopEarly: (() => void) | undefined;
  private lost = 0;
  private malformed = 0;
  private reportedLost = 0;
  private reportedMalformed = 0;
  private lastMalformedMessage = '';
  private noticeTimer: NodeJS.Timeout | undefined;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    stdout: Writable,
    private readonly notice: (message: string) => void,
  ) {
    // Nobody reads our output any more (`ecli run pkg | head`): stop like a killed pipeline would.
    this.sink = createLineSink(stdout, () => {
      this.outputClosed = true;
      this.stopEarly?.();
    });
  }

  start(consumer: ConsumerSpec, map: BpfMap, perfBufferPages: number): void {
    if (consumer.header !== undefined) {
      this.sink.writeLine(consumer.header);
      this.sink.flush();
    }
    if (consumer.kind === 'events') this.startEvents(consumer, map, perfBufferPages);
    else this.startSampling(consumer, map);
  }

  relayTracePipe(): void {
    this.tracePipe = TracePipeReader.open({
      onLine: (line) => {
        this.sink.writeLine(line);
        this.sink.flush();
      },
      onError: (error) => this.abort(error),
    });
  }

  private startEvents(consumer: EventConsumerSpec, map: BpfMap, perfBufferPages: number): void {
    const onRecord = (data: Buffer, offset: number, length: number): void => {
      const out = this.sink.lineBuffer();
      if (out === undefined) return;
      try {
        consumer.write(data, offset, length, out);
      } catch (error) {
        this.countMalformed(error);
      }
    };
    if (consumer.transport === 'ringbuf') {
      this.pollers.push(new RingBufferReader(map, { onRecord }));
    } else {
      this.pollers.push(
        new PerfBufferReader(map, {
          pages: perfBufferPages,
          onRecord,
          onLost: (_cpu, count) => {
            this.lost += count;
          },
        }),
      );
    }
    if (this.pollers.length === 1) this.schedulePoll(POLL_INTERVAL_MS);
  }

  /** A record the formatter refused (too short) is counted and reported; anything else is a failure. */
  private countMalformed(error: unknown): void {
    if (!(error instanceof EcliError) || error.code !== 'RUNTIME') throw error;
    this.malformed++;
    this.lastMalformedMessage = error.hint === undefined ? error.message : `${error.message}; ${error.hint}`;
  }

  private startSampling(consumer: SampleConsumerSpec, map: BpfMap): void {
    const sampleOnce = (): void => {
      try {
        for (const [key, value] of map.entries()) {
          try {
            this.sink.writeLine(consumer.format(key, value));
          } catch (error) {
            this.countMalformed(error);
          }
        }
        // The reference only clears at exit; clearing each interval gives per-interval
        // histograms, which is what clear_map asks for (see the README).
        if (consumer.sample.clear_map) map.clear();
        this.sink.flush();
        this.reportCounters();
      } catch (error) {
        this.abort(error);
      }
    };
    this.timers.push(setInterval(sampleOnce, consumer.sample.interval));
    sampleOnce();
  }

  private schedulePoll(delayMs: number): void {
    this.pollTimer = setTimeout(() => this.pollBurst(), delayMs);
  }

  /**
   * Drains the buffers in rounds (each reader hands back a bounded batch per poll), writing each
   * round's output, for up to POLL_BURST_MS; then lets the event loop run. A busy burst is
   * followed at once by the next, an idle one after POLL_INTERVAL_MS.
   */
  private pollBurst(): void {
    const deadline = Date.now() + POLL_BURST_MS;
    let handled: number;
    try {
      do {
        handled = 0;
        for (const poller of this.pollers) handled += poller.poll(0);
        this.sink.flush();
      } while (handled > 0 && Date.now() < deadline);
      this.reportCounters();
    } catch (error) {
      this.abort(error);
      return;
    }
    if (handled > 0) this.pollAgain = setImmediate(() => this.pollBurst());
    else this.schedulePoll(POLL_INTERVAL_MS);
  }

  /** Rate-limited stderr notices for lost and malformed events (never silent). */
  private reportCounters(): void {
    if (this.noticeTimer !== undefined) return;
    if (this.lost === this.reportedLost && this.malformed === this.reportedMalformed) return;
    this.flushNotices();
    this.noticeTimer = setTimeout(() => {
      this.noticeTimer = undefined;
      this.reportCounters();
    }, NOTICE_INTERVAL_MS);
  }

  private flushNotices(): void {
    if (this.lost > this.reportedLost) {
      this.notice(`lost ${this.lost - this.reportedLost} events (perf buffer full; raise perf_buffer_pages in the package)`);
      this.reportedLost = this.lost;
    }
    if (this.malformed > this.reportedMalformed) {
      this.notice(`skipped ${this.malformed - this.reportedMalformed} malformed events: ${this.lastMalformedMessage}`);
      this.reportedMalformed = this.malformed;
    }
  }

  private abort(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.fail?.(error);
  }

  /** Resolves with exit status 0 on a stop signal or when stdout is closed; rejects when polling failed. */
  runUntil(stopRequested: Promise<string>): Promise<number> {
    // Signal handlers do not keep node running: without this timer a package with nothing to
    // poll would let the process exit at once, skipping the detach (TC filters would stay).
    this.keepAlive = setInterval(() => undefined, 1 << 30);
    return new Promise<number>((resolve, reject) => {
      if (this.failure !== undefined) {
        reject(this.failure);
        return;
      }
      if (this.outputClosed) {
        resolve(0);
        return;
      }
      this.fail = reject;
      this.stopEarly = () => resolve(0);
      stopRequested.then(() => resolve(0), reject);
    });
  }

  /** Stops timers and readers; drains what is already in the buffers first. */
  close(): void {
    clearInterval(this.keepAlive);
    clearTimeout(this.pollTimer);
    clearImmediate(this.pollAgain);
    clearTimeout(this.noticeTimer);
    this.timers.forEach(clearInterval);
    this.tracePipe?.close();
    const deadline = Date.now() + CLOSE_DRAIN_MS;
    for (const poller of this.pollers) {
      try {
        if (this.failure === undefined) while (poller.poll(0) > 0 && Date.now() < deadline);
      } catch {
        // Already stopping; the buffer's remaining events are lost, which is reported below.
      }
      poller.close();
    }
    this.pollers.length = 0;
  }

  async finish(): Promise<void> {
    this.flushNotices();
    await this.sink.drain();
    if (this.sink.dropped > 0) this.notice(`dropped ${this.sink.dropped} lines because stdout could not keep up`);
  }
}
