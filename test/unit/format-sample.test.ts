process.env.TZ = 'UTC';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { checkSampleColumns } from '../../src/btf/export-check.js';
import { EcliError } from '../../src/errors.js';
import { parseFields } from '../../src/format/fields.js';
import { createSampleFormatter, linearHistogram, log2Histogram } from '../../src/format/sample.js';
import type { TimeMode } from '../../src/format/time.js';
import type { MapSampleMeta } from '../../src/package/types.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

import { loadFixture, mapTypeIds } from '../helpers/fixtures.js';

const clock = () => new Date('2024-05-06T12:00:00Z');

function runqlatColumns() {
  const { btf, meta } = loadFixture('runqlat.json');
  const ids = mapTypeIds(btf, 'hists');
  return { btf, key: checkSampleColumns(btf, ids.key).columns, value: checkSampleColumns(btf, ids.value, meta.export_types[0]).columns };
}

function runqlat(sample: MapSampleMeta, format: 'plain' | 'json' = 'plain', time?: TimeMode) {
  const { btf, key, value } = runqlatColumns();
  const formatter = createSampleFormatter(btf, key, value, { format, sample, mapName: 'hists', clock, ...(time === undefined ? {} : { time }) });
  const keyBytes = Buffer.alloc(4);
  keyBytes.writeUInt32LE(0x12345678);
  const valueBytes = Buffer.alloc(120);
  for (let i = 0; i < 26; i++) valueBytes.writeUInt32LE(1000 + i, i * 4);
  valueBytes.write('COMM-STR\0', 104);
  return { formatter, keyBytes, valueBytes };
}

const STARS_39 = `${'*'.repeat(39)} `;
const RUNQLAT_ROWS = [
  `         0 -> 1          : 1000     |${STARS_39}|`,
  `         2 -> 3          : 1001     |${STARS_39}|`,
  `         4 -> 7          : 1002     |${STARS_39}|`,
  `         8 -> 15         : 1003     |${STARS_39}|`,
  `        16 -> 31         : 1004     |${STARS_39}|`,
  `        32 -> 63         : 1005     |${STARS_39}|`,
  `        64 -> 127        : 1006     |${STARS_39}|`,
  `       128 -> 255        : 1007     |${STARS_39}|`,
  `       256 -> 511        : 1008     |${STARS_39}|`,
  `       512 -> 1023       : 1009     |${STARS_39}|`,
  `      1024 -> 2047       : 1010     |${STARS_39}|`,
  `      2048 -> 4095       : 1011     |${STARS_39}|`,
  `      4096 -> 8191       : 1012     |${STARS_39}|`,
  `      8192 -> 16383      : 1013     |${STARS_39}|`,
  `     16384 -> 32767      : 1014     |${STARS_39}|`,
  `     32768 -> 65535      : 1015     |${STARS_39}|`,
  `     65536 -> 131071     : 1016     |${STARS_39}|`,
  `    131072 -> 262143     : 1017     |${STARS_39}|`,
  `    262144 -> 524287     : 1018     |${STARS_39}|`,
  `    524288 -> 1048575    : 1019     |${STARS_39}|`,
  `   1048576 -> 2097151    : 1020     |${STARS_39}|`,
  `   2097152 -> 4194303    : 1021     |${STARS_39}|`,
  `   4194304 -> 8388607    : 1022     |${STARS_39}|`,
  `   8388608 -> 16777215   : 1023     |${STARS_39}|`,
  `  16777216 -> 33554431   : 1024     |${STARS_39}|`,
  `  33554432 -> 67108863   : 1025     |${'*'.repeat(40)}|`,
];

test('runqlat fixture, log2_hist: the key line, member lines, blank line, then the histogram', () => {
  const { formatter, keyBytes, valueBytes } = runqlat({ interval: 1000, type: 'log2_hist' });
  assert.equal(formatter.header, undefined);
  const text = formatter.format(keyBytes, valueBytes);
  const heading = '     (unit)              : count    distribution';
  assert.equal(text, `key =  305419896\ncomm = COMM-STR\n\n${[heading, ...RUNQLAT_ROWS].join('\n')}\n`);
  // What reaches stdout once the runner adds its newline: 29 non-empty lines, blank line last.
  const written = `${text}\n`;
  assert.equal(written.split('\n').filter((l) => l !== '').length, 29);
  assert.ok(written.endsWith('|\n\n'));
});

