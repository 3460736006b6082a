/**
 * `ecli run <package> [program options...]`: resolve the input, pick the BTF for CO-RE, run the
 * package until stopped; or run a wasm-bpf module with its arguments (src/wasm).
 */
import { statSync } from 'node:fs';
import { isatty } from 'node:tty';
import { EcliError } from '../../errors.js';
import { selectBtfPath } from '../../inputs/btf-select.js';
import { resolveInput, type ResolvedInput, type ResolveOptions, type ResolvedWasm } from '../../inputs/source.js';
import type { OutputSettings } from '../../format/event.js';
import type { InputGate } from '../../inputs/gate.js';
import type { PackManifest } from '../../inputs/manifest.js';
import { buildPackageSpec, type PackageSpec } from '../../model/spec.js';
import type { RunLimits, RunSettings } from '../../runner/engine.js';
import type { RunObserver } from '../../runner/observer.js';
import { watchOutputReader } from '../../loader/output-reader-watch.js';
import { startupMark } from '../../startup-mark.js';
import { runPackage } from '../../runner/run.js';
import { loadSigningGate, type SigningOptions } from '../../signing/options.js';
import { escapeControls, escapeControlsInLines } from '../../terminal.js';
import { stageChoices, stageFactory, type EventStageOptions } from '../../runner/event-stages.js';
import type { RunInput } from '../flags.js';
import type { CommandIo } from './io.js';

/** ecli run's flags: where the package comes from (ResolveOptions), and the engine's settings as the flags give them. */
export interface RunCommandOptions extends ResolveOptions, Pick<RunSettings, 'tracePipe' | 'verbose' | 'iteratorIntervalMs'> {
  output: OutputSettings;
  /** `--metrics HOST:PORT`, `--metrics-labels k=v,...` as given, and `--metrics-max-series`. */
  metrics?: { address: string; labels: string | undefined; maxSeries?: number | undefined };
  /** Resolves (with the signal's name) when the run should stop. */
  stopRequested: Promise<string>;
  /** Resolves on a second stop signal. */
  stopForced: Promise<string>;
  /** `--count` and `--duration`. */
  limits?: RunLimits;
  /** ecli run's own option words, for "put -j before the package". */
  hostOptions?: ReadonlySet<string>;
  /** `--verify-key`, `--signature`; the signing policy applies whatever they are. */
  signing?: SigningOptions;
  /** `--header`: the header of a C source given as the package. */
  header?: string;
  /** `--wasm-dir`, `--wasm-memory` and `--raw`, for Wasm modules only. */
  wasm?: WasmFlags;
  /** The flags given that apply only to packages, or only to Wasm modules (the flag table's runInput): refused with the other. */
  flagsOnlyFor?: Readonly<Record<RunInput, readonly string[]>>;
  /** `--filter`, `--pid`, `--comm`, `--container`, `--no-containers`, `--container-socket`. */
  stages?: EventStageOptions;
}

export interface WasmFlags {
  /** Guest path → host directory. */
  preopens?: Record<string, string>;
  /** In 64 KiB pages. */
  memoryPages?: number;
  raw: boolean;
}

/** The guest's memory cap when --wasm-memory is not given: 1 GiB. */
const DEFAULT_WASM_MEMORY_PAGES = 16384;

