import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { structLayout } from '../../src/btf/layout.js';
import { BtfKind } from '../../src/btf/types.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

/**
 * `struct event` of examples/execsnoop/execsnoop.h as clang describes it in BTF: bit offsets
 * are given explicitly (as clang writes them) rather than computed by the builder.
 */
function execsnoopEventBtf(): { btf: Btf; eventId: number } {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const bool = b.typedef('bool', b.int('_Bool', 1, { bool: true }));
  const comm = b.array(b.int('char', 1, { signed: true, char: true }), 16);
  const eventId = b.struct('event', [
    { name: 'pid', type: int, bitOffset: 0 },
    { name: 'ppid', type: int, bitOffset: 32 },
    { name: 'uid', type: int, bitOffset: 64 },
    { name: 'retval', type: int, bitOffset: 96 },
    { name: 'is_exit', type: bool, bitOffset: 128 },
    { name: 'comm', type: comm, bitOffset: 136 },
  ]);
  return { btf: Btf.parse(b.build()), eventId };
}

test('the execsnoop event struct lays out as 0/4/8/12/16/17, 36 bytes', () => {
  const { btf, eventId } = execsnoopEventBtf();
  assert.equal(btf.findByName('event', BtfKind.Struct)?.id, eventId);
  const layout = structLayout(btf, eventId);
  assert.equal(layout.name, 'event');
  assert.equal(layout.kind, 'struct');
  assert.equal(layout.size, 36);
  assert.deepEqual(
    layout.members.map((m) => [m.name, m.offset, m.size, btf.typeName(m.typeId)]),
    [
      ['pid', 0, 4, 'int'],
      ['ppid', 4, 4, 'int'],
      ['uid', 8, 4, 'int'],
      ['retval', 12, 4, 'int'],
      ['is_exit', 16, 1, 'bool'],
      ['comm', 17, 16, 'char[16]'],
    ],
  );
});

test('a struct reached through a typedef has the same layout', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const struct = b.struct('pair', [
    { name: 'a', type: int },
    { name: 'b', type: int },
  ]);
  const alias = b.typedef('pair_t', struct);
  const btf = Btf.parse(b.build());
  const layout = structLayout(btf, alias);
  assert.equal(layout.typeId, struct);
  assert.deepEqual(
    layout.members.map((m) => m.offset),
    [0, 4],
  );
  assert.equal(layout.size, 8);
});
