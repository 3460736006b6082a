/** `--metrics-labels container`: events counted by the container they came from, at most --metrics-max-series containers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EcliError } from '../../src/errors.js';
import type { EventExportSpec } from '../../src/model/exports.js';
import { parseMetricsLabels } from '../../src/metrics/flags.js';
import { RunMetrics } from '../../src/metrics/run-metrics.js';
import { zeroCounters } from '../../src/runner/counters.js';
import { NO_CONTEXT } from '../../src/runner/stages.js';

const IDENTITY = { name: 'execsnoop', version: '1.0.0', object: 'execsnoop_bpf' };
const EVENTS = { kind: 'events', map: { name: 'rb', ident: 'rb' }, transport: 'ringbuf' } as unknown as EventExportSpec;

async function scrapeText(metrics: RunMetrics): Promise<string> {
  let text = '';
  for await (const slice of metrics.scrape()) text += slice;
  return text;
}

test('--metrics-labels: the word container beside k=v pairs, alone, or not at all', () => {
  assert.deepEqual(parseMetricsLabels('container'), { constant: {}, byContainer: true });
  assert.deepEqual(parseMetricsLabels('host=web1,container,role=db'), { constant: { host: 'web1', role: 'db' }, byContainer: true });
  assert.deepEqual(parseMetricsLabels('host=web1'), { constant: { host: 'web1' }, byContainer: false });
  assert.throws(
    () => parseMetricsLabels('container,containr'),
    (e: unknown) =>
      e instanceof EcliError && e.message === '--metrics-labels container,containr: "containr" has no =' && /the word container/.test(e.hint ?? ''),
  );
});

test('events are counted by container, host processes with empty labels; past the limit the ones counted longest ago are dropped', async () => {
  const warnings: string[] = [];
  const metrics = new RunMetrics({
    identity: IDENTITY,
    constantLabels: { node: 'n1' },
    warn: (m) => warnings.push(m),
    processMetrics: false,
    seriesLimit: 2,
    byContainer: true,
  });
  metrics.events(EVENTS, zeroCounters());
  const web = { container: { id: 'a'.repeat(64), runtime: 'containerd', name: 'web', image: 'nginx:1.27', pod: 'web-0', namespace: 'shop' } };
  const bare = { container: { id: 'b'.repeat(64), runtime: 'podman' } };
  metrics.enriched(EVENTS, web);
  metrics.enriched(EVENTS, web);
  metrics.enriched(EVENTS, NO_CONTEXT);
  let text = await scrapeText(metrics);
  assert.match(
    text,
    /^ecli_container_events_total\{export="rb",container="web",image="nginx:1\.27",runtime="containerd",pod="web-0",namespace="shop",node="n1"\} 2$/m,
  );
  assert.match(text, /^ecli_container_events_total\{export="rb",container="",image="",runtime="",pod="",namespace="",node="n1"\} 1$/m);
  assert.match(text, /^ecli_container_series_dropped_total\{node="n1"\} 0$/m);
  // A container without a name is labelled with its short id; a third container drops the oldest counted.
  metrics.enriched(EVENTS, web);
  metrics.enriched(EVENTS, bare);
  text = await scrapeText(metrics);
  assert.match(text, /container="bbbbbbbbbbbb",image="",runtime="podman"/);
  assert.match(text, /container="web".* 3$/m);
  assert.doesNotMatch(text, /container="",/);
  assert.match(text, /^ecli_container_series_dropped_total\{node="n1"\} 1$/m);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /more than 2 containers/);
});

test('without --metrics-labels container there is no count by container', async () => {
  const metrics = new RunMetrics({ identity: IDENTITY, constantLabels: {}, warn: () => undefined, processMetrics: false, seriesLimit: 10 });
  metrics.events(EVENTS, zeroCounters());
  metrics.enriched(EVENTS, NO_CONTEXT);
  assert.doesNotMatch(await scrapeText(metrics), /ecli_container_/);
});