export async function runRun(spec: string, programArgs: readonly string[], opts: RunCommandOptions, io: CommandIo): Promise<number> {
  startupMark('run');
  const {
    output,
    tracePipe,
    verbose,
    iteratorIntervalMs,
    stopRequested,
    stopForced,
    metrics,
    limits,
    hostOptions,
    signing,
    header,
    wasm,
    flagsOnlyFor,
    stages,
    ...resolveOptions
  } = opts;
  // Keys and the policy are read before anything else: a bad one stops the run at once.
  const gate = await loadSigningGate(signing ?? {});
  // So are the filter's rules: a malformed one is a usage error at once.
  const choices = await stageChoices(stages ?? {});
  // Bound before the package is even read: a taken port is a usage error, not a half-started run.
  const served = metrics === undefined ? undefined : await startMetrics(metrics, io);
  // A stop signal while the package is still being compiled, downloaded or read (before the
  // engine waits for one) ends the run there: a download stops at once, and nothing is loaded.
  const startup = new AbortController();
  stopRequested.then(
    (signal) => startup.abort(new EcliError('USAGE', `stopped by ${signal}`)),
    () => {},
  );
  const stoppedBeforeLoading = (): number => {
    io.stderr.write(`ecli: ${(startup.signal.reason as Error).message} before anything was loaded\n`);
    return 0;
  };
  try {
    let resolved: ResolvedInput;
    try {
      const input = await packageInput(spec, header, verbose, io, gate);
      resolved = await resolveInput(input, { ...resolveOptions, ...(gate === undefined ? {} : { gate }), signal: startup.signal });
    } catch (error) {
      // Whatever failed then (a download aborted, a compiler stopped by the same Ctrl-C) was stopped on purpose.
      if (startup.signal.aborted) return stoppedBeforeLoading();
      throw error;
    }
    if (startup.signal.aborted) {
      if (resolved.type !== 'wasm') resolved.btfArchive?.cleanup();
      return stoppedBeforeLoading();
    }
    if (resolved.type === 'wasm') return await runWasm(resolved, programArgs, wasm, opts, io);
    refuseWasmFlags(flagsOnlyFor?.wasm ?? []);
    try {
      const btfCustomPath = selectBtfPath({ env: process.env, ...(resolved.btfArchive ? { archiveDir: resolved.btfArchive.dir } : {}) });
      const packageSpec = buildPackageSpec(resolved);
      const stageOf = stageFactory(packageSpec, choices, (message) => io.stderr.write(`ecli: ${escapeControls(message)}\n`));
      return await runPackage(packageSpec, programArgs, {
        settings: {
          verbose,
          tracePipe,
          btfCustomPath,
          limits: limits ?? {},
          lastIntervalOnStop: true,
          iteratorIntervalMs,
          ...(stageOf === undefined ? {} : { stages: stageOf }),
        },
        output: { ...output, containers: choices.containers !== undefined },
        stdout: io.stdout,
        stderr: io.stderr,
        stopRequested,
        stopForced,
        // Only the process's own stdout has a reader to watch (tests hand in streams of their own).
        ...(io.stdout === process.stdout ? { watchOutput: (onGone: () => void) => watchOutputReader(1, onGone) } : {}),
        ...(hostOptions === undefined ? {} : { hostOptions }),
        ...(served === undefined ? {} : { observer: served.observe(packageSpec, resolved.manifest) }),
      });
    } finally {
      resolved.btfArchive?.cleanup();
    }
  } finally {
    await served?.close();
  }
}

/** The file of the running ecli: the bundle when it runs as one (CommonJS), else the script run. */
function runningEcliFile(): string {
  return typeof __filename === 'string' ? __filename : process.argv[1]!;
}

/**
 * What to read the package from: a C source (`prog.bpf.c`) is compiled as ecc would, once, and
 * its package cached; anything else is a package already. The compiler loads only for a source,
 * and only once the signing gate let it through.
 */
async function packageInput(spec: string, header: string | undefined, verbose: boolean, io: CommandIo, gate: InputGate | undefined): Promise<string> {
  if (!spec.endsWith('.c')) {
    if (header === undefined) return spec;
    throw new EcliError('USAGE', `--header names the header of a C source, and ${spec} is not one`, {
      hint: 'give the .bpf.c file: ecli run --header prog.h prog.bpf.c',
    });
  }
  await gate?.({ kind: 'source', path: spec });
  const { packageForSource } = await import('../../compiler/source-package.js');
  try {
    const compiled = await packageForSource({
      source: spec,
      header,
      ecliFile: runningEcliFile(),
      logger: {
        info: () => {},
        warn: (line) => io.stderr.write(`ecli: warning: ${escapeControls(line)}\n`),
        diagnostics: (text) => io.stderr.write(`${escapeControlsInLines(text.trimEnd())}\n`),
      },
      onCompile: (source, used) =>
        io.stderr.write(
          `ecli: compiling ${escapeControls(source)}${used === undefined ? '' : ` with ${escapeControls(used)}`} as ecc does; the package is cached for the next run\n`,
        ),
    });
    return compiled.packagePath;
  } catch (error) {
    // clang's diagnostics are the point of a compile failure: shown as ecc shows them, --verbose or not.
    if (error instanceof EcliError && error.code === 'COMPILE_FAILED' && error.detail !== undefined && !verbose) {
      io.stderr.write(`${escapeControlsInLines(error.detail.trimEnd())}\n`);
    }
    throw error;
  }
}

