/**
 * Runs a package spec: options → section images and consumers (pure) → open the object, set
 * the images → privileges → load, attach → consume exports until a stop signal → detach
 * everything. Whatever happens after the object is opened, it is closed before this function
 * returns or throws, so nothing stays attached.
 */
import type { Writable } from 'node:stream';
import { EcliError } from '../errors.js';
import { startupMark } from '../startup-mark.js';
import { escapeControls, escapeControlsInLines } from '../terminal.js';
import type { OutputSettings } from '../format/event.js';
import type { BpfMap } from '../loader/object.js';
import { TracePipeReader } from '../loader/trace-pipe.js';
import type { ExportSpec } from '../model/exports.js';
import type { PackageSpec } from '../model/spec.js';
import { createProcSymbolizer } from '../symbols/proc-symbolizer.js';
import { buildConsumers, type ConsumerSpec } from './consumers.js';
import type { EventTally, RunObserver, SampledMapWatch } from './observer.js';
import { PackageObject } from './package-object.js';
import { prepareRun } from './prepare.js';
import type { SampleSource } from './sampler.js';
import { Session, type OutputWatcher, type RunLimits } from './session.js';

export interface RunPackageOptions {
  output: OutputSettings;
  /** libbpf's own messages on stderr, and full verifier logs in errors. */
  verbose: boolean;
  /** Relay the kernel's trace_pipe (bpf_printk output) to stdout. */
  tracePipe: boolean;
  btfCustomPath: string | undefined;
  stdout: Writable;
  stderr: Writable;
  /** Resolves (with the signal's name) when the run should stop. */
  stopRequested: Promise<string>;
  /** Resolves on a second stop signal: exit without waiting any longer for stdout. */
  stopForced?: Promise<string>;
  /** Watches the exports beside stdout (`--metrics`). */
  observer?: RunObserver;
  /** `--count N` (events, or intervals when only sampled maps are printed) and `--duration`. */
  limits?: { count?: number; durationMs?: number };
  /** Ends the run as soon as stdout's reader goes away, even while nothing is printed. */
  watchOutput?: OutputWatcher;
  /** The runner's own option words (`-j`, `--fields`, ...): one given after the package gets "put it before the package". */
  hostOptions?: ReadonlySet<string>;
}

export async function runPackage(spec: PackageSpec, programArgs: readonly string[], options: RunPackageOptions): Promise<number> {
  const prepared = prepareRun(spec, programArgs, options.hostOptions);
  if (prepared.kind === 'print') {
    options.stdout.write(escapeControlsInLines(prepared.text));
    return 0;
  }
  // Built before anything is opened: a formatter that refuses its columns is a package error.
  const consumers = buildConsumers(spec.btf, spec.exports, options.output, createProcSymbolizer());
  const limits = runLimits(options.limits, consumers, spec.objectName);
  startupMark('decoded');
  const verbose = options.verbose || prepared.verbose;

  const notice = (message: string): void => {
    options.stderr.write(`ecli: ${escapeControls(message)}\n`);
  };
  const object = PackageObject.open(spec, prepared.images, { verbose, warn: notice, btfCustomPath: options.btfCustomPath });
  startupMark('opened');
  const session = new Session({
    stdout: options.stdout,
    notice,
    limits,
    ...(options.watchOutput ? { watchOutput: options.watchOutput } : {}),
  });
  let failed = false;
  try {
    const maps = new Map(consumers.map((consumer) => [consumer, object.map(consumer.map.name)]));
    const observed = new Map(consumers.map((consumer, i) => [consumer, observeExport(options.observer, spec, spec.exports[i]!)]));
    object.checkHost();
    spec.warnings.forEach(notice);
    startupMark('checked');
    object.loadAndAttach();

    // Readers first, so that every event after the notice below is seen.
    for (const [consumer, map] of maps) {
      const { tally, watch } = observed.get(consumer) ?? {};
      if (consumer.kind === 'sample') session.startSampling(consumer, watch ? watchedSource(map, watch) : map);
      else session.startEvents(consumer, object.recordReader(consumer.map.name, consumer.transport), tally);
    }
    if (consumers.length === 0 && options.tracePipe) session.relayTracePipe((handlers) => TracePipeReader.open(handlers));
    const attached = spec.programs.length;
    notice(`${spec.objectName}: ${attached} program${attached === 1 ? '' : 's'} attached; press Ctrl-C to stop`);
    if (consumers.length === 0 && attached > 0 && !options.tracePipe) {
      notice('this package exports no map; bpf_printk output goes to the kernel trace pipe (use --trace-pipe to print it here)');
    }
    return await session.runUntil(options.stopRequested);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    session.close();
    options.observer?.detach();
    const detachFailure = object.close();
    await session.finish(options.stopForced);
    if (!failed && detachFailure === undefined) notice(session.summary());
    // A failed detach fails the run; when the run failed already, that error is the one
    // reported, and the detach failure is printed before it.
    if (detachFailure !== undefined) {
      // eslint-disable-next-line no-unsafe-finally -- a detach failure of a run that succeeded is its result
      if (!failed) throw detachFailure;
      notice(`error: ${detachFailure.message}`);
    }
  }
}

/** `--count` counts printed events, or sampled intervals when the package prints only sampled maps. */
function runLimits(limits: RunPackageOptions['limits'], consumers: readonly ConsumerSpec[], objectName: string): RunLimits {
  if (limits?.count === undefined) return { ...limits };
  if (consumers.length === 0) {
    throw new EcliError('USAGE', `--count ${limits.count}: package ${objectName} exports no map, so there is nothing to count`, {
      hint: 'use --duration to stop it after a time',
    });
  }
  return { ...limits, countOf: consumers.every((c) => c.kind === 'sample') ? 'intervals' : 'events' };
}

interface Observed {
  tally?: EventTally;
  watch?: SampledMapWatch;
}

/** Tells the observer about an export before anything is loaded, so it can refuse it in time. */
function observeExport(observer: RunObserver | undefined, spec: PackageSpec, exported: ExportSpec): Observed {
  if (observer === undefined) return {};
  const name = exported.map.name;
  if (exported.kind === 'events') {
    const tally: EventTally = { received: 0, lost: exported.transport === 'perf_event_array' ? 0 : undefined, malformed: 0, dropped: 0 };
    observer.events(name, tally);
    return { tally };
  }
  const map = spec.maps.find((m) => m.name === name);
  if (map === undefined) throw new EcliError('INTERNAL', `export ${name} is not among the package's maps`);
  const watch = observer.sampled({
    btf: spec.btf,
    mapName: name,
    sample: exported.sample,
    keyTypeId: map.btfKeyTypeId,
    valueTypeId: map.btfValueTypeId,
    key: exported.keyColumns,
    value: exported.valueColumns,
  });
  return { watch };
}

/** The map as the sampler reads it, handing each interval's read to the observer before clear_map clears it. */
function watchedSource(map: BpfMap, watch: SampledMapWatch): SampleSource {
  watch.connect(() => map.entries());
  return {
    entries() {
      const entries = map.entries();
      watch.intervalRead(entries);
      return entries;
    },
    clear: () => map.clear(),
  };
}
