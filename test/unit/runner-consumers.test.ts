import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import type { EunomiaObjectMeta, ExportedTypesStructMeta } from '../../src/package/types.js';
import { planExports } from '../../src/model/exports.js';
import type { MapSpec } from '../../src/model/maps.js';
import { buildConsumers } from '../../src/runner/consumers.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

/** The hardirqs shape: HASH map `infos`, key `struct irq_key {char name[32];}`, value `struct info {__u64 count; __u32 slots[20];}`. */
function hardirqs() {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const u64 = b.typedef('__u64', b.int('unsigned long long', 8));
  const char = b.int('char', 1, { signed: true, char: true });
  const irqKey = b.struct('irq_key', [{ name: 'name', type: b.array(char, 32) }]);
  const info = b.struct('info', [
    { name: 'count', type: u64 },
    { name: 'slots', type: b.array(b.typedef('__u32', u32), 20) },
  ]);
  const exportTypes: Record<string, ExportedTypesStructMeta> = {
    irq_key: { name: 'irq_key', members: [{ name: 'name', type: 'char[32]' }], size: 32, type_id: irqKey },
    info: {
      name: 'info',
      members: [
        { name: 'count', type: '__u64' },
        { name: 'slots', type: '__u32[20]' },
      ],
      size: 88,
      type_id: info,
    },
  };
  const map = { name: 'infos', ident: 'infos', sample: { interval: 1000, type: 'log2_hist' as const, unit: 'usecs' } };
  const build = (first: 'irq_key' | 'info') => {
    const meta = { bpf_skel: { obj_name: 'hardirqs_bpf', maps: [map], progs: [], data_sections: [] }, export_types: [exportTypes[first]!] };
    const btf = Btf.parse(b.build());
    const mapSpec: MapSpec = {
      name: 'infos',
      ident: 'infos',
      type: 1,
      kind: 'hash',
      transport: 'other',
      perCpu: false,
      btfKeyTypeId: irqKey,
      btfValueTypeId: info,
      valueSize: 88,
      meta: map,
    };
    const plan = planExports(meta as unknown as EunomiaObjectMeta, btf, [mapSpec]);
    return { consumers: buildConsumers(btf, plan.exports, { format: 'plain' }), warnings: plan.warnings };
  };
  return { build };
}

test('a histogram whose value struct is export_types[0] gets its member names', () => {
  const { consumers, warnings } = hardirqs().build('info');
  assert.deepEqual(warnings, []);
  const consumer = consumers[0]!;
  assert.equal(consumer.kind, 'sample');
  const key = Buffer.alloc(32);
  key.write('virtio1-req.0');
  const value = Buffer.alloc(88);
  value.writeBigUInt64LE(3n, 0);
  value.writeUInt32LE(3, 8 + 4);
  const text = consumer.kind === 'sample' ? consumer.format(key, value) : '';
  assert.match(text, /^key = {2}virtio1-req\.0\ncount = 3\n\n +usecs +: count {4}distribution\n/);
});

test('a histogram whose export type is not its value struct takes the member names from BTF, with a warning', () => {
  // Lesson 10's hardirqs compiled with hardirqs.h, whose first struct is the key: the reference
  // names the columns after the member types, and then finds no "slots".
  const { consumers, warnings } = hardirqs().build('irq_key');
  assert.match(warnings.join('\n'), /the map's BTF type is "info" but the package's export type is "irq_key"; using BTF names for the columns/);
  const consumer = consumers[0]!;
  assert.equal(consumer.kind, 'sample');
  const value = Buffer.alloc(88);
  value.writeBigUInt64LE(3n, 0);
  value.writeUInt32LE(3, 8 + 4);
  const text = consumer.kind === 'sample' ? consumer.format(Buffer.from('virtio1-req.0'.padEnd(32, '\0')), value) : '';
  assert.match(text, /^key = {2}virtio1-req\.0\ncount = 3\n\n +usecs +: count {4}distribution\n/);
});
