/**
 * `ecli run`'s side of a run: the program's own arguments become the data section images (or
 * its --help text), stdout becomes the run's output, and the run engine does the rest until a
 * stop signal. Whatever happens after the object is opened, it is closed before this function
 * returns or throws, so nothing stays attached.
 */
import type { Writable } from 'node:stream';
import { escapeControls, escapeControlsInLines } from '../terminal.js';
import type { OutputSettings } from '../format/event.js';
import type { PackageSpec } from '../model/spec.js';
import { createProcSymbolizer } from '../symbols/proc-symbolizer.js';
import { systemClock } from './clock.js';
import { zeroCounters } from './counters.js';
import { RunEngine, type EngineOptions, type RunSettings } from './engine.js';
import type { RunObserver } from './observer.js';
import { StdoutOutput, type OutputWatcher } from './print.js';
import { prepareRun } from './prepare.js';
import { RunStop } from './stop.js';

export interface RunPackageOptions {
  /** The engine's settings, but for the data section images: those come from the program's arguments. */
  settings: Omit<RunSettings, 'images'>;
  output: OutputSettings;
  stdout: Writable;
  stderr: Writable;
  /** Resolves (with the signal's name) when the run should stop. */
  stopRequested: Promise<string>;
  /** Resolves on a second stop signal: exit without waiting any longer for stdout. */
  stopForced?: Promise<string>;
  /** Watches the exports beside stdout (`--metrics`). */
  observer?: RunObserver;
  /** Ends the run as soon as stdout's reader goes away, even while nothing is printed. */
  watchOutput?: OutputWatcher;
  /** The runner's own option words (`-j`, `--fields`, ...): one given after the package gets "put it before the package". */
  hostOptions?: ReadonlySet<string>;
  /** The kernel side and the clock; tests hand in fakes. */
  engine?: Pick<EngineOptions, 'kernel' | 'clock'>;
}

export async function runPackage(spec: PackageSpec, programArgs: readonly string[], options: RunPackageOptions): Promise<number> {
  const prepared = prepareRun(spec, programArgs, options.hostOptions);
  if (prepared.kind === 'print') {
    options.stdout.write(escapeControlsInLines(prepared.text));
    return 0;
  }
  const settings: RunSettings = { ...options.settings, images: prepared.images, verbose: options.settings.verbose || prepared.verbose };
  const notice = (message: string): void => {
    options.stderr.write(`ecli: ${escapeControls(message)}\n`);
  };
  const clock = options.engine?.clock ?? systemClock;
  const stop = new RunStop();
  let engine: RunEngine | undefined;
  const output = new StdoutOutput(spec, {
    stdout: options.stdout,
    notice,
    output: options.output,
    symbolizer: createProcSymbolizer(),
    clock,
    stop,
    counters: () => engine?.counters ?? zeroCounters(),
    ...(options.watchOutput ? { watchOutput: options.watchOutput } : {}),
    repeatedSnapshots: settings.iteratorIntervalMs !== undefined,
  });
  try {
    engine = RunEngine.start(spec, settings, output, { ...options.engine, clock, stop, ...(options.observer ? { observer: options.observer } : {}) });
  } catch (error) {
    output.close();
    throw error;
  }
  const attached = spec.programs.length;
  // A package of iterators alone, without --interval, has printed its snapshot and ended already.
  if (!engine.hasEnded) notice(`${spec.objectName}: ${attached} program${attached === 1 ? '' : 's'} attached; press Ctrl-C to stop`);
  if (spec.exports.length === 0 && spec.iterators.length === 0 && attached > 0 && !settings.tracePipe) {
    notice('this package exports no map; bpf_printk output goes to the kernel trace pipe (use --trace-pipe to print it here)');
  }
  let failed = false;
  try {
    return await engine.wait(options.stopRequested);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    const detachFailure = engine.close();
    output.close();
    await output.finish(options.stopForced);
    if (!failed && detachFailure === undefined) notice(output.summary(engine.elapsedMs));
    // A failed detach fails the run; when the run failed already, that error is the one
    // reported, and the detach failure is printed before it.
    if (detachFailure !== undefined) {
      // eslint-disable-next-line no-unsafe-finally -- a detach failure of a run that succeeded is its result
      if (!failed) throw detachFailure;
      notice(`error: ${detachFailure.message}`);
    }
  }
}
