/**
 * `make bench`: builds the benchmark programs, runs each workload side by side with the C
 * references, and writes the numbers into BENCHMARKS.md (between its results markers) and
 * bench/out/results.json. Needs root. Flags: --only=startup,exec,wasm,ringbuf,stages,perf  --no-write
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAll, buildWasmExecve } from './lib/build.js';
import { BARE_NODE, execTracers, runStorm, wasmTracers, type Storm } from './lib/exec-storm.js';
import { highestLosslessRate, runRate, type ConsumerKind, type RateRun, type RateSetup, type Variant } from './lib/high-rate.js';
import { describeMachine } from './lib/machine.js';
import { measureStages } from './lib/stages-cost.js';
import { checkPerfPages } from './lib/perf-pages.js';
import { writeReport, type Results, type VariantResults } from './lib/report.js';
import { measureBreakdown } from './lib/startup-breakdown.js';
import { measureCommands, measureStartup, type Command } from './lib/startup.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const started = Date.now();
const log = (line: string): void => {
  process.stderr.write(`bench [${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
};

const CONSUMERS: ConsumerKind[] = ['c', 'ecli-json', 'ecli-plain'];
const RATE_EVENTS: Record<Variant, number> = { ringbuf: 1_000_000, perf: 300_000 };
/** Unpaced events of the sustained run: several times what the buffer holds. */
const SUSTAINED_EVENTS: Record<Variant, number> = { ringbuf: 4_000_000, perf: 600_000 };
const RATE_REPEATS = 3;
const STARTUP_RUNS = 7;
const COMMAND_RUNS = 11;
const STORM_EXECS = 10_000;
const STORM_WORKERS = 2;
/** Storms per side of the Wasm comparison, alternating. */
const WASM_STORM_REPEATS = 3;

async function variantResults(setup: RateSetup, variant: Variant): Promise<VariantResults> {
  const runs: RateRun[] = [];
  for (let i = 0; i < RATE_REPEATS; i++) {
    for (const consumer of CONSUMERS) {
      const run = await runRate(setup, variant, consumer, RATE_EVENTS[variant]);
      log(`${variant} ${consumer}: ${run.delivered}/${run.generated} delivered, ${(run.cpuUs / run.delivered).toFixed(3)} µs CPU/event, ${run.maxRssKb} kB`);
      runs.push(run);
    }
  }
  const lossless: VariantResults['lossless'] = {};
  for (const consumer of CONSUMERS) {
    const search = await highestLosslessRate(setup, variant, consumer, SUSTAINED_EVENTS[variant], 2, 4);
    lossless[consumer] = search;
    const { sustained } = search;
    log(`${variant} ${consumer}: sustained ${sustained.delivered}/${sustained.generated}; highest rate without loss ${Math.round(search.rate)}/s`);
  }
  return { variant, events: RATE_EVENTS[variant], runs, lossless };
}

