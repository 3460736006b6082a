/** Hostile BTF: cycles, chains past the kernel's depth, dangling ids and oversized arrays are BTF_INVALID at parse time. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Btf } from '../../src/btf/btf.js';
import { BtfKind } from '../../src/btf/types.js';
import { EcliError, exitCodeFor } from '../../src/errors.js';
import { ValueCompiler } from '../../src/format/value.js';
import { findSection, parseElf } from '../../src/elf/elf.js';
import { encodeBpfObject } from '../../src/package/codec.js';
import { BtfBuilder } from '../helpers/btf-builder.js';
import { ecliPath, runTool } from '../helpers/ecli-process.js';

import { fixtureElf, readFixturePackage } from '../helpers/fixtures.js';

function refusal(b: BtfBuilder, message: RegExp): void {
  assert.throws(
    () => Btf.parse(b.build()),
    (error: unknown) => {
      assert.ok(error instanceof EcliError, String(error));
      assert.equal(error.code, 'BTF_INVALID');
      assert.equal(exitCodeFor(error), 4);
      assert.ok(!error.message.includes('\n'));
      assert.match(error.message, message);
      return true;
    },
  );
}

test('an array whose element is the array itself is refused, naming the type', () => {
  const b = new BtfBuilder();
  const index = b.int('int', 4, { signed: true });
  const self = b.nextId();
  b.raw(BtfKind.Array, 0, [self, index, 4]);
  refusal(b, /^malformed BTF: type 2 \(ARRAY\) contains itself \(2 → 2\)$/);
});

test('a typedef loop and a struct that contains itself are refused; a struct pointing at itself is fine', () => {
  const loop = new BtfBuilder();
  const first = loop.nextId();
  loop.raw(BtfKind.Typedef, first + 1, [], { name: 'a_t' });
  loop.raw(BtfKind.Typedef, first, [], { name: 'b_t' });
  refusal(loop, /type 1 \(TYPEDEF a_t\) contains itself \(1 → 2 → 1\)/);

  const nested = new BtfBuilder();
  const int = nested.int('int', 4, { signed: true });
  const node = nested.nextId();
  nested.raw(BtfKind.Struct, 8, [0, int, 0, 0, node, 32], { name: 'node', vlen: 2 });
  refusal(nested, /type 2 \(STRUCT node\) contains itself \(2 → 2\)/);

  const list = new BtfBuilder();
  const listInt = list.int('int', 4, { signed: true });
  const listNode = list.nextId();
  const next = listNode + 1;
  list.raw(BtfKind.Struct, 16, [0, listInt, 0, 0, next, 64], { name: 'node', vlen: 2 });
  list.ptr(listNode);
  const btf = Btf.parse(list.build());
  assert.equal(btf.sizeOf(listNode), 16);
  assert.equal(btf.typeName(next), 'struct node *');
  assert.equal(new ValueCompiler(btf).compile(listNode).size, 16);
});

test('a function type returning a pointer to itself is refused (type names would never end)', () => {
  const b = new BtfBuilder();
  const proto = b.nextId();
  b.raw(BtfKind.FuncProto, proto + 1);
  b.ptr(proto);
  refusal(b, /type 1 \(FUNC_PROTO\) contains itself \(1 → 2 → 1\)/);
});

test('chains of 32 types are accepted and 33 refused, in either order of the ids', () => {
  const chain = (length: number, leafFirst: boolean): BtfBuilder => {
    const b = new BtfBuilder();
    let t = b.int('int', 4, { signed: true });
    if (leafFirst) for (let i = 0; i < length; i++) t = b.const(t);
    else {
      const first = b.nextId();
      for (let i = 0; i < length; i++) b.raw(BtfKind.Const, i === length - 1 ? t : first + i + 1);
    }
    return b;
  };
  for (const leafFirst of [true, false]) {
    const longest = Btf.parse(chain(32, leafFirst).build());
    const top = leafFirst ? 33 : 2;
    assert.equal(longest.sizeOf(top), 4);
    assert.equal(longest.resolve(top).id, 1);
    assert.equal(longest.typeName(top), 'int');
    refusal(chain(33, leafFirst), /nests more than 32 types deep \(the kernel's limit\)/);
  }
  refusal(chain(100_000, true), /type \d+ \(CONST\) nests more than 32 types deep/);
});

test('dangling ids, arrays past 4 GiB, unknown kinds and unused info bits are refused', () => {
  const dangling = new BtfBuilder();
  dangling.raw(BtfKind.Ptr, 99);
  refusal(dangling, /type 1 \(PTR\) refers to type 99, which does not exist \(the object has 1 types\)/);

  const huge = new BtfBuilder();
  huge.array(huge.array(huge.int('long', 8), 0x10000), 0x10000);
  refusal(huge, /type \d \(ARRAY\) is 34359738368 bytes, more than the 4 GiB BTF allows/);

  const unknown = new BtfBuilder();
  unknown.raw(25, 0);
  refusal(unknown, /unknown type kind 25 at type id 1/);

  const bits = new BtfBuilder();
  bits.raw(BtfKind.Int, 4, [32], { vlen: 0x10000 });
  refusal(bits, /type 1 has unused info bits set/);
});

test('an array of 2^32-1 empty structs is refused by the formatter instead of printing for ever', () => {
  const b = new BtfBuilder();
  const empty = b.struct('empty', []);
  const many = b.array(empty, 0xffffffff);
  const btf = Btf.parse(b.build());
  assert.equal(btf.sizeOf(many), 0);
  assert.throws(
    () => new ValueCompiler(btf).compile(many),
    (error: unknown) => {
      assert.ok(error instanceof EcliError && error.code === 'BTF_INVALID');
      assert.match(error.message, /cannot print values of type struct empty\[4294967295\] \(BTF type 3\): its elements have no bytes/);
      return true;
    },
  );
});

/**
 * The fixture package with `btf` in place of its .BTF section's bytes (zeros after them), written
 * to a temporary folder; with `cutSection`, the section header's size is `btf`'s length too.
 */
