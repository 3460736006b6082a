/**
 * `ecli run --metrics` scraped by a real Prometheus: runqlat (a log2 histogram, served on
 * [::]:PORT) and execsnoop (perf event array events, on 127.0.0.1:PORT) run at once, a
 * Prometheus scrapes both every second, and its query API must show histogram counts and an
 * event counter that grew by at least the execs made here. Also: bind errors are one-line usage
 * errors before anything is loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { startEcliFor, stopAndCheckUnloaded, watchProgramNames } from '../helpers/ecli-checks.js';
import { ecliPath, runTool, type RunningEcli } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { compileExample, haveToolchain } from '../helpers/examples.js';
import { havePrometheus, startPrometheus } from '../helpers/prometheus.js';

const EXECS = 25;

/** The port ecli reports on stderr (`ecli: serving metrics at http://HOST:PORT/metrics`). */
function servedPort(ecli: RunningEcli): number {
  const match = /serving metrics at http:\/\/\S+:(\d+)\/metrics\n/.exec(ecli.stderr());
  assert.ok(match, `no metrics address on stderr:\n${ecli.stderr()}`);
  return Number(match[1]);
}

function execTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/true', [], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
}

const single = (samples: { value: number }[]): number | undefined => (samples.length === 1 ? samples[0]!.value : undefined);

test('Prometheus scrapes runqlat histograms and execsnoop event counters while stdout output goes on', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !havePrometheus(t)) return;
  const runqlat = compileExample(t, 'runqlat');
  const execsnoop = compileExample(t, 'execsnoop');
  const histograms = await startEcliFor(t, ['run', '--metrics', '[::]:0', '--metrics-labels', 'host=test1,role=ci', runqlat.packagePath]);
  const events = await startEcliFor(t, ['run', '--metrics', '127.0.0.1:0', execsnoop.packagePath]);
  const histogramTarget = `127.0.0.1:${servedPort(histograms)}`;
  const eventTarget = `127.0.0.1:${servedPort(events)}`;
  const prometheus = await startPrometheus(t, [histogramTarget, eventTarget]);

  await prometheus.waitFor('up{job="ecli"} == 1', (s) => s.length === 2);
  const info = await prometheus.waitFor('ecli_info', (s) => s.length === 2);
  assert.deepEqual(
    info.map((s) => [s.metric.instance, s.metric.name, s.metric.object]).sort(),
    [
      [eventTarget, 'execsnoop_bpf', 'execsnoop_bpf'],
      [histogramTarget, 'runqlat_bpf', 'runqlat_bpf'],
    ].sort(),
  );

  // The event counter before and after execs made here (other processes may exec too: at least EXECS more).
  const received = `ecli_events_received_total{instance="${eventTarget}",export="events"}`;
  const before = single(await prometheus.waitFor(received, (s) => single(s) !== undefined))!;
  for (let i = 0; i < EXECS; i++) await execTrue();
  await prometheus.waitFor(received, (s) => (single(s) ?? 0) >= before + EXECS);
  assert.deepEqual(await prometheus.query(`ecli_events_malformed_total{instance="${eventTarget}"}`).then((s) => s.map((x) => x.value)), [0]);
  assert.deepEqual(await prometheus.query(`ecli_events_lost_total{instance="${eventTarget}"}`).then((s) => s.map((x) => x.value)), [0]);
  // stdout is unchanged: a row per exec of /bin/true.
  await events.waitForLine(() => events.lines.filter((l) => l.endsWith(' /bin/true')).length >= EXECS);

  // runqlat: the all-tasks histogram (key 4294967295) has counts, buckets are cumulative, the constant labels are on it.
  const series = `ecli_hists_seconds_count{instance="${histogramTarget}",key="4294967295",host="test1",role="ci"}`;
  await prometheus.waitFor(series, (s) => (single(s) ?? 0) > 0);
  // One expression, so both sides come from the same scrape (the counts grow between scrapes).
  const infMinusCount = await prometheus.query(`ecli_hists_seconds_bucket{instance="${histogramTarget}",key="4294967295",le="+Inf"} - ignoring(le) ${series}`);
  assert.deepEqual(
    infMinusCount.map((x) => x.value),
    [0],
    '+Inf bucket = _count',
  );
  const buckets = await prometheus.query(`ecli_hists_seconds_bucket{instance="${histogramTarget}",key="4294967295"}`);
  assert.equal(buckets.length, 27, '26 slots and +Inf');
  const ordered = buckets.map((b) => [Number(b.metric.le === '+Inf' ? Infinity : b.metric.le), b.value] as const).sort((a, b) => a[0] - b[0]);
  ordered.forEach(([, value], i) => assert.ok(i === 0 || value >= ordered[i - 1]![1], 'cumulative buckets'));
  const quantile = single(await prometheus.query(`histogram_quantile(0.5, ecli_hists_seconds_bucket{instance="${histogramTarget}",key="4294967295"})`));
  assert.ok(quantile !== undefined && quantile > 0 && quantile < 60, `median run-queue latency in seconds: ${quantile}`);
  assert.ok(
    histograms.lines.some((l) => /^\s+usecs\s+: count\s+distribution$/.test(l)),
    'stdout still has the histogram',
  );
  const rss = await prometheus.query(`process_resident_memory_bytes{instance="${histogramTarget}"}`);
  assert.ok(single(rss)! > 1e6, 'process metrics');

  await stopAndCheckUnloaded(histograms, 'SIGINT', runqlat.programNames);
  await stopAndCheckUnloaded(events, 'SIGINT', execsnoop.programNames);
});

test('a taken port or a bad address is a one-line usage error, before anything is loaded', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const execsnoop = compileExample(t, 'execsnoop');
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => taken.close());
  const port = (taken.address() as AddressInfo).port;
  const loaded = watchProgramNames(execsnoop.programNames);

  const busy = runTool(ecliPath, ['run', '--metrics', `127.0.0.1:${port}`, execsnoop.packagePath]);
  assert.equal(busy.status, 2);
  assert.equal(busy.stdout, '');
  assert.equal(
    busy.stderr,
    `ecli: error: cannot serve metrics on 127.0.0.1:${port}: the port is in use\nhint: choose another port, or stop what listens there\n`,
  );

  const bad = runTool(ecliPath, ['run', '--metrics', 'localhost', execsnoop.packagePath]);
  assert.equal(bad.status, 2);
  assert.equal(
    bad.stderr,
    'ecli: error: --metrics localhost: no port\nhint: give HOST:PORT, e.g. --metrics 127.0.0.1:9464, or [::]:9464 for every IPv6 and IPv4 address\n',
  );
  const labels = runTool(ecliPath, ['run', '--metrics-labels', 'host=a', execsnoop.packagePath]);
  assert.equal(labels.status, 2);
  assert.equal(labels.stderr, 'ecli: error: --metrics-labels needs --metrics\nhint: add --metrics HOST:PORT, e.g. --metrics 127.0.0.1:9464\n');
  await loaded.assertNoneAdded();
});
