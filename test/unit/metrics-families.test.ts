/**
 * The mapping of every sampled map kind and of event exports to Prometheus metric families,
 * checked as the exact text prom-client's Registry serves (golden text).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { checkSampleColumns } from '../../src/btf/export-check.js';
import { EcliError } from '../../src/errors.js';
import { RunMetrics } from '../../src/metrics/run-metrics.js';
import type { EventExportSpec } from '../../src/model/exports.js';
import type { RunCounters } from '../../src/runner/counters.js';
import type { MapEntries, SampledMapSpec } from '../../src/runner/observer.js';
import type { ExportedTypesStructMeta, MapSampleMeta } from '../../src/package/types.js';
import { BtfKind } from '../../src/btf/types.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const IDENTITY = { name: 'demo', version: '1.2.3', object: 'demo_bpf' };

function newMetrics(constantLabels: Record<string, string> = {}, warnings: string[] = []): RunMetrics {
  return new RunMetrics({ identity: IDENTITY, constantLabels, warn: (m) => warnings.push(m), processMetrics: false });
}

/** The scrape text without ecli_info, which every test but one leaves out. */
async function scrapeWithoutInfo(metrics: RunMetrics): Promise<string> {
  const text = await metrics.scrape();
  return text.replace(/# HELP ecli_info [^]*?\n\n/, '');
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
    await metrics.scrape(),
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

test('without clear_map every read replaces the last: a scrape reads the map live, and keys that left the map go', async () => {
  const metrics = newMetrics();
  const watch = metrics.sampled(spec(histTypes(), 'hists', { interval: 1000, type: 'log2_hist', unit: 'usecs' }));
  watch.intervalRead([
    [u32Key(0), histValue([1, 0, 0, 0], 'a')],
    [u32Key(1), histValue([1, 0, 0, 0], 'b')],
  ]);
  let reads = 0;
  watch.connect(() => {
    reads++;
    return [[u32Key(0), histValue([2, 1, 0, 0], 'a')]];
  });
  assert.equal(await scrapeWithoutInfo(metrics), HISTS_HELP + histsSeries('key="0",comm="a"', [2, 3, 3, 3], '0.0000035'));
  assert.equal(reads, 1, 'one read per scrape');
  metrics.detach();
  watch.intervalRead([[u32Key(0), histValue([9, 0, 0, 0], 'a')]]);
  assert.equal(await scrapeWithoutInfo(metrics), HISTS_HELP + histsSeries('key="0",comm="a"', [9, 9, 9, 9], '0.0000045'));
  assert.equal(reads, 1, 'a detached run is never read');
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

test('linear_hist with clear_map: struct key members are labels; buckets sum every interval plus what a scrape sees of the current one', async () => {
  const metrics = newMetrics();
  const watch = metrics.sampled(spec(flowTypes(), 'flowSizes', FLOW_SAMPLE));
  let live: MapEntries = [];
  watch.connect(() => live);
  watch.intervalRead([[flowKey(80, 'tcp'), u64Slots(1, 0, 2)]]);
  // A scrape in the middle of the next interval: the map (cleared by the tick) holds only that interval's counts.
  live = [
    [flowKey(80, 'tcp'), u64Slots(0, 3, 0)],
    [flowKey(53, 'udp'), u64Slots(5, 0, 0)],
  ];
  assert.equal(await scrapeWithoutInfo(metrics), FLOW_HELP + flowSeries('port="80",proto="tcp"', [1, 3, 2]) + flowSeries('port="53",proto="udp"', [5, 0, 0]));
  // The tick reads the whole interval and clears the map: the totals only grow.
  watch.intervalRead([
    [flowKey(80, 'tcp'), u64Slots(0, 4, 0)],
    [flowKey(53, 'udp'), u64Slots(5, 0, 1)],
  ]);
  live = [];
  assert.equal(await scrapeWithoutInfo(metrics), FLOW_HELP + flowSeries('port="80",proto="tcp"', [1, 4, 2]) + flowSeries('port="53",proto="udp"', [5, 0, 1]));
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

test('default_kv with clear_map: gauges show the last whole interval; a scrape does not read the partial one', async () => {
  const metrics = newMetrics();
  const watch = metrics.sampled(spec(statsTypes(), 'counts', { interval: 1000, type: 'default_kv', clear_map: true }));
  watch.connect(() => [[u32Key(42), statsValue(2, 'nginx', false, 0, 0)]]);
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
  const metrics = new RunMetrics({ identity: IDENTITY, constantLabels: {}, warn: () => undefined, processMetrics: true });
  metrics.sampled(spec(histTypes(), 'hists', { interval: 1000, type: 'log2_hist', unit: 'usecs' }));
  const text = await metrics.scrape();
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