function shortCommands(ecli: string): Command[] {
  const node = (name: string, ...args: string[]): Command => ({ name, command: process.execPath, args });
  const bundle = path.join(root, 'dist/bundle/ecli.cjs');
  const unbundled = path.join(root, 'dist/src/cli/ecli.js');
  return [
    node('`node -e 0`', '-e', '0'),
    { name: '`ecli --version` (`./ecli`)', command: ecli, args: ['--version'] },
    { name: '`ecli --help` (`./ecli`)', command: ecli, args: ['--help'] },
    { name: '`ecli --version` (npm bin: `bin/ecli.cjs`)', command: path.join(root, 'bin/ecli.cjs'), args: ['--version'] },
    node('`ecli --version`, bundle without code cache', bundle, '--version'),
    node('`ecli --help`, bundle without code cache', bundle, '--help'),
    node('`ecli --version`, unbundled ES modules', unbundled, '--version'),
    node('`ecli --help`, unbundled ES modules', unbundled, '--help'),
  ];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the benchmark loads BPF programs: run it as root (sudo make bench)');
  const only = new Set((process.argv.find((a) => a.startsWith('--only='))?.slice(7) ?? 'startup,exec,wasm,ringbuf,stages,perf').split(','));
  const out = path.join(root, 'bench/out');
  const workDir = path.join(out, 'run');
  mkdirSync(workDir, { recursive: true });
  const built = buildAll(root, out, log);
  const ecli = process.env.ECLI_BENCH_ECLI ?? path.join(root, 'ecli');
  const results: Results = { machine: describeMachine(root), ecli };
  const tracers = execTracers(built, ecli);

  if (only.has('startup')) {
    log('start-up: each tracer alone, spawn to header line');
    const seed = tracers[1]!;
    // The same build without its code cache, and tsc's ES modules: what bundling and the cache give.
    const variants = [
      { ...seed, name: `${seed.name}, bundle without code cache`, command: process.execPath, args: [path.join(root, 'dist/bundle/ecli.cjs'), ...seed.args] },
      {
        ...seed,
        name: `${seed.name}, unbundled ES modules (tsc output)`,
        command: process.execPath,
        args: [path.join(root, 'dist/src/cli/ecli.js'), ...seed.args],
      },
    ];
    results.startup = await measureStartup(built.rusage, [...tracers, ...variants, BARE_NODE], workDir, STARTUP_RUNS);
    log('start-up: `ecli --version` / `--help` against `node -e 0`');
    results.commands = await measureCommands(built.rusage, shortCommands(ecli), workDir, COMMAND_RUNS);
    log('start-up breakdown: ecli execsnoop (seed) with its performance marks reported');
    results.breakdown = await measureBreakdown(built.rusage, seed, path.join(root, 'bench/lib/startup-marks.cjs'), workDir, STARTUP_RUNS);
  }
  if (only.has('exec')) {
    log(`exec storm: ${STORM_EXECS} execs, ${tracers.length} tracers at once`);
    results.storm = await runStorm(built, tracers, workDir, STORM_EXECS, STORM_WORKERS);
    log(`exec storm: ${STORM_EXECS} execs, ecli execsnoop-full alone (the other tracers slow the execs down)`);
    results.stormAlone = await runStorm(built, tracers.slice(0, 1), workDir, STORM_EXECS, STORM_WORKERS);
  }
  if (only.has('wasm')) {
    const { wasm, json } = wasmTracers(buildWasmExecve(root, out, log), ecli);
    const storms: { wasm: Storm[]; json: Storm[] } = { wasm: [], json: [] };
    for (let i = 0; i < WASM_STORM_REPEATS; i++) {
      for (const [side, tracer] of [
        ['wasm', wasm],
        ['json', json],
      ] as const) {
        log(`exec storm: ${STORM_EXECS} execs, ${tracer.name} alone (${i + 1}/${WASM_STORM_REPEATS})`);
        storms[side].push(await runStorm(built, [tracer], workDir, STORM_EXECS, STORM_WORKERS));
      }
    }
    results.wasmStorms = storms;
  }
  const setup: RateSetup = { built, ecli, workDir, perfPages: 64 };
  if (only.has('ringbuf')) results.ringbuf = await variantResults(setup, 'ringbuf');
  if (only.has('stages')) results.stages = await measureStages(setup, RATE_EVENTS.ringbuf, RATE_REPEATS, log);
  if (only.has('perf')) {
    results.perf = await variantResults(setup, 'perf');
    results.perfPages = await checkPerfPages(built, ecli, workDir);
  }
  results.seconds = (Date.now() - started) / 1000;
  writeFileSync(path.join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  if (!process.argv.includes('--no-write')) writeReport(path.join(root, 'BENCHMARKS.md'), results);
  log(`done; results in bench/out/results.json${process.argv.includes('--no-write') ? '' : ' and BENCHMARKS.md'}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
