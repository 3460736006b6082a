import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { findSection, parseElf } from '../../src/elf/elf.js';
import { EcliError } from '../../src/errors.js';
import { decodeBpfObject } from '../../src/package/codec.js';
import type { ComposedPackage } from '../../src/package/types.js';
import { buildExportTypes, dummyPointerDeclarations, headerStructNames } from '../../src/compiler/export-types.js';

import { readFixturePackage } from '../helpers/fixtures.js';

function load(file: string): { pkg: ComposedPackage; btf: Btf } {
  const pkg = readFixturePackage(file);
  const elf = parseElf(decodeBpfObject(pkg, file), file);
  return { pkg, btf: Btf.parse(findSection(elf, '.BTF')!.data) };
}

const where = { header: 'x/event.h', source: 'x/prog.bpf.c' };

test('export types rebuilt from the reference objects equal their export_types', () => {
  for (const file of ['bootstrap.json', 'runqlat.json', 'simple_prog_3.json', 'int128.json']) {
    const { pkg, btf } = load(file);
    const reference = pkg.meta.export_types;
    const { types, undefinedStructs } = buildExportTypes(
      btf,
      reference.map((s) => s.name),
      where,
    );
    assert.deepEqual(undefinedStructs, []);
    const ours = types.map((s) => ({ ...s, members: s.members.map((m) => ({ name: m.name, type: m.type })) }));
    // bootstrap.json comes from an older bpftool fork that spelt enum members `enum <name>`;
    // the current fork (and ours) writes `enum`.
    const expected = reference.map((s) => ({
      ...s,
      members: s.members.map((m) => ({ name: m.name, type: m.type.startsWith('enum ') ? 'enum' : m.type })),
    }));
    assert.deepEqual(ours, expected, file);
  }
});

test('export members carry byte offsets, sizes and kinds', () => {
  const { btf } = load('bootstrap.json');
  const [event] = buildExportTypes(btf, ['event'], where).types;
  const summary = event!.members.map((m) => [m.name, m.offset, m.size, m.kind]);
  assert.deepEqual(summary, [
    ['pid', 0, 4, 'int'],
    ['ppid', 4, 4, 'int'],
    ['exit_code', 8, 4, 'int'],
    ['duration_ns', 16, 8, 'int'],
    ['comm', 24, 16, 'char_array'],
    ['filename', 40, 127, 'char_array'],
    ['exit_event', 167, 1, 'bool'],
    ['et', 168, 4, 'enum'],
  ]);
  const [hist] = buildExportTypes(load('runqlat.json').btf, ['hist'], where).types;
  assert.deepEqual(
    hist!.members.map((m) => [m.name, m.offset, m.size, m.kind]),
    [
      ['slots', 0, 104, 'array'],
      ['comm', 104, 16, 'char_array'],
    ],
  );
});

test('only structs named in the header are exported, in type-id order', () => {
  const { btf } = load('bootstrap.json');
  const { types, undefinedStructs } = buildExportTypes(btf, ['not_in_object', 'event'], where);
  assert.deepEqual(
    types.map((s) => s.name),
    ['event'],
  );
  assert.deepEqual(undefinedStructs, ['not_in_object']);
});

test('a header whose structs are all undefined in the object is an error naming the #include', () => {
  const { btf } = load('bootstrap.json');
  assert.throws(
    () => buildExportTypes(btf, ['only_declared'], where),
    (e: unknown) =>
      e instanceof EcliError &&
      e.code === 'COMPILE_FAILED' &&
      e.hint === 'add #include "event.h" to x/prog.bpf.c so the event struct is compiled into the object',
  );
  assert.deepEqual(buildExportTypes(btf, [], where).types, []);
});

test('header struct names use the reference rule `struct X {`', () => {
  const header = `
    struct event { int pid; };
    typedef struct inner_t {
      int x;
    } inner;
    struct event *ptr; // a use, not a definition
    struct   spaced
    { char c; };
    struct event { int again; };
  `;
  assert.deepEqual(headerStructNames(header), ['event', 'inner_t', 'spaced']);
  assert.deepEqual(headerStructNames('enum e { A };\nunion u { int a; };'), []);
});

test('dummy pointers match the reference line byte for byte', () => {
  assert.equal(
    dummyPointerDeclarations(['event', 'S']),
    'const volatile struct event * __eunomia_dummy_event_ptr  __attribute__((unused));\n' +
      'const volatile struct S * __eunomia_dummy_S_ptr  __attribute__((unused));\n',
  );
  assert.equal(dummyPointerDeclarations([]), '');
});
