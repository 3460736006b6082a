import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { checkExportStruct, checkSampleColumns, descriptorColumns } from '../../src/btf/export-check.js';
import { EcliError, type ErrorCode } from '../../src/errors.js';
import type { ExportedTypesStructMeta } from '../../src/package/types.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

import { loadFixture, mapTypeIds } from '../helpers/fixtures.js';

function eventBtf() {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const char = b.int('char', 1, { signed: true });
  const u32 = b.typedef('u32', b.int('unsigned int', 4));
  const comm = b.array(char, 16);
  const ptr = b.ptr(char);
  const event = b.struct('event', [
    { name: 'pid', type: int },
    { name: 'uid', type: u32 },
    { name: 'comm', type: comm },
    { name: 'ptr', type: ptr },
  ]);
  const flags = b.struct('flags', [{ name: 'a', type: int, bitOffset: 0, bitfieldSize: 3 }]);
  const alias = b.typedef('event_t', event);
  return { btf: Btf.parse(b.build()), int, u32, comm, ptr, event, flags, alias };
}

/** An export type; `size` is struct event's (32). */
function meta(typeId: number, members: Array<[string, number?, number?]>, name = 'event', size = 32): ExportedTypesStructMeta {
  return {
    name,
    type_id: typeId,
    size,
    members: members.map(([n, offset, size]) => ({ name: n, type: 'x', ...(offset === undefined ? {} : { offset }), ...(size === undefined ? {} : { size }) })),
  };
}

const fails = (code: ErrorCode, text: string) => (e: unknown) => e instanceof EcliError && e.code === code && e.message.includes(text);

test('strict check: columns come from BTF offsets, sizes and type ids', () => {
  const { btf, event, int, u32, comm, ptr } = eventBtf();
  const columns = checkExportStruct(btf, meta(event, [['pid'], ['uid', 4, 4], ['comm', 8, 16], ['ptr']]));
  assert.equal(columns.size, 32);
  assert.equal(columns.describe, 'struct event');
  assert.deepEqual(
    columns.members.map((c) => [c.name, c.typeId, c.offset, c.size]),
    [
      ['pid', int, 0, 4],
      ['uid', u32, 4, 4],
      ['comm', comm, 8, 16],
      ['ptr', ptr, 24, 8],
    ],
  );
});

test('strict check: every disagreement is an error that names the struct and member', () => {
  const { btf, event, alias, flags } = eventBtf();
  const four: Array<[string]> = [['pid'], ['uid'], ['comm'], ['ptr']];
  assert.throws(() => checkExportStruct(btf, meta(500, four)), fails('BTF_INVALID', 'BTF type id 500 does not exist'));
  assert.throws(() => checkExportStruct(btf, meta(alias, four)), fails('BTF_INVALID', 'is a TYPEDEF, not a struct'));
  assert.throws(() => checkExportStruct(btf, meta(event, four, 'evt')), fails('BTF_INVALID', 'is struct "event", not "evt"'));
  assert.throws(
    () => checkExportStruct(btf, meta(event, [['pid'], ['uid'], ['comm']])),
    fails('BTF_INVALID', 'struct event: the struct has 4 members in BTF but 3 in the package'),
  );
  assert.throws(
    () => checkExportStruct(btf, meta(event, [['pid'], ['gid'], ['comm'], ['ptr']])),
    fails('BTF_INVALID', 'struct event: member 1 is "uid" in BTF but "gid" in the package'),
  );
  assert.throws(
    () => checkExportStruct(btf, meta(event, [['pid'], ['uid'], ['comm', 12], ['ptr']])),
    fails('BTF_INVALID', 'struct event: member "comm" is at offset 8 in BTF but the package says 12'),
  );
  assert.throws(
    () => checkExportStruct(btf, meta(event, [['pid'], ['uid'], ['comm', 8, 8], ['ptr']])),
    fails('BTF_INVALID', 'struct event: member "comm" has size 16 in BTF but the package says 8'),
  );
  assert.throws(() => checkExportStruct(btf, meta(flags, [['a']], 'flags')), fails('BTF_INVALID', 'member "a" is a bitfield'));
});