test('runqlat fixture, default_kv: key and value members as columns that widen to fit, under the reference header', () => {
  const { formatter, keyBytes, valueBytes } = runqlat({ interval: 1000 });
  // A 32-bit key starts 7 wide, like every 32-bit integer column.
  assert.equal(formatter.header, 'TIME     KEY      SLOTS  COMM   ');
  const slots = `[${Array.from({ length: 26 }, (_, i) => 1000 + i).join(',')}]`;
  // The slots text reaches past its column: COMM moves right, and the header is printed again.
  const header = `TIME     KEY        SLOTS${' '.repeat(slots.length + 1 - 5)}COMM   `;
  assert.equal(formatter.format(keyBytes, valueBytes), `${header}\n12:00:00  305419896 ${slots} COMM-STR`);
  assert.equal(formatter.format(keyBytes, valueBytes), `12:00:00  305419896 ${slots} COMM-STR`);
});

test('default_kv rows keep fixed offsets with widen false, and follow --time', () => {
  const b = new BtfBuilder();
  const u32 = b.typedef('__u32', b.int('unsigned int', 4));
  const u64 = b.typedef('__u64', b.int('unsigned long long', 8));
  const char = b.int('char', 1, { signed: true });
  const counts = b.struct('counts', [
    { name: 'count', type: u64 },
    { name: 'comm', type: b.array(char, 16) },
  ]);
  const btf = Btf.parse(b.build());
  const key = checkSampleColumns(btf, u32).columns;
  const value = checkSampleColumns(btf, counts, {
    name: 'counts',
    members: [
      { name: 'count', type: '__u64' },
      { name: 'comm', type: 'char[16]' },
    ],
    size: 24,
    type_id: counts,
  }).columns;
  const k = Buffer.from([0x39, 0x30, 0, 0]);
  const v = Buffer.alloc(24);
  v.writeBigUInt64LE(98n, 0);
  v.write('sh', 8);
  const fixed = createSampleFormatter(btf, key, value, { format: 'plain', sample: { interval: 1000 }, mapName: 'c', clock, widen: false });
  assert.equal(fixed.header, 'TIME     KEY    COUNT  COMM   ', 'a key that is one number is the column KEY, not __U32');
  assert.equal(fixed.format(k, v), '12:00:00  12345 98     sh');
  const untimed = createSampleFormatter(btf, key, value, { format: 'plain', sample: { interval: 1000 }, mapName: 'c', clock, time: 'none' });
  assert.equal(untimed.header, 'KEY     COUNT        COMM   ');
  assert.equal(untimed.format(k, v), '12345   98           sh');

  // --fields chooses among the key's and the value's columns, in plain text and JSON.
  const plainOptions = { format: 'plain' as const, sample: { interval: 1000 }, mapName: 'c', clock, time: 'none' as const };
  const chosen = createSampleFormatter(btf, key, value, { ...plainOptions, fields: parseFields('comm,key') });
  assert.equal(chosen.header, 'COMM             KEY    ');
  assert.equal(chosen.format(k, v), 'sh               12345');
  assert.equal(createSampleFormatter(btf, key, value, { ...plainOptions, fields: parseFields('-count') }).header, 'KEY     COMM   ');
  const json = createSampleFormatter(btf, key, value, { ...plainOptions, format: 'json', fields: parseFields('key,comm') });
  assert.equal(json.format(k, v), '{"key":{"__u32":12345},"value":{"comm":"sh"}}', "JSON keeps the reference's member names");
  assert.throws(
    () => createSampleFormatter(btf, key, value, { ...plainOptions, fields: parseFields('cont') }),
    (e: unknown) =>
      e instanceof EcliError && e.code === 'USAGE' && /^--fields: a __u32 → struct \w+ entry has no field cont \(did you mean count\?\)$/.test(e.message),
  );
});

test('--fields on a histogram is a usage error', () => {
  const { btf, key, value } = runqlatColumns();
  for (const format of ['plain', 'json'] as const) {
    assert.throws(
      () => createSampleFormatter(btf, key, value, { format, sample: { interval: 1000, type: 'log2_hist' }, mapName: 'hists', fields: parseFields('comm') }),
      (e: unknown) =>
        e instanceof EcliError &&
        e.code === 'USAGE' &&
        e.message === '--fields chooses the columns of events and of default_kv maps, but map hists is a log2_hist histogram',
    );
  }
});

