/**
 * The mapping of every sampled map kind and of event exports to Prometheus metric families,
 * checked as the exact text a scrape serves (golden text); the series limit, label clashes,
 * label values that must stay distinct, and package strings escaped.
 */
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { checkSampleColumns } from '../../src/btf/export-check.js';
import { EcliError } from '../../src/errors.js';
import { RunMetrics } from '../../src/metrics/run-metrics.js';
import type { EventExportSpec } from '../../src/model/exports.js';
import type { RunCounters } from '../../src/runner/counters.js';
import type { SampledMapSpec } from '../../src/runner/observer.js';
import type { ExportedTypesStructMeta, MapSampleMeta } from '../../src/package/types.js';
import { BtfKind } from '../../src/btf/types.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const IDENTITY = { name: 'demo', version: '1.2.3', object: 'demo_bpf' };

function newMetrics(constantLabels: Record<string, string> = {}, warnings: string[] = [], seriesLimit = 10_000, identity = IDENTITY): RunMetrics {
  return new RunMetrics({ identity, constantLabels, warn: (m) => warnings.push(m), processMetrics: false, seriesLimit });
}

/** The whole text of one scrape. */
async function scrapeText(metrics: RunMetrics): Promise<string> {
  let text = '';
  for await (const slice of metrics.scrape()) text += slice;
  return text;
}