test('lenient check: meta names only when name and member count agree, else the BTF member names', () => {
  const { btf, event, u32, comm } = eventBtf();
  const withMeta = checkSampleColumns(btf, event, meta(event, [['p'], ['u'], ['c'], ['x']]));
  assert.deepEqual(
    withMeta.columns.members.map((c) => c.name),
    ['p', 'u', 'c', 'x'],
  );
  assert.deepEqual(withMeta.warnings, []);
  const wrongName = checkSampleColumns(btf, event, meta(event, [['p'], ['u'], ['c'], ['x']], 'other'));
  // The reference names them after the member types ('int', 'u32', '', ''): a header-less
  // package's histogram then has no member named slots.
  assert.deepEqual(
    wrongName.columns.members.map((c) => c.name),
    ['pid', 'uid', 'comm', 'ptr'],
  );
  assert.equal(wrongName.warnings.length, 1);
  const wrongCount = checkSampleColumns(btf, event, meta(event, [['p']]));
  assert.deepEqual(
    wrongCount.columns.members.map((c) => c.name),
    ['pid', 'uid', 'comm', 'ptr'],
  );
  assert.deepEqual(
    checkSampleColumns(btf, event).columns.members.map((c) => c.name),
    ['pid', 'uid', 'comm', 'ptr'],
    'no export type at all (no header)',
  );
  assert.match(wrongCount.warnings[0]!, /4 members in BTF but 1 in the package/);
  const scalar = checkSampleColumns(btf, u32);
  assert.deepEqual(scalar.columns.members, [{ name: 'u32', typeId: u32, offset: 0, size: 4 }]);
  assert.deepEqual(checkSampleColumns(btf, comm).columns.members, [{ name: '', typeId: comm, offset: 0, size: 16 }]);
});

test('runqlat fixture: key column u32 and value columns slots/comm', () => {
  const { btf, meta: m } = loadFixture('runqlat.json');
  const ids = mapTypeIds(btf, 'hists');
  const key = checkSampleColumns(btf, ids.key);
  const value = checkSampleColumns(btf, ids.value, m.export_types[0]);
  assert.deepEqual(
    key.columns.members.map((c) => [c.name, c.offset, c.size]),
    [['u32', 0, 4]],
  );
  assert.deepEqual(
    value.columns.members.map((c) => [c.name, c.offset, c.size]),
    [
      ['slots', 0, 104],
      ['comm', 104, 16],
    ],
  );
  assert.deepEqual(value.warnings, []);
});

test('multiple-export descriptors: btf_type_id and custom_members', () => {
  const { btf, alias, int, comm } = eventBtf();
  assert.deepEqual(
    descriptorColumns(btf, { btf_type_id: alias }, 'rb').members.map((c) => c.name),
    ['pid', 'uid', 'comm', 'ptr'],
  );
  assert.deepEqual(descriptorColumns(btf, { btf_type_id: comm }, 'rb').members, [{ name: '', typeId: comm, offset: 0, size: 16 }]);
  const custom = descriptorColumns(
    btf,
    {
      custom_members: [
        { name: 'comm', offset: 8, btf_type_id: comm },
        { name: 'pid', offset: 0, btf_type_id: int },
      ],
    },
    'rb',
  );
  assert.deepEqual(
    custom.members.map((c) => [c.name, c.offset, c.size]),
    [
      ['pid', 0, 4],
      ['comm', 8, 16],
    ],
  );
  assert.equal(custom.size, 24);
  assert.equal(descriptorColumns(btf, { custom_members: [{ name: 'pid', offset: 0, btf_type_id: int }] }, 'rb', 32).size, 32);
  assert.throws(
    () =>
      descriptorColumns(
        btf,
        {
          custom_members: [
            { name: 'pid', offset: 0, btf_type_id: comm },
            { name: 'ppid', offset: 4, btf_type_id: int },
          ],
        },
        'rb',
      ),
    fails('PACKAGE_INVALID', 'field `ppid` overlapped with other fields'),
  );
  assert.throws(
    () => descriptorColumns(btf, { custom_members: [{ name: 'pid', offset: 30, btf_type_id: int }] }, 'rb', 32),
    fails('PACKAGE_INVALID', 'member "pid" (offset 30, 4 bytes) does not fit the map\'s 32-byte value'),
  );
  assert.throws(() => descriptorColumns(btf, { custom_members: [{ name: 'x', offset: 0, btf_type_id: 999 }] }, 'rb'), fails('BTF_INVALID', '999'));
  assert.throws(() => descriptorColumns(btf, { btf_type_id: 0 }, 'rb'), fails('BTF_INVALID', 'VOID, which cannot be exported'));
});

test("strict check: the export type's size must be the struct's; a member past the struct's end is refused", () => {
  const { btf, event } = eventBtf();
  assert.throws(
    () => checkExportStruct(btf, meta(event, [['pid'], ['uid'], ['comm'], ['ptr']], 'event', 24)),
    fails('BTF_INVALID', 'struct event: the struct is 32 bytes in BTF but the package says 24'),
  );
  const b = new BtfBuilder();
  const u64 = b.int('unsigned long long', 8);
  const short = b.structOfSize(
    'short',
    [
      { name: 'a', type: u64 },
      { name: 'b', type: u64 },
    ],
    12,
  );
  const damaged = Btf.parse(b.build());
  const message = 'struct short: member "b" at offset 8 (8 bytes) ends past the struct\'s 12 bytes';
  assert.throws(() => checkExportStruct(damaged, meta(short, [['a'], ['b']], 'short', 12)), fails('BTF_INVALID', message));
  assert.throws(() => checkSampleColumns(damaged, short), fails('BTF_INVALID', message));
});