test("runqlat fixture, JSON: the reference's key/value line, with a timestamp; histograms add buckets and unit", () => {
  const slots = Array.from({ length: 26 }, (_, i) => 1000 + i).join(',');
  const reference = `"key":{"u32":305419896},"timestamp":"2024-05-06T12:00:00.000+00:00","value":{"comm":"COMM-STR","slots":[${slots}]}`;
  const { formatter, keyBytes, valueBytes } = runqlat({ interval: 1000, type: 'default_kv' }, 'json');
  assert.equal(formatter.header, undefined);
  assert.equal(formatter.format(keyBytes, valueBytes), `{${reference}}`);
  const log2 = runqlat({ interval: 1000, type: 'log2_hist', unit: 'usecs' }, 'json');
  const line = JSON.parse(log2.formatter.format(log2.keyBytes, log2.valueBytes)) as { buckets: { low: number; high: number; count: number }[]; unit: string };
  assert.equal(line.unit, 'usecs');
  assert.equal(line.buckets.length, 26);
  assert.deepEqual(line.buckets.slice(0, 3), [
    { count: 1000, high: 1, low: 0 },
    { count: 1001, high: 3, low: 2 },
    { count: 1002, high: 7, low: 4 },
  ]);
  assert.deepEqual(line.buckets[25], { count: 1025, high: 2 ** 26 - 1, low: 2 ** 25 });
  const text = log2.formatter.format(log2.keyBytes, log2.valueBytes);
  assert.ok(text.startsWith('{"buckets":[{"count":1000,"high":1,"low":0},'), text);
  assert.ok(text.endsWith(`,${reference.replace('"value"', '"unit":"usecs","value"')}}`), text);
  // --time none: no timestamp; the unit defaults to the reference's "(unit)".
  const untimed = runqlat({ interval: 1000, type: 'linear_hist', min: 10, step: 5 }, 'json', 'none');
  const linear = untimed.formatter.format(untimed.keyBytes, untimed.valueBytes);
  assert.ok(linear.startsWith('{"buckets":[{"count":1000,"high":14,"low":10},{"count":1001,"high":19,"low":15},'), linear);
  assert.ok(linear.endsWith(`],"key":{"u32":305419896},"unit":"(unit)","value":{"comm":"COMM-STR","slots":[${slots}]}}`), linear);
});

test('log2_hist plain: a time line before each interval; no key line for the only entry with a placeholder key', () => {
  const { formatter, valueBytes } = runqlat({ interval: 1000, type: 'log2_hist' });
  assert.equal(formatter.intervalHeader(), '12:00:00');
  const heading = '     (unit)              : count    distribution';
  const body = `comm = COMM-STR\n\n${[heading, ...RUNQLAT_ROWS].join('\n')}\n`;
  const global = Buffer.alloc(4, 0xff);
  assert.equal(formatter.format(global, valueBytes, 1), body, 'runqlat -1: the global histogram');
  assert.equal(formatter.format(Buffer.alloc(4), valueBytes, 1), body, 'a zero key');
  // Among several entries, or a real key, the key line stays.
  assert.equal(formatter.format(global, valueBytes, 2), `key =  4294967295\n${body}`);
  const real = Buffer.alloc(4);
  real.writeUInt32LE(42);
  assert.equal(formatter.format(real, valueBytes, 1), `key =  42\n${body}`);
  const untimed = runqlat({ interval: 1000, type: 'log2_hist' }, 'plain', 'ms');
  assert.equal(untimed.formatter.intervalHeader(), '12:00:00.000');
  assert.equal(runqlat({ interval: 1000, type: 'log2_hist' }, 'plain', 'none').formatter.intervalHeader(), undefined);
});

test('log2 histogram: the library unit test values with unit qaq', () => {
  assert.equal(
    log2Histogram([1n, 8n, 138n, 512n, 1029n, 16n], 'qaq'),
    '     qaq                 : count    distribution\n' +
      '         0 -> 1          : 1        |                                        |\n' +
      '         2 -> 3          : 8        |                                        |\n' +
      '         4 -> 7          : 138      |*****                                   |\n' +
      '         8 -> 15         : 512      |*******************                     |\n' +
      '        16 -> 31         : 1029     |****************************************|\n' +
      '        32 -> 63         : 16       |                                        |\n',
  );
  assert.equal(log2Histogram([0n, 0n], 'us'), '');
});

test('log2 histogram past slot 32 widens to 20 and draws 20 stars', () => {
  const counts = new Array<bigint>(36).fill(0n);
  counts[33] = 4n;
  counts[34] = 2n;
  const lines = log2Histogram(counts, 'ns').split('\n');
  assert.equal(lines[0], `${' '.repeat(15)}${'ns'.padEnd(29)} : count    distribution`);
  assert.equal(lines[1], `${'0'.padStart(20)} -> ${'1'.padEnd(20)} : 0        |${' '.repeat(20)}|`);
  assert.equal(lines[34], `${'8589934592'.padStart(20)} -> ${'17179869183'.padEnd(20)} : 4        |${'*'.repeat(20)}|`);
  assert.equal(lines[35], `${'17179869184'.padStart(20)} -> ${'34359738367'.padEnd(20)} : 2        |${'*'.repeat(10)}${' '.repeat(10)}|`);
  assert.equal(lines.length, 37);
});