/** The families of a scrape's text, by name. */
function familiesOf(text: string): Map<string, string> {
  return new Map(text.split(/\n(?=# HELP )/).map((block) => [/^# HELP (\S+)/.exec(block)![1]!, block.endsWith('\n') ? block : `${block}\n`]));
}

/** The scrape text without ecli_info and ecli_metrics_series*, which every test but a few leaves out. */
async function scrapeWithoutInfo(metrics: RunMetrics): Promise<string> {
  const kept = [...familiesOf(await scrapeText(metrics))].filter(([name]) => name !== 'ecli_info' && !name.startsWith('ecli_metrics_series'));
  return kept.map(([, block]) => block).join('\n');
}

interface MapTypes {
  btf: Btf;
  key: number;
  value: number;
}

function spec(types: MapTypes, mapName: string, sample: MapSampleMeta): SampledMapSpec {
  const { btf } = types;
  return {
    btf,
    mapName,
    sample,
    keyTypeId: types.key,
    valueTypeId: types.value,
    key: checkSampleColumns(btf, types.key).columns,
    value: checkSampleColumns(btf, types.value, exportType(btf, types.value)).columns,
  };
}

/** The export type ecc writes for a struct (what names the value columns in a run). */
function exportType(btf: Btf, typeId: number): ExportedTypesStructMeta | undefined {
  const t = btf.resolve(typeId);
  if (t.kind !== BtfKind.Struct) return undefined;
  return { name: t.name, members: t.members.map((m) => ({ name: m.name, type: btf.typeName(m.type) })), size: t.size, type_id: t.id };
}

/** key u32; value struct hist { u32 slots[4]; char comm[8]; } */
function histTypes(): MapTypes {
  const b = new BtfBuilder();
  const u32 = b.typedef('u32', b.int('unsigned int', 4));
  const char = b.int('char', 1, { signed: true, char: true });
  const hist = b.struct('hist', [
    { name: 'slots', type: b.array(u32, 4) },
    { name: 'comm', type: b.array(char, 8) },
  ]);
  return { btf: Btf.parse(b.build()), key: u32, value: hist };
}

function u32Key(n: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(n);
  return key;
}

function histValue(slots: number[], comm: string): Buffer {
  const value = Buffer.alloc(24);
  slots.forEach((s, i) => value.writeUInt32LE(s, i * 4));
  value.write(comm, 16);
  return value;
}

test('ecli_info names the package; constant labels go on every series', async () => {
  const metrics = newMetrics({ host: 'web1', role: 'db' });
  assert.equal(
    await scrapeText(metrics),
    '# HELP ecli_info The package ecli runs (always 1)\n' +
      '# TYPE ecli_info gauge\n' +
      'ecli_info{name="demo",version="1.2.3",object="demo_bpf",host="web1",role="db"} 1\n',
  );
});

/** key struct flow { u32 port; char proto[4]; }; value struct bytes { u64 slots[3]; } */
function flowTypes(): MapTypes {
  const b = new BtfBuilder();
  const u32 = b.typedef('u32', b.int('unsigned int', 4));
  const u64 = b.int('unsigned long long', 8);
  const char = b.int('char', 1, { signed: true, char: true });
  const flow = b.struct('flow', [
    { name: 'port', type: u32 },
    { name: 'proto', type: b.array(char, 4) },
  ]);
  const bytes = b.struct('bytes', [{ name: 'slots', type: b.array(u64, 3) }]);
  return { btf: Btf.parse(b.build()), key: flow, value: bytes };
}

function flowKey(port: number, proto: string): Buffer {
  const key = Buffer.alloc(8);
  key.writeUInt32LE(port);
  key.write(proto, 4);
  return key;
}

function u64Slots(...slots: number[]): Buffer {
  const value = Buffer.alloc(slots.length * 8);
  slots.forEach((s, i) => value.writeBigUInt64LE(BigInt(s), i * 8));
  return value;
}

/** key u32; value struct stats { u64 count; char comm[8]; bool busy; enum state; u32 pair[2]; double load; } */
function statsTypes(): MapTypes {
  const b = new BtfBuilder();
  const u32 = b.typedef('u32', b.int('unsigned int', 4));
  const u64 = b.int('unsigned long long', 8);
  const char = b.int('char', 1, { signed: true, char: true });
  const bool = b.int('_Bool', 1, { bool: true });
  const state = b.enum('state', 4, [
    ['IDLE', 0],
    ['RUNNING', 1],
  ]);
  const stats = b.struct('stats', [
    { name: 'count', type: u64 },
    { name: 'comm', type: b.array(char, 8) },
    { name: 'busy', type: bool },
    { name: 'state', type: state },
    { name: 'pair', type: b.array(u32, 2) },
    { name: 'load', type: b.float('double', 8) },
  ]);
  return { btf: Btf.parse(b.build()), key: u32, value: stats };
}

function statsValue(count: number, comm: string, busy: boolean, state: number, load: number): Buffer {
  const value = Buffer.alloc(40);
  value.writeBigUInt64LE(BigInt(count), 0);
  value.write(comm, 8);
  value.writeUInt8(busy ? 1 : 0, 16);
  value.writeUInt32LE(state, 20);
  value.writeDoubleLE(load, 32);
  return value;
}

const HISTS_HELP =
  '# HELP ecli_hists_seconds log2_hist map hists, unit usecs as seconds; _sum is estimated from the middle of each slot\n' +
  '# TYPE ecli_hists_seconds histogram\n';

/** The series of one key of the hists map: slots are 0-1, 2-3, 4-7 and 8-15 usecs. */
function histsSeries(labels: string, cumulative: number[], sum: string): string {
  const les = ['0.000001', '0.000003', '0.000007', '0.000015', '+Inf'];
  const buckets = les.map((le, i) => `ecli_hists_seconds_bucket{${labels},le="${le}"} ${cumulative[Math.min(i, 3)]}\n`).join('');
  return `${buckets}ecli_hists_seconds_sum{${labels}} ${sum}\necli_hists_seconds_count{${labels}} ${cumulative[3]}\n`;
}

test('log2_hist: cumulative buckets in seconds from usecs, one series per key; the key and string members are labels', async () => {
  const metrics = newMetrics();
  const watch = metrics.sampled(spec(histTypes(), 'hists', { interval: 1000, type: 'log2_hist', unit: 'usecs' }));
  watch.intervalRead([
    [u32Key(0), histValue([1, 2, 0, 4], 'bash')],
    [u32Key(7), histValue([0, 0, 0, 0], '')],
  ]);
  // _sum: 1 × 0.5 + 2 × 2.5 + 4 × 11.5 usecs (the middle of each slot).
  assert.equal(
    await scrapeWithoutInfo(metrics),
    HISTS_HELP + histsSeries('key="0",comm="bash"', [1, 3, 3, 7], '0.0000515') + histsSeries('key="7",comm=""', [0, 0, 0, 0], '0'),
  );
});

test('without clear_map every read replaces the last: a scrape shows the latest read (it never reads the map), and keys that left the map go', async () => {
  const metrics = newMetrics();
  const watch = metrics.sampled(spec(histTypes(), 'hists', { interval: 1000, type: 'log2_hist', unit: 'usecs' }));
  watch.intervalRead([
    [u32Key(0), histValue([1, 0, 0, 0], 'a')],
    [u32Key(1), histValue([1, 0, 0, 0], 'b')],
  ]);
  watch.intervalRead([[u32Key(0), histValue([2, 1, 0, 0], 'a')]]);
  assert.equal(await scrapeWithoutInfo(metrics), HISTS_HELP + histsSeries('key="0",comm="a"', [2, 3, 3, 3], '0.0000035'));
  assert.equal(await scrapeWithoutInfo(metrics), HISTS_HELP + histsSeries('key="0",comm="a"', [2, 3, 3, 3], '0.0000035'), 'scrapes between reads agree');
  metrics.detach();
  watch.intervalRead([[u32Key(0), histValue([9, 0, 0, 0], 'a')]]);
  assert.equal(await scrapeWithoutInfo(metrics), HISTS_HELP + histsSeries('key="0",comm="a"', [2, 3, 3, 3], '0.0000035'), 'a detached run is not updated');
});

const FLOW_SAMPLE: MapSampleMeta = { interval: 1000, type: 'linear_hist', unit: 'packets', min: 10, step: 5, clear_map: true };

function flowSeries(labels: string, slots: number[]): string {
  const cumulative = [slots[0]!, slots[0]! + slots[1]!, slots[0]! + slots[1]! + slots[2]!];
  const sum = slots[0]! * 12 + slots[1]! * 17 + slots[2]! * 22;
  const buckets = ['14', '19', '24', '+Inf'].map((le, i) => `ecli_flow_sizes_packets_bucket{${labels},le="${le}"} ${cumulative[Math.min(i, 2)]}\n`).join('');
  return `${buckets}ecli_flow_sizes_packets_sum{${labels}} ${sum}\necli_flow_sizes_packets_count{${labels}} ${cumulative[2]}\n`;
}

const FLOW_HELP =
  '# HELP ecli_flow_sizes_packets linear_hist map flowSizes, unit packets; _sum is estimated from the middle of each slot; ' +
  'the sum of every interval, since the map is cleared each interval\n' +
  '# TYPE ecli_flow_sizes_packets histogram\n';

test('linear_hist with clear_map: struct key members are labels; buckets sum every interval, so they only grow', async () => {
  const metrics = newMetrics();
  const watch = metrics.sampled(spec(flowTypes(), 'flowSizes', FLOW_SAMPLE));
  watch.intervalRead([[flowKey(80, 'tcp'), u64Slots(1, 0, 2)]]);
  assert.equal(await scrapeWithoutInfo(metrics), FLOW_HELP + flowSeries('port="80",proto="tcp"', [1, 0, 2]));
  // The next interval (the tick cleared the map): its counts are added.
  watch.intervalRead([
    [flowKey(80, 'tcp'), u64Slots(0, 4, 0)],
    [flowKey(53, 'udp'), u64Slots(5, 0, 1)],
  ]);
  assert.equal(await scrapeWithoutInfo(metrics), FLOW_HELP + flowSeries('port="80",proto="tcp"', [1, 4, 2]) + flowSeries('port="53",proto="udp"', [5, 0, 1]));
  watch.intervalRead([]);
  assert.equal(
    await scrapeWithoutInfo(metrics),
    FLOW_HELP + flowSeries('port="80",proto="tcp"', [1, 4, 2]) + flowSeries('port="53",proto="udp"', [5, 0, 1]),
    'an empty interval changes nothing',
  );
});

const STATS_GAUGES = (labels: string, count: number, busy: number, load: string): string =>
  '# HELP ecli_counts_count Member count of map counts (default_kv)\n' +
  '# TYPE ecli_counts_count gauge\n' +
  `ecli_counts_count{${labels}} ${count}\n\n` +
  '# HELP ecli_counts_busy Member busy of map counts (default_kv)\n' +
  '# TYPE ecli_counts_busy gauge\n' +
  `ecli_counts_busy{${labels}} ${busy}\n\n` +
  '# HELP ecli_counts_load Member load of map counts (default_kv)\n' +
  '# TYPE ecli_counts_load gauge\n' +
  `ecli_counts_load{${labels}} ${load}\n`;

test('default_kv: a gauge per numeric member (integers, bools, floats); strings and enums are labels; other members are left out with a note', async () => {
  const warnings: string[] = [];
  const metrics = newMetrics({}, warnings);
  const watch = metrics.sampled(spec(statsTypes(), 'counts', { interval: 1000, type: 'default_kv' }));
  watch.intervalRead([[u32Key(42), statsValue(17, 'nginx', true, 1, 0.25)]]);
  assert.equal(await scrapeWithoutInfo(metrics), STATS_GAUGES('key="42",comm="nginx",state="RUNNING(1)"', 17, 1, '0.25'));
  assert.deepEqual(warnings, ['metrics: member "pair" of map counts (u32[2]) is neither a number nor a string, so it is not exported']);
});

test('default_kv with clear_map: gauges show the last whole interval', async () => {
  const metrics = newMetrics();
  const watch = metrics.sampled(spec(statsTypes(), 'counts', { interval: 1000, type: 'default_kv', clear_map: true }));
  watch.intervalRead([[u32Key(42), statsValue(17, 'nginx', true, 1, 0.25)]]);
  const text = await scrapeWithoutInfo(metrics);
  assert.match(text, /^ecli_counts_count\{key="42",comm="nginx",state="RUNNING\(1\)"\} 17$/m);
  assert.match(text, /# HELP ecli_counts_count Member count of map counts \(default_kv, value of the last interval: the map is cleared each interval\)/);
});

test('a value that is a single number is the gauge ecli_<map>; map names become snake_case', async () => {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const u64 = b.typedef('__u64', b.int('unsigned long long', 8));
  const metrics = newMetrics();
  const watch = metrics.sampled(spec({ btf: Btf.parse(b.build()), key: u32, value: u64 }, 'bytesByPid', { interval: 1000 }));
  watch.intervalRead([[u32Key(1), u64Slots(2 ** 40)]]);
  assert.equal(
    await scrapeWithoutInfo(metrics),
    '# HELP ecli_bytes_by_pid Member __u64 of map bytesByPid (default_kv)\n# TYPE ecli_bytes_by_pid gauge\necli_bytes_by_pid{key="1"} 1099511627776\n',
  );
});

test('a histogram value with other numeric members (hardirqs): the histogram plus a gauge per member, a char-array key as its label', async () => {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const u64 = b.int('unsigned long long', 8);
  const char = b.int('char', 1, { signed: true, char: true });
  const key = b.struct('irq_key', [{ name: 'name', type: b.array(char, 8) }]);
  const info = b.struct('info', [
    { name: 'count', type: u64 },
    { name: 'slots', type: b.array(u32, 2) },
  ]);
  const metrics = newMetrics();
  const watch = metrics.sampled(spec({ btf: Btf.parse(b.build()), key, value: info }, 'infos', { interval: 1000, type: 'log2_hist', unit: 'nsecs' }));
  const value = Buffer.alloc(16);
  value.writeBigUInt64LE(5n, 0);
  value.writeUInt32LE(2, 8);
  value.writeUInt32LE(3, 12);
  watch.intervalRead([[Buffer.from('virtio0\0'), value]]);
  assert.equal(
    await scrapeWithoutInfo(metrics),
    '# HELP ecli_infos_seconds log2_hist map infos, unit nsecs as seconds; _sum is estimated from the middle of each slot\n' +
      '# TYPE ecli_infos_seconds histogram\n' +
      'ecli_infos_seconds_bucket{name="virtio0",le="1e-9"} 2\n' +
      'ecli_infos_seconds_bucket{name="virtio0",le="3e-9"} 5\n' +
      'ecli_infos_seconds_bucket{name="virtio0",le="+Inf"} 5\n' +
      'ecli_infos_seconds_sum{name="virtio0"} 8.5e-9\n' +
      'ecli_infos_seconds_count{name="virtio0"} 5\n\n' +
      '# HELP ecli_infos_count Member count of map infos (log2_hist)\n' +
      '# TYPE ecli_infos_count gauge\n' +
      'ecli_infos_count{name="virtio0"} 5\n',
  );
});

test('event exports: received, lost (perf only), malformed and dropped counters per export, as the run keeps them', async () => {
  const metrics = newMetrics();
  const exported = (name: string, transport: EventExportSpec['transport']) => ({ map: { name }, transport }) as EventExportSpec;
  const perf: RunCounters = { received: 10, lost: 1, malformed: 2, filtered: 0, dropped: 3 };
  metrics.events(exported('events', 'perf_event_array'), perf);
  metrics.events(exported('rb', 'ringbuf'), { received: 5, lost: 0, malformed: 0, filtered: 0, dropped: 0 });
  const expected = (received: number) =>
    '# HELP ecli_events_received_total Events received from the exported ring buffer or perf event array\n' +
    '# TYPE ecli_events_received_total counter\n' +
    `ecli_events_received_total{export="events"} ${received}\n` +
    'ecli_events_received_total{export="rb"} 5\n\n' +
    '# HELP ecli_events_lost_total Events lost in the kernel because the perf buffer was full\n' +
    '# TYPE ecli_events_lost_total counter\n' +
    'ecli_events_lost_total{export="events"} 1\n\n' +
    '# HELP ecli_events_malformed_total Events skipped because they were too short for their struct\n' +
    '# TYPE ecli_events_malformed_total counter\n' +
    'ecli_events_malformed_total{export="events"} 2\n' +
    'ecli_events_malformed_total{export="rb"} 0\n\n' +
    '# HELP ecli_events_dropped_total Events dropped because stdout could not keep up\n' +
    '# TYPE ecli_events_dropped_total counter\n' +
    'ecli_events_dropped_total{export="events"} 3\n' +
    'ecli_events_dropped_total{export="rb"} 0\n';
  assert.equal(await scrapeWithoutInfo(metrics), expected(10));
  perf.received += 1000;
  assert.equal(await scrapeWithoutInfo(metrics), expected(1010));
});

test('process metrics come from prom-client; every metric name is valid snake_case', async () => {
  const metrics = new RunMetrics({ identity: IDENTITY, constantLabels: {}, warn: () => undefined, processMetrics: true, seriesLimit: 10 });
  metrics.sampled(spec(histTypes(), 'hists', { interval: 1000, type: 'log2_hist', unit: 'usecs' }));
  const text = await scrapeText(metrics);
  assert.match(text, /^process_cpu_seconds_total \d/m);
  assert.match(text, /^process_resident_memory_bytes \d/m);
  for (const [, name] of text.matchAll(/^# TYPE (\S+) /gm)) assert.match(name!, /^[a-z][a-z0-9_]*$/);
});

test('clashing names are refused before anything is loaded: two maps with one metric name, a constant label the series already have', () => {
  const metrics = newMetrics();
  metrics.sampled(spec(histTypes(), 'myHists', { interval: 1000, type: 'log2_hist', unit: 'usecs' }));
  assert.throws(
    () => metrics.sampled(spec(histTypes(), 'my_hists', { interval: 1000, type: 'log2_hist', unit: 'usecs' })),
    (e: unknown) =>
      e instanceof EcliError &&
      e.code === 'PACKAGE_INVALID' &&
      e.message === 'metrics: map myHists and map my_hists both give the metric name ecli_my_hists_seconds',
  );
  const labelled = newMetrics({ comm: 'x' });
  assert.throws(
    () => labelled.sampled(spec(histTypes(), 'hists', { interval: 1000, type: 'log2_hist' })),
    (e: unknown) => e instanceof EcliError && e.code === 'USAGE' && e.message === '--metrics-labels: comm is already a label of ecli_hists',
  );
  assert.throws(() => newMetrics({ version: '1' }), /--metrics-labels: version is already a label of ecli_info/);
});

/** key struct { u64 call; }; value struct { u32 slots[2]; } — a key that never repeats, like a call number. */
function callTypes(): MapTypes {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const u64 = b.int('unsigned long long', 8);
  const key = b.struct('call_key', [{ name: 'call', type: u64 }]);
  const value = b.struct('calls_hist', [{ name: 'slots', type: b.array(u32, 2) }]);
  return { btf: Btf.parse(b.build()), key, value };
}

const callKey = (n: number): Buffer => u64Slots(n);
const twoSlots = (a: number, b: number): Buffer => Buffer.from(new Uint32Array([a, b]).buffer);
const seriesOf = (text: string, metric: string): string[] => [...text.matchAll(new RegExp(`^${metric}\\{(.*)\\} \\S+$`, 'gm'))].map((m) => m[1]!);

test('the series limit: with clear_map and a new key every call, the series updated longest ago are dropped and counted, with one note', async () => {
  const warnings: string[] = [];
  const metrics = newMetrics({}, warnings, 3);
  const watch = metrics.sampled(spec(callTypes(), 'fresh', { interval: 1000, type: 'log2_hist', clear_map: true }));
  watch.intervalRead([0, 1, 2].map((n) => [callKey(n), twoSlots(1, 0)]));
  assert.deepEqual(warnings, []);
  watch.intervalRead([3, 4].map((n) => [callKey(n), twoSlots(0, 1)]));
  // Key 2 again: updated last, so it stays; 0, 1 and 3 go (the oldest updates first).
  watch.intervalRead([
    [callKey(2), twoSlots(5, 0)],
    [callKey(5), twoSlots(1, 1)],
  ]);
  const text = await scrapeText(metrics);
  assert.deepEqual(seriesOf(text, 'ecli_fresh_count'), ['call="4"', 'call="2"', 'call="5"']);
  assert.match(text, /^ecli_fresh_count\{call="2"\} 6$/m, 'a kept series keeps its sum');
  assert.match(text, /^ecli_metrics_series_dropped_total\{map="fresh"\} 3$/m);
  assert.match(text, /^ecli_metrics_series\{map="fresh"\} 3$/m);
  assert.deepEqual(warnings, [
    'metrics: map fresh has more than 3 series; the ones updated longest ago are dropped (counted in ecli_metrics_series_dropped_total; --metrics-max-series raises the limit)',
  ]);
});

test('the series limit without clear_map: a read larger than the limit exports its last entries, and counts the others each read', async () => {
  const metrics = newMetrics({}, [], 2);
  const watch = metrics.sampled(spec(callTypes(), 'wide', { interval: 1000, type: 'log2_hist' }));
  const read = [10, 11, 12, 13].map((n): [Buffer, Buffer] => [callKey(n), twoSlots(n, 0)]);
  watch.intervalRead(read);
  watch.intervalRead(read);
  const text = await scrapeText(metrics);
  assert.deepEqual(seriesOf(text, 'ecli_wide_count'), ['call="12"', 'call="13"']);
  assert.match(text, /^ecli_metrics_series_dropped_total\{map="wide"\} 4$/m);
});

test('50,000 new keys a second for 20 s with the default limit: memory stays bounded, and a scrape is written in slices', async () => {
  const metrics = newMetrics({}, [], 10_000);
  const watch = metrics.sampled(spec(callTypes(), 'fresh', { interval: 1000, type: 'log2_hist', clear_map: true }));
  const held = (): number => {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers;
  };
  let next = 0;
  const interval = () => watch.intervalRead(Array.from({ length: 50_000 }, (): [Buffer, Buffer] => [callKey(next++), twoSlots(1, 2)]));
  interval();
  const before = held();
  for (let i = 0; i < 19; i++) interval();
  const grown = held() - before;
  // 10,000 series of a few hundred bytes each; unbounded, 1,000,000 series would be hundreds of MB.
  assert.ok(grown < 10e6, `memory grew by ${(grown / 1e6).toFixed(1)} MB`);
  let slices = 0;
  let largest = 0;
  for await (const slice of metrics.scrape()) {
    slices++;
    largest = Math.max(largest, slice.length);
  }
  assert.ok(slices >= 10_000 / 256, `${slices} slices`);
  assert.ok(largest < 200_000, `the largest slice is ${largest} characters`);
});

test('label clashes are refused before anything is loaded: two key members with one label name, a label named le on a histogram', () => {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const char = b.int('char', 1, { signed: true, char: true });
  const twins = b.struct('twins', [
    { name: 'fooBar', type: u32 },
    { name: 'foo_bar', type: u32 },
  ]);
  const leKey = b.struct('le_key', [{ name: 'le', type: u32 }]);
  const slots = b.struct('slots_only', [{ name: 'slots', type: b.array(u32, 2) }]);
  const leValue = b.struct('le_value', [
    { name: 'slots', type: b.array(u32, 2) },
    { name: 'le', type: b.array(char, 4) },
  ]);
  const btf = Btf.parse(b.build());
  const refused = (message: string) => (e: unknown) => e instanceof EcliError && e.code === 'PACKAGE_INVALID' && e.message === message;
  assert.throws(
    () => newMetrics().sampled(spec({ btf, key: twins, value: u32 }, 'pairs', { interval: 1000 })),
    refused('metrics: key members fooBar and foo_bar of map pairs both give the label foo_bar'),
  );
  assert.throws(
    () => newMetrics().sampled(spec({ btf, key: leKey, value: slots }, 'lat', { interval: 1000, type: 'log2_hist' })),
    refused('metrics: member le of histogram map lat gives the label le, which Prometheus keeps for bucket bounds'),
  );
  assert.throws(
    () => newMetrics().sampled(spec({ btf, key: u32, value: leValue }, 'lat', { interval: 1000, type: 'log2_hist' })),
    refused('metrics: member le of histogram map lat gives the label le, which Prometheus keeps for bucket bounds'),
  );
  // Not a histogram: `le` is an ordinary label.
  assert.doesNotThrow(() => newMetrics().sampled(spec({ btf, key: leKey, value: u32 }, 'counts', { interval: 1000 })));
});

test('label values stay distinct: a real ESC and the text \\e, two different invalid UTF-8 bytes, are different series', async () => {
  const metrics = newMetrics();
  const watch = metrics.sampled(spec(histTypes(), 'hists', { interval: 1000, type: 'log2_hist', unit: 'usecs' }));
  const comm = (bytes: number[]) => {
    const value = histValue([1, 0, 0, 0], '');
    Buffer.from(bytes).copy(value, 16);
    return value;
  };
  watch.intervalRead([
    [u32Key(1), comm([0x1b])],
    [u32Key(1), comm([0x5c, 0x65])],
    [u32Key(1), comm([0xff, 0x41])],
    [u32Key(1), comm([0xfe, 0x41])],
    [u32Key(1), comm([0xe2, 0x80, 0xae])],
  ]);
  const text = await scrapeText(metrics);
  assert.deepEqual(seriesOf(text, 'ecli_hists_seconds_count'), [
    'key="1",comm="\\\\e"',
    'key="1",comm="\\\\\\\\e"',
    'key="1",comm="\\\\xffA"',
    'key="1",comm="\\\\xfeA"',
    'key="1",comm="\\\\u{202e}"',
  ]);
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/.test(text), 'no raw control or bidi character in the scrape');
});

test('package strings in ecli_info, help texts and notes are escaped: no raw ESC, BEL or C1 reaches a scrape or a terminal', async () => {
  const warnings: string[] = [];
  const metrics = newMetrics({}, warnings, 10, { name: 'demo\x1b[2J', version: '1\x07.0\u009b', object: 'demo\\bpf' });
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const value = b.struct('odd', [
    { name: 'n\x1bum', type: u32 },
    { name: 'pair\x1b[31m', type: b.array(u32, 2) },
  ]);
  const watch = metrics.sampled(spec({ btf: Btf.parse(b.build()), key: u32, value }, 'odd', { interval: 1000 }));
  watch.intervalRead([[u32Key(1), Buffer.alloc(12, 1)]]);
  const text = await scrapeText(metrics);
  assert.match(text, /^ecli_info\{name="demo\\\\e\[2J",version="1\\\\x07\.0\\\\x9b",object="demo\\\\\\\\bpf"\} 1$/m);
  assert.match(text, /^# HELP ecli_odd_n_um Member n\\\\eum of map odd \(default_kv\)$/m);
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(text), 'no raw control character in the scrape');
  assert.deepEqual(warnings, ['metrics: member "pair\\e[31m" of map odd (unsigned int[2]) is neither a number nor a string, so it is not exported']);
});
