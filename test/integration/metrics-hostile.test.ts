/**
 * `ecli run --metrics` under load and abuse, at a size that keeps each test short (the full-size
 * numbers are in BENCHMARKS.md): a clear_map histogram with a new key on every call stays within
 * --metrics-max-series while a real Prometheus scrapes it; eight clients scraping a 50,000-entry
 * map over and over do not hold up the run's stdout intervals; 300 half-sent requests do not
 * take ecli's file descriptors, and Prometheus still scrapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import type { RunningEcli } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { haveToolchain } from '../helpers/examples.js';
import { havePrometheus, startPrometheus } from '../helpers/prometheus.js';
import { callGetppid, compileNewKeys, compileWideArray } from '../helpers/wide-map.js';

/** The port ecli reports on stderr (`ecli: serving metrics at http://HOST:PORT/metrics`). */
function servedPort(ecli: RunningEcli): number {
  const match = /serving metrics at http:\/\/\S+:(\d+)\/metrics\n/.exec(ecli.stderr());
  assert.ok(match, `no metrics address on stderr:\n${ecli.stderr()}`);
  return Number(match[1]);
}

const single = (samples: { value: number }[]): number | undefined => (samples.length === 1 ? samples[0]!.value : undefined);

test('a new key on every call: the series stay within --metrics-max-series, the rest are counted as dropped, and Prometheus scrapes throughout', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !havePrometheus(t)) return;
  const LIMIT = 1000;
  const CALLS = 3000;
  const ROUNDS = 4;
  const packagePath = compileNewKeys(t, 2 * CALLS, 500);
  const ecli = await startEcliFor(t, [
    'run',
    '--metrics',
    '127.0.0.1:0',
    '--metrics-max-series',
    String(LIMIT),
    packagePath,
    '--target_pid',
    String(process.pid),
  ]);
  const target = `127.0.0.1:${servedPort(ecli)}`;
  const prometheus = await startPrometheus(t, [target]);
  await prometheus.waitFor(`up{instance="${target}"} == 1`, (s) => s.length === 1);
  for (let round = 0; round < ROUNDS; round++) {
    callGetppid(CALLS);
    await sleep(600);
  }
  // Every call is a key; a burst that lands while the tick clears the map can lose a few of them.
  const dropped = `ecli_metrics_series_dropped_total{instance="${target}",map="fresh"}`;
  await prometheus.waitFor(dropped, (s) => (single(s) ?? 0) >= (ROUNDS - 1) * CALLS);
  assert.ok(single(await prometheus.query(dropped))! <= ROUNDS * CALLS - LIMIT);
  assert.equal(single(await prometheus.query(`count(ecli_fresh_seconds_count{instance="${target}"})`)), LIMIT);
  assert.equal(single(await prometheus.query(`ecli_metrics_series{instance="${target}",map="fresh"}`)), LIMIT);
  await prometheus.waitFor(`up{instance="${target}"} == 1`, (s) => s.length === 1);
  assert.match(ecli.stderr(), /ecli: metrics: map fresh has more than 1000 series; the ones updated longest ago are dropped/);
  await stopAndCheckUnloaded(ecli, 'SIGINT');
});

test('eight clients scraping a 50,000-entry map without pause do not hold up the 1 s stdout intervals, and every scrape is whole', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const packagePath = compileWideArray(t, 50_000, 1000);
  const ecli = await startEcliFor(t, ['run', '--metrics', '127.0.0.1:0', '--top', '3', packagePath]);
  const url = `http://127.0.0.1:${servedPort(ecli)}/metrics`;
  await ecli.waitForLine((line) => /^\d\d:\d\d:\d\d /.test(line));
  // Each interval prints its rows at once (--top 3): the times of stdout's chunks show the intervals.
  const times: number[] = [];
  const onData = () => times.push(Date.now());
  ecli.child.stdout!.on('data', onData);
  const until = Date.now() + 6000;
  let scrapes = 0;
  const client = async (): Promise<void> => {
    while (Date.now() < until) {
      const text = await (await fetch(url)).text();
      assert.match(text, /^ecli_slots_hits\{slot="49999"\} /m, 'the whole map (10,000 newest series) in every scrape');
      assert.ok(text.endsWith('\n'));
      scrapes++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  ecli.child.stdout!.off('data', onData);
  const gaps = times.slice(1).map((time, i) => time - times[i]!);
  assert.ok(times.length >= 4, `${times.length} writes to stdout in 6 s of scraping (${scrapes} scrapes)`);
  assert.ok(Math.max(...gaps) < 2500, `stdout intervals ${JSON.stringify(gaps)} ms apart during ${scrapes} scrapes`);
  await stopAndCheckUnloaded(ecli, 'SIGINT');
});

/** Open file descriptors of process `pid`. */
function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

test('300 half-sent requests hold at most 64 of ecli descriptors, and Prometheus still scrapes', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !havePrometheus(t)) return;
  const packagePath = compileWideArray(t, 16, 1000);
  const ecli = await startEcliFor(t, ['run', '--metrics', '127.0.0.1:0', packagePath]);
  const port = servedPort(ecli);
  const target = `127.0.0.1:${port}`;
  const prometheus = await startPrometheus(t, [target]);
  await prometheus.waitFor(`up{instance="${target}"} == 1`, (s) => s.length === 1);
  const before = openFds(ecli.child.pid!);
  const sockets: Socket[] = [];
  t.after(() => sockets.forEach((s) => s.destroy()));
  for (let i = 0; i < 300; i++) {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'));
    socket.on('error', () => undefined);
    sockets.push(socket);
  }
  await sleep(1000);
  const during = openFds(ecli.child.pid!);
  assert.ok(during - before <= 64 + 2, `ecli held ${during - before} more descriptors during the attack (${before} before)`);
  // A scrape that began after the attack did, and succeeded.
  const attacked = Date.now() / 1000;
  await prometheus.waitFor(`timestamp(ecli_info{instance="${target}"})`, (s) => (single(s) ?? 0) > attacked + 1);
  await stopAndCheckUnloaded(ecli, 'SIGINT');
});
