/**
 * What filters and the container lookup cost per event: the ring buffer workload (getppid()
 * calls of rate-gen, unpaced) read by `ecli run -j` with no stage, with the lookup of each
 * event's container by its pid member (the default), and with filters on a member (compared on
 * its bytes, or with an RE2 expression), each alone, the runs alternating.
 */
import { runRate, type RateRun, type RateSetup } from './high-rate.js';

export interface StageVariant {
  name: string;
  /** ecli's flags, before the package. */
  args: string[];
}

export const STAGE_VARIANTS: readonly StageVariant[] = [
  { name: 'no stage (`--no-containers`)', args: ['--no-containers'] },
  { name: 'container lookup by pid (the default)', args: [] },
  { name: '`--filter comm==rate-gen`, no containers', args: ['--no-containers', '--filter', 'comm==rate-gen'] },
  { name: "`--filter 'comm~^rate-'` (RE2), no containers", args: ['--no-containers', '--filter', 'comm~^rate-'] },
  { name: '`--container web` (lookup, and a container rule that drops every event)', args: ['--container', 'web'] },
];

export interface StageCost {
  variant: StageVariant;
  runs: RateRun[];
}

export async function measureStages(setup: RateSetup, events: number, repeats: number, log: (line: string) => void): Promise<StageCost[]> {
  const costs = STAGE_VARIANTS.map((variant): StageCost => ({ variant, runs: [] }));
  for (let i = 0; i < repeats; i++) {
    for (const cost of costs) {
      const run = await runRate(setup, 'ringbuf', 'ecli-json', events, 0, cost.variant.args);
      log(
        `stages ${cost.variant.name}: ${run.delivered}/${run.generated} delivered, ${(run.cpuAfterAttachUs / run.generated).toFixed(3)} µs CPU/event after attach`,
      );
      cost.runs.push(run);
    }
  }
  return costs;
}