function packageWithBtf(t: TestContext, btf: Uint8Array, options: { cutSection?: boolean } = {}): string {
  const pkg = readFixturePackage('minimal_printk.json');
  const elf = fixtureElf(pkg);
  const section = findSection(parseElf(elf), '.BTF')!;
  assert.ok(btf.length <= section.data.length);
  const at = section.data.byteOffset - elf.byteOffset;
  elf.fill(0, at, at + section.data.length).set(btf, at);
  if (options.cutSection === true) {
    const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
    const sectionHeaders = Number(view.getBigUint64(0x28, true));
    const count = view.getUint16(0x3c, true);
    const header = Array.from({ length: count }, (_, i) => sectionHeaders + i * 64).find((h) => Number(view.getBigUint64(h + 24, true)) === at)!;
    view.setBigUint64(header + 32, BigInt(btf.length), true);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ecli-hostile-btf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'package.json');
  writeFileSync(path, JSON.stringify({ ...pkg, ...encodeBpfObject(elf) }));
  return path;
}

test('ecli inspect and ecli run of a package whose BTF array contains itself: one line, exit 4, no stack overflow', (t) => {
  const hostile = new BtfBuilder();
  const index = hostile.int('int', 4, { signed: true });
  hostile.raw(BtfKind.Array, 0, [hostile.nextId(), index, 4]);
  const path = packageWithBtf(t, hostile.build());
  for (const command of ['inspect', 'run']) {
    const result = runTool(ecliPath, [command, path]);
    assert.equal(result.status, 4, result.stderr);
    assert.equal(
      result.stderr,
      'ecli: error: malformed BTF: type 2 (ARRAY) contains itself (2 → 2)\n' +
        'hint: the object was not produced by a BTF-aware clang (-g); recompile it with ./ecc\n',
    );
  }
});

test('type names of nested arrays put the outer dimension first, as C declares them', () => {
  const b = new BtfBuilder();
  const char = b.int('char', 1, { signed: true });
  const strings = b.array(b.array(char, 8), 2);
  const pointers = b.array(b.ptr(char), 3);
  const btf = Btf.parse(b.build());
  assert.equal(btf.typeName(strings), 'char[2][8]');
  assert.equal(btf.typeName(pointers), 'char *[3]');
});

/**
 * BTF whose last record, a DECL_TAG, ends before its 4-byte component index: the strings come
 * first, so the cut record is the last bytes of the data (where a read past it would throw).
 */
function truncatedDeclTag(): Uint8Array {
  const strings = Buffer.alloc(12);
  strings.write('\0int\0tag\0', 'latin1');
  const types = Buffer.alloc(28);
  types.writeUInt32LE(1, 0); // INT "int"
  types.writeUInt32LE(BtfKind.Int << 24, 4);
  types.writeUInt32LE(4, 8);
  types.writeUInt32LE(32, 12);
  types.writeUInt32LE(5, 16); // DECL_TAG "tag" on type 1, without component_idx
  types.writeUInt32LE(BtfKind.DeclTag << 24, 20);
  types.writeUInt32LE(1, 24);
  const header = Buffer.alloc(24);
  header.writeUInt16LE(0xeb9f, 0);
  header.writeUInt8(1, 2);
  header.writeUInt32LE(24, 4);
  header.writeUInt32LE(strings.length, 8); // type_off
  header.writeUInt32LE(types.length, 12); // type_len
  header.writeUInt32LE(0, 16); // str_off
  header.writeUInt32LE(9, 20); // str_len
  return Buffer.concat([header, strings, types]);
}

test('a trailing DECL_TAG cut short is malformed BTF (exit 4) in Btf.parse, ecli inspect and ecli run, not an internal error', (t) => {
  const bytes = truncatedDeclTag();
  assert.throws(
    () => Btf.parse(bytes),
    (error: unknown) => error instanceof EcliError && error.code === 'BTF_INVALID' && /type record truncated/.test(error.message),
  );
  // The same BTF as a package's .BTF section, the section cut to its length.
  const path = packageWithBtf(t, bytes, { cutSection: true });
  for (const command of ['inspect', 'run']) {
    const result = runTool(ecliPath, [command, path]);
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /^ecli: error: malformed BTF: type record truncated\n/);
  }
});