function histBtf(slotType: 'u32' | 'u64', slotCount: number, slotsName = 'slots') {
  const b = new BtfBuilder();
  const u32 = b.typedef('u32', b.int('unsigned int', 4));
  const u64 = b.typedef('u64', b.int('unsigned long long', 8));
  const char = b.int('char', 1, { signed: true });
  const hist = b.struct('hist', [
    { name: slotsName, type: b.array(slotType === 'u32' ? u32 : u64, slotCount) },
    { name: 'comm', type: b.array(char, 8) },
  ]);
  const btf = Btf.parse(b.build());
  return { btf, key: checkSampleColumns(btf, u32).columns, value: checkSampleColumns(btf, hist).columns };
}

test('log2_hist reads u64 slots with their real width and does not wrap the star count', () => {
  const { btf, key, value } = histBtf('u64', 3);
  assert.deepEqual(
    value.members.map((c) => c.name),
    ['slots', 'comm'],
  );
  const formatter = createSampleFormatter(btf, key, value, { format: 'plain', sample: { interval: 1, type: 'log2_hist', unit: 'ms' }, mapName: 'h' });
  const v = Buffer.alloc(value.size);
  v.writeBigUInt64LE(2n ** 40n, 8);
  v.writeBigUInt64LE(2n ** 39n + 1n, 16);
  v.write('x', 24);
  assert.equal(
    formatter.format(Buffer.from([7, 0, 0, 0]), v),
    'key =  7\ncomm = x\n\n' +
      '     ms                  : count    distribution\n' +
      `         0 -> 1          : 0        |${' '.repeat(40)}|\n` +
      `         2 -> 3          : 1099511627776 |${'*'.repeat(40)}|\n` +
      `         4 -> 7          : 549755813889 |${'*'.repeat(20)}${' '.repeat(20)}|\n`,
  );
  // An empty string member says nothing: its line is left out.
  assert.equal(formatter.format(Buffer.from([7, 0, 0, 0]), Buffer.alloc(value.size)), 'key =  7\n\n');
});

test('log2_hist and linear_hist need a slots member; buffers must be long enough', () => {
  const { btf, key, value } = histBtf('u32', 4, 'buckets');
  for (const type of ['log2_hist', 'linear_hist'] as const) {
    assert.throws(
      () => createSampleFormatter(btf, key, value, { format: 'plain', sample: { interval: 1, type }, mapName: 'h' }),
      (e: unknown) => e instanceof EcliError && e.code === 'PACKAGE_INVALID' && e.message.includes('struct hist has no member named "slots"'),
    );
  }
  const formatter = createSampleFormatter(btf, key, value, { format: 'json', sample: { interval: 1 }, mapName: 'h' });
  assert.throws(
    () => formatter.format(Buffer.alloc(4), Buffer.alloc(10)),
    (e: unknown) => e instanceof EcliError && e.code === 'RUNTIME' && e.message.startsWith('value of map h of 10 bytes is too short'),
  );
});

test('linear_hist in plain text: buckets of step width from min, first to last non-zero slot', () => {
  const { btf, key, value } = histBtf('u32', 5);
  const sample: MapSampleMeta = { interval: 1, type: 'linear_hist', unit: 'ms', min: 100, step: 10 };
  const formatter = createSampleFormatter(btf, key, value, { format: 'plain', sample, mapName: 'h' });
  const v = Buffer.alloc(value.size);
  v.writeUInt32LE(3, 4);
  v.writeUInt32LE(6, 12);
  assert.equal(
    formatter.format(Buffer.alloc(4), v),
    'key =  0\n\n' +
      '     ms                  : count    distribution\n' +
      `       110 -> 119        : 3        |${'*'.repeat(20)}${' '.repeat(20)}|\n` +
      `       120 -> 129        : 0        |${' '.repeat(40)}|\n` +
      `       130 -> 139        : 6        |${'*'.repeat(40)}|\n`,
  );
  assert.throws(
    () => createSampleFormatter(btf, key, value, { format: 'plain', sample: { ...sample, step: 0 }, mapName: 'h' }),
    (e: unknown) => e instanceof EcliError && e.code === 'PACKAGE_INVALID',
  );
});

test('linear histogram widens for long bounds and handles negative minimums', () => {
  const text = linearHistogram([1n, 0n, 2n], 'v', -12345678901n, 1n);
  const lines = text.split('\n');
  assert.equal(lines[0], `${' '.repeat(7)}${'v'.padEnd(21)} : count    distribution`);
  assert.equal(lines[1], `-12345678901 -> -12345678901 : 1        |${'*'.repeat(20)}${' '.repeat(20)}|`);
  assert.equal(lines[3], `-12345678899 -> -12345678899 : 2        |${'*'.repeat(40)}|`);
  assert.equal(linearHistogram([0n], 'v', 0n, 1n), '');
});
