/**
 * The high-rate workload: rate-gen calls getppid() and the rate packages emit one record per
 * call, through a ring buffer or a perf event array. Each consumer (the C one over libbpf,
 * `ecli run -j`, plain `ecli run`) runs alone against the same generator, its output going to
 * a file; delivered events are counted by distinct sequence number.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { Built, Package } from './build.js';
import { RateGenerator } from './generators.js';
import { Measured } from './measured.js';
import { readDelivery, waitUntilQuiet } from './output-check.js';

export type Variant = 'ringbuf' | 'perf';
export type ConsumerKind = 'c' | 'ecli-json' | 'ecli-plain';

export interface RateRun {
  variant: Variant;
  consumer: ConsumerKind;
  /** Calls asked for per second; 0 = as fast as the generator goes. */
  rate: number;
  generated: number;
  /** Events per second the generator reached. */
  generatedRate: number;
  delivered: number;
  /** Lines that were not a new in-range sequence number. */
  bad: number;
  /** What the consumer itself reported lost (perf: lost callbacks/notices; ring buffer: nothing to report). */
  lostReported: number;
  /** Records the BPF program could not submit (its drop counter). */
  kernelDrops: number;
  cpuUs: number;
  /** CPU used after the consumer was attached (the event handling itself). */
  cpuAfterAttachUs: number;
  maxRssKb: number;
  /** Spawn to attached, ms. */
  startupMs: number;
  sample: string;
}

export interface RateSetup {
  built: Built;
  ecli: string;
  workDir: string;
  perfPages: number;
}

function packageOf(built: Built, variant: Variant): Package {
  return variant === 'ringbuf' ? built.ringbufRate : built.perfRate;
}

/** `ecliArgs`: more of ecli's own flags, before the package. */
function command(setup: RateSetup, variant: Variant, consumer: ConsumerKind, pid: number, ecliArgs: readonly string[] = []): [string, string[]] {
  const pkg = packageOf(setup.built, variant);
  if (consumer === 'c') return [setup.built.consumer, [pkg.object, variant, String(pid), String(setup.perfPages)]];
  const json = consumer === 'ecli-json' ? ['-j'] : [];
  return [setup.ecli, ['run', ...json, ...ecliArgs, pkg.json, '--pid', String(pid)]];
}

/** The drop counter of the newest loaded rate program (runs are sequential, so it is the one measured). */
function kernelDrops(): number {
  const maps = JSON.parse(execFileSync('bpftool', ['map', 'show', '-j'], { encoding: 'utf8' })) as { id: number; name?: string }[];
  const ours = maps.filter((m) => m.name === 'rate_counters').sort((a, b) => b.id - a.id)[0];
  if (!ours) return Number.NaN;
  const entry = JSON.parse(execFileSync('bpftool', ['map', 'lookup', 'id', String(ours.id), 'key', '1', '0', '0', '0', '-j'], { encoding: 'utf8' })) as {
    value: string[];
  };
  return entry.value.reduceRight((sum, byte) => sum * 256 + Number(byte), 0);
}

function lostReported(consumer: ConsumerKind, stderr: string): number {
  if (consumer === 'c') return Number(/^lost (\d+)/m.exec(stderr)?.[1] ?? Number.NaN);
  let lost = 0;
  for (const match of stderr.matchAll(/^ecli: lost (\d+) events/gm)) lost += Number(match[1]);
  return lost;
}

export async function runRate(
  setup: RateSetup,
  variant: Variant,
  consumer: ConsumerKind,
  count: number,
  rate = 0,
  ecliArgs: readonly string[] = [],
): Promise<RateRun> {
  const generator = await RateGenerator.start(setup.built.rateGen, count, rate);
  const [bin, args] = command(setup, variant, consumer, generator.pid, ecliArgs);
  const label = `${variant}/${consumer}`;
  const file = path.join(setup.workDir, `${variant}-${consumer}.out`);
  const report = path.join(setup.workDir, `${variant}-${consumer}.rusage`);
  const measured = new Measured(setup.built.rusage, report, label, bin, args, { stdoutFile: file });
  let startupMs: number;
  try {
    startupMs = await measured.waitForLine('stderr', (line) => /attached/.test(line), 15000);
  } catch (error) {
    void generator.run(); // let the generator finish instead of waiting forever on its stdin
    await measured.stop('SIGKILL').catch(() => undefined);
    throw error;
  }
  const cpuAtAttach = measured.cpuNowUs();
  const generated = await generator.run();
  await waitUntilQuiet(file, 400, 30000);
  const drops = kernelDrops();
  const usage = await measured.stop('SIGINT');
  const delivery = readDelivery(file, generated.count, consumer === 'ecli-plain' ? 'plain' : 'json');
  return {
    variant,
    consumer,
    rate,
    generated: generated.count,
    generatedRate: generated.count / generated.seconds,
    delivered: delivery.delivered,
    bad: delivery.bad,
    lostReported: lostReported(consumer, measured.stderr()),
    kernelDrops: drops,
    cpuUs: usage.cpuUs,
    cpuAfterAttachUs: usage.cpuUs - cpuAtAttach,
    maxRssKb: usage.maxRssKb,
    startupMs,
    sample: delivery.sample,
  };
}

export interface LosslessSearch {
  /** Highest rate delivered without loss (events/s): the sustained unpaced rate when that lost nothing. */
  rate: number;
  /** True when even the sustained unpaced run lost nothing, so the limit found is the producer's. */
  producerBound: boolean;
  /** The sustained unpaced run, longer than the buffer can absorb. */
  sustained: RateRun;
  /** Paced runs of the bisection, when the sustained run lost events. */
  trials: { rate: number; delivered: number; generated: number }[];
}

/**
 * Runs `sustainedCount` events unpaced (far more than the buffer holds, so only a consumer that
 * keeps up loses nothing); if some were lost, bisects the paced rate between 0 and that rate,
 * each trial lasting about `seconds`.
 */
export async function highestLosslessRate(
  setup: RateSetup,
  variant: Variant,
  consumer: ConsumerKind,
  sustainedCount: number,
  seconds: number,
  steps: number,
): Promise<LosslessSearch> {
  const sustained = await runRate(setup, variant, consumer, sustainedCount);
  if (sustained.delivered === sustained.generated) return { rate: sustained.generatedRate, producerBound: true, sustained, trials: [] };
  const trials: LosslessSearch['trials'] = [];
  let low = 0;
  let high = sustained.generatedRate;
  for (let i = 0; i < steps; i++) {
    const rate = Math.round((low + high) / 2 / 1000) * 1000;
    const run = await runRate(setup, variant, consumer, Math.round(rate * seconds), rate);
    trials.push({ rate, delivered: run.delivered, generated: run.generated });
    if (run.delivered === run.generated) low = rate;
    else high = rate;
  }
  return { rate: low, producerBound: false, sustained, trials };
}