/** A wasm-bpf module: the flags that shape a package's output, filter its events or count them mean nothing to it. */
async function runWasm(resolved: ResolvedWasm, args: readonly string[], wasm: WasmFlags | undefined, opts: RunCommandOptions, io: CommandIo): Promise<number> {
  const given = opts.flagsOnlyFor?.package ?? [];
  if (given.length > 0) {
    throw new EcliError(
      'USAGE',
      `${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to packages; ${resolved.source} is a Wasm module, which prints its own output`,
      {
        hint: 'drop it; --duration, --wasm-dir, --wasm-memory and --raw apply to Wasm modules',
      },
    );
  }
  const preopens = wasm?.preopens ?? {};
  for (const host of Object.values(preopens)) checkDirectory(host);
  const { runWasmModule } = await import('../../wasm/run-module.js');
  const raw = wasm?.raw === true;
  const ownFds = io.stdout === process.stdout;
  return runWasmModule(resolved.bytes, {
    source: resolved.source,
    args,
    preopens,
    memoryLimitPages: wasm?.memoryPages ?? DEFAULT_WASM_MEMORY_PAGES,
    escape: { stdout: !raw && isatty(1), stderr: !raw && isatty(2) },
    verbose: opts.verbose,
    btfCustomPath: selectBtfPath({ env: process.env }),
    stderr: io.stderr,
    stopRequested: opts.stopRequested,
    stopForced: opts.stopForced,
    ...(opts.limits?.durationMs === undefined ? {} : { durationMs: opts.limits.durationMs }),
    ...(ownFds ? { watchOutput: (onGone: () => void) => watchOutputReader(1, onGone) } : {}),
  });
}

/** A --wasm-dir must name a directory ecli can open. */
function checkDirectory(path: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    throw new EcliError('USAGE', `--wasm-dir ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message}`, {
      hint: 'give a directory the guest may read, e.g. --wasm-dir ./data',
    });
  }
  if (!isDirectory)
    throw new EcliError('USAGE', `--wasm-dir ${path} is not a directory`, { hint: 'give a directory the guest may read, e.g. --wasm-dir ./data' });
}

function refuseWasmFlags(given: readonly string[]): void {
  if (given.length === 0) return;
  throw new EcliError('USAGE', `${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to Wasm modules, not to packages`, { hint: 'drop it' });
}

/** The metrics modules (and prom-client) load only when --metrics is given. */
async function startMetrics(flags: NonNullable<RunCommandOptions['metrics']>, io: CommandIo) {
  const { parseMetricsLabels, parseListenAddress, formatListenAddress } = await import('../../metrics/flags.js');
  const { startMetricsServer } = await import('../../metrics/server.js');
  const { DEFAULT_SERIES_LIMIT, RunMetrics } = await import('../../metrics/run-metrics.js');
  const address = parseListenAddress(flags.address);
  const labels = flags.labels === undefined ? { constant: {}, byContainer: false } : parseMetricsLabels(flags.labels);
  const server = await startMetricsServer(address);
  io.stderr.write(`ecli: serving metrics at http://${formatListenAddress(server.address)}/metrics\n`);
  return {
    observe(packageSpec: PackageSpec, manifest: PackManifest | undefined): RunObserver {
      const metrics = new RunMetrics({
        identity: { name: manifest?.name ?? packageSpec.objectName, version: manifest?.version ?? packageSpec.help.version, object: packageSpec.objectName },
        constantLabels: labels.constant,
        byContainer: labels.byContainer,
        warn: (message) => io.stderr.write(`ecli: ${message}\n`),
        processMetrics: true,
        seriesLimit: flags.maxSeries ?? DEFAULT_SERIES_LIMIT,
      });
      server.serve(metrics);
      return metrics;
    },
    close: () => server.close(),
  };
}
