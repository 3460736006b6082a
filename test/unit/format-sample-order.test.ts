import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { checkSampleColumns } from '../../src/btf/export-check.js';
import { EcliError } from '../../src/errors.js';
import { parseSort } from '../../src/cli/run-limits.js';
import { createSampleOrder, type MapEntry } from '../../src/format/sample-order.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

/** Key `__u32`, value `struct counts { __u64 count; char comm[8]; }`. */
function counts() {
  const b = new BtfBuilder();
  const u32 = b.typedef('__u32', b.int('unsigned int', 4));
  const u64 = b.typedef('__u64', b.int('unsigned long long', 8));
  const char = b.int('char', 1, { signed: true });
  const value = b.struct('counts', [
    { name: 'count', type: u64 },
    { name: 'comm', type: b.array(char, 8) },
  ]);
  const btf = Btf.parse(b.build());
  const valueColumns = checkSampleColumns(btf, value, {
    name: 'counts',
    members: [
      { name: 'count', type: '__u64' },
      { name: 'comm', type: 'char[8]' },
    ],
    size: 16,
    type_id: value,
  }).columns;
  return { btf, key: checkSampleColumns(btf, u32).columns, value: valueColumns };
}

function entry(pid: number, count: bigint, comm: string): MapEntry {
  const k = Buffer.alloc(4);
  k.writeUInt32LE(pid);
  const v = Buffer.alloc(16);
  v.writeBigUInt64LE(count);
  v.write(comm, 8);
  return [k, v];
}

const pids = (entries: MapEntry[]): number[] => entries.map(([k]) => Buffer.from(k).readUInt32LE(0));

test('--sort parses names with - for descending and an optional +', () => {
  assert.deepEqual(parseSort('-count,comm,+__u32'), [
    { field: 'count', descending: true },
    { field: 'comm', descending: false },
    { field: '__u32', descending: false },
  ]);
  assert.throws(
    () => parseSort('count,,comm'),
    (e) => e instanceof EcliError && e.code === 'USAGE',
  );
  assert.throws(
    () => parseSort('-'),
    (e) => e instanceof EcliError && e.code === 'USAGE',
  );
});

test('--sort orders by value and key members: numbers as numbers (u64 beyond 2^53), strings by text, ties by the next field', () => {
  const { btf, key, value } = counts();
  const entries = [entry(1, 9n, 'sh'), entry(2, 10n, 'bash'), entry(3, 2n ** 60n, 'node'), entry(4, 9n, 'awk')];
  const byCount = createSampleOrder(btf, key, value, { sort: parseSort('-count,comm') }, 'c')!;
  assert.deepEqual(pids(byCount(entries)), [3, 2, 4, 1]);
  const byComm = createSampleOrder(btf, key, value, { sort: parseSort('comm') }, 'c')!;
  assert.deepEqual(pids(byComm(entries)), [4, 2, 3, 1]);
  const byKey = createSampleOrder(btf, key, value, { sort: parseSort('-__u32') }, 'c')!;
  assert.deepEqual(pids(byKey(entries)), [4, 3, 2, 1]);
});

test('--top keeps the first n after sorting, or as read without --sort; nothing asked gives no order', () => {
  const { btf, key, value } = counts();
  const entries = [entry(1, 5n, 'a'), entry(2, 7n, 'b'), entry(3, 6n, 'c')];
  assert.deepEqual(pids(createSampleOrder(btf, key, value, { sort: parseSort('-count'), top: 2 }, 'c')!(entries)), [2, 3]);
  assert.deepEqual(pids(createSampleOrder(btf, key, value, { top: 1 }, 'c')!(entries)), [1]);
  assert.equal(createSampleOrder(btf, key, value, {}, 'c'), undefined);
});

test('entries too short for the sort field go last, in either direction', () => {
  const { btf, key, value } = counts();
  const short: MapEntry = [entry(9, 0n, '')[0], Buffer.alloc(4)];
  const entries = [short, entry(1, 1n, 'a'), entry(2, 2n, 'b')];
  assert.deepEqual(pids(createSampleOrder(btf, key, value, { sort: parseSort('-count') }, 'c')!(entries)), [2, 1, 9]);
  assert.deepEqual(pids(createSampleOrder(btf, key, value, { sort: parseSort('count') }, 'c')!(entries)), [1, 2, 9]);
});

test('--sort with a field the map does not have is a usage error naming the fields', () => {
  const { btf, key, value } = counts();
  assert.throws(
    () => createSampleOrder(btf, key, value, { sort: parseSort('cout') }, 'counts'),
    (e) =>
      e instanceof EcliError &&
      e.code === 'USAGE' &&
      /map counts has no field cout \(did you mean count\?\)/.test(e.message) &&
      /key, count, comm/.test(e.hint ?? ''),
  );
});

test('a key that is one number sorts as key, as plain text names its column, or by its type name, as JSON does', () => {
  const { btf, key, value } = counts();
  for (const name of ['key', '__u32']) {
    const order = createSampleOrder(btf, key, value, { sort: parseSort(`-${name}`) }, 'counts');
    assert.ok(order, name);
  }
});
