import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { EcliError } from '../../src/errors.js';
import { ValueCompiler } from '../../src/format/value.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

import { loadFixture } from '../helpers/fixtures.js';

function texts(b: BtfBuilder, id: number, bytes: number[] | Buffer): { json: string; plain: string } {
  const value = new ValueCompiler(Btf.parse(b.build())).compile(id);
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return { json: value.json(data, 0), plain: value.plain(data, 0) };
}

function le(value: bigint, size: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++, v >>= 8n) out.push(Number(v & 0xffn));
  return out;
}

test('integers of 8 to 64 bits keep their signedness, and 64-bit values are exact', () => {
  const b = new BtfBuilder();
  const cases: Array<[number, bigint, string]> = [
    [b.int('unsigned char', 1), 0xeen, '238'],
    [b.int('signed char', 1, { signed: true }), -18n, '-18'],
    [b.int('unsigned short', 2), 0xfedcn, '65244'],
    [b.int('short', 2, { signed: true }), -4660n, '-4660'],
    [b.int('unsigned int', 4), 0xfffffffen, '4294967294'],
    [b.int('int', 4, { signed: true }), -305419896n, '-305419896'],
    [b.int('unsigned long long', 8), 0xffffffffffffffffn, '18446744073709551615'],
    [b.int('long long', 8, { signed: true }), -(2n ** 63n), '-9223372036854775808'],
  ];
  const u64 = b.int('u64', 8);
  const s64 = b.int('s64', 8, { signed: true });
  for (const [id, value, text] of cases) {
    const size = b.sizeOf(id);
    assert.deepEqual(texts(b, id, le(value, size)), { json: text, plain: text });
  }
  for (const v of [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 1311768467463790320n, 2n ** 64n - 2n]) {
    assert.equal(texts(b, u64, le(v, 8)).json, v.toString());
  }
  for (const v of [-1n, -(2n ** 53n), -(2n ** 53n) - 1n, 2n ** 53n - 1n, -1311768467463790320n, 2n ** 63n - 1n]) {
    assert.equal(texts(b, s64, le(v, 8)).json, v.toString());
  }
});

test('bool is true/false from the first byte; a char scalar prints as a number; pointers are unsigned', () => {
  const b = new BtfBuilder();
  const bool = b.int('_Bool', 1, { bool: true });
  const char = b.int('char', 1, { signed: true });
  const ptr = b.ptr(char);
  assert.deepEqual(texts(b, bool, [0]), { json: 'false', plain: 'false' });
  assert.deepEqual(texts(b, bool, [2]), { json: 'true', plain: 'true' });
  assert.deepEqual(texts(b, char, [0x41]), { json: '65', plain: '65' });
  assert.equal(texts(b, ptr, le(0xffff888012345678n, 8)).json, '18446612682375452280');
});

test('128-bit integers are decimal JSON strings and bare digits in plain text', () => {
  const b = new BtfBuilder();
  const s128 = b.int('__int128', 16, { signed: true });
  const u128 = b.int('unsigned __int128', 16);
  assert.deepEqual(texts(b, s128, le(-(2n ** 90n), 16)), {
    json: '"-1237940039285380274899124224"',
    plain: '-1237940039285380274899124224',
  });
  assert.deepEqual(texts(b, u128, le(2n ** 127n + 10n, 16)), {
    json: '"170141183460469231731687303715884105738"',
    plain: '170141183460469231731687303715884105738',
  });
});

test('int128 fixture: struct S decodes -2^90 and 2^127+10', () => {
  const { btf, meta } = loadFixture('int128.json');
  const value = new ValueCompiler(btf).compile(meta.export_types[0]!.type_id);
  const data = Buffer.from([...le(-(2n ** 90n), 16), ...le(2n ** 127n + 10n, 16)]);
  assert.equal(
    value.json(data, 0),
    '{"__EUNOMIA_TYPE":"struct","__EUNOMIA_TYPE_NAME":"S","a":"-1237940039285380274899124224","b":"170141183460469231731687303715884105738"}',
  );
});

test('floats: f32 is widened to f64, both print in ryu form', () => {
  const b = new BtfBuilder();
  const f32 = b.float('float', 4);
  const f64 = b.float('double', 8);
  const bytes32 = Buffer.alloc(4);
  bytes32.writeFloatLE(1.23);
  assert.equal(texts(b, f32, bytes32).json, '1.2300000190734863');
  const bytes64 = Buffer.alloc(8);
  for (const [x, text] of [
    [4.56, '4.56'],
    [4, '4.0'],
    [1e16, '1e16'],
    [Number.NaN, 'null'],
    [-0, '-0.0'],
  ] as const) {
    bytes64.writeDoubleLE(x);
    assert.deepEqual(texts(b, f64, bytes64), { json: text, plain: text });
  }
});

test('char arrays are strings up to the first NUL; only an element named exactly char counts', () => {
  const b = new BtfBuilder();
  const char = b.int('char', 1, { signed: true });
  const uchar = b.int('unsigned char', 1);
  const u8 = b.typedef('u8', uchar);
  const str = b.array(char, 8);
  const ustr = b.array(uchar, 3);
  const u8str = b.array(u8, 3);
  const cstr = b.array(b.const(char), 3);
  const typedefChar = b.array(b.typedef('char_t', char), 3);
  assert.deepEqual(texts(b, str, [...Buffer.from('sh\0junk'), 0]), { json: '"sh"', plain: 'sh' });
  assert.deepEqual(texts(b, str, [0, 0x41, 0, 0, 0, 0, 0, 0]), { json: '""', plain: '' });
  assert.equal(texts(b, ustr, [0x61, 0x62, 0]).json, '[97,98,0]');
  assert.equal(texts(b, u8str, [0x61, 0x62, 0]).json, '[97,98,0]');
  assert.equal(texts(b, cstr, [0x61, 0x62, 0]).json, '[97,98,0]');
  assert.equal(texts(b, typedefChar, [0x61, 0x62, 0]).json, '[97,98,0]');
});

test('a char array without NUL is the whole array; invalid UTF-8 becomes U+FFFD; escapes apply', () => {
  const b = new BtfBuilder();
  const char = b.int('char', 1, { signed: true });
  const str = b.array(char, 4);
  assert.deepEqual(texts(b, str, [...Buffer.from('abcd')]), { json: '"abcd"', plain: 'abcd' });
  assert.deepEqual(texts(b, str, [0x61, 0xff, 0xc3, 0]), { json: '"a\ufffd\ufffd"', plain: 'a\ufffd\ufffd' });
  // JSON escapes as JSON does; plain text escapes control characters for the terminal.
  assert.deepEqual(texts(b, str, [...Buffer.from('é"\n')]), { json: '"é\\"\\n"', plain: 'é"\\n' });
});

test('other arrays nest; char[3][4] is an array of strings', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const char = b.int('char', 1, { signed: true });
  const arr = b.array(b.array(int, 2), 2);
  const strs = b.array(b.array(char, 4), 3);
  const empty = b.array(int, 0);
  assert.equal(texts(b, arr, [...le(1n, 4), ...le(-2n, 4), ...le(3n, 4), ...le(4n, 4)]).plain, '[[1,-2],[3,4]]');
  assert.deepEqual(texts(b, strs, [...Buffer.from('ab\0\0cd\0\0efgh')]), { json: '["ab","cd","efgh"]', plain: '["ab","cd","efgh"]' });
  assert.equal(texts(b, empty, []).json, '[]');
});

test('structs and unions carry __EUNOMIA_TYPE keys and sort keys by byte order', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const char = b.int('char', 1, { signed: true });
  const inner = b.union('', [
    { name: 'i', type: int },
    { name: 'c', type: b.array(char, 4) },
  ]);
  const outer = b.struct('outer', [
    { name: 'zeta', type: int },
    { name: 'Alpha', type: int },
    { name: 'u', type: inner },
    { name: '_x', type: int },
  ]);
  const data = [...le(1n, 4), ...le(2n, 4), ...Buffer.from('hi\0\0'), ...le(3n, 4)];
  const expected =
    '{"Alpha":2,"__EUNOMIA_TYPE":"struct","__EUNOMIA_TYPE_NAME":"outer","_x":3,' +
    '"u":{"__EUNOMIA_TYPE":"union","__EUNOMIA_TYPE_NAME":"","c":"hi","i":26984},"zeta":1}';
  assert.deepEqual(texts(b, outer, data), { json: expected, plain: expected });
});

test('enums print NAME(v) or <UNKNOWN_VARIANT>(v) with the signedness of their size', () => {
  const b = new BtfBuilder();
  const e4 = b.enum('event_type', 4, [
    ['EVENT_TYPE__ENTER', 0],
    ['EVENT_TYPE__EXIT', 1],
    ['NEG', -5],
  ]);
  const e1 = b.enum('small', 1, [
    ['S_A', 1],
    ['S_M', -1],
  ]);
  const packed = b.enum('packed', 1, [['P_HI', 200]]);
  const u4 = b.enum('flags', 4, [['F_TOP', 0x80000000]], { unsigned: true });
  const e8 = b.enum('wide32', 8, [['W', 7]]);
  const e64 = b.enum64('big', [
    ['B_MIN', -(2n ** 63n)],
    ['B_ONE', 1n],
  ]);
  const u64 = b.enum64('ubig', [['U_MAX', 2n ** 64n - 1n]], { unsigned: true });
  assert.deepEqual(texts(b, e4, le(1n, 4)), { json: '"EVENT_TYPE__EXIT(1)"', plain: 'EVENT_TYPE__EXIT(1)' });
  assert.equal(texts(b, e4, le(-5n, 4)).plain, 'NEG(-5)');
  assert.deepEqual(texts(b, e4, le(9n, 4)), { json: '"<UNKNOWN_VARIANT>(9)"', plain: '<UNKNOWN_VARIANT>(9)' });
  assert.equal(texts(b, e1, [0xff]).plain, 'S_M(-1)');
  assert.equal(texts(b, packed, [200]).plain, 'P_HI(200)');
  assert.equal(texts(b, u4, le(0x80000000n, 4)).plain, 'F_TOP(2147483648)');
  assert.equal(texts(b, e8, le(7n, 8)).plain, 'W(7)');
  assert.equal(texts(b, e64, le(-(2n ** 63n), 8)).plain, 'B_MIN(-9223372036854775808)');
  assert.equal(texts(b, e64, le(2n, 8)).plain, '<UNKNOWN_VARIANT>(2)');
  assert.equal(texts(b, u64, le(2n ** 64n - 1n, 8)).plain, 'U_MAX(18446744073709551615)');
});

test('typedefs and const are followed', () => {
  const b = new BtfBuilder();
  const u32 = b.typedef('u32', b.typedef('__u32', b.int('unsigned int', 4)));
  const c = b.const(u32);
  assert.equal(texts(b, c, le(305419896n, 4)).json, '305419896');
});

test('types without a value text are refused when compiled, not when an event arrives', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const odd = b.int('int24', 4, { bits: 24 });
  const ldouble = b.float('long double', 16);
  const bits = b.struct('flags', [
    { name: 'a', type: int, bitOffset: 0, bitfieldSize: 3 },
    { name: 'b', type: int, bitOffset: 3, bitfieldSize: 5 },
  ]);
  const btf = Btf.parse(b.build());
  const compiler = new ValueCompiler(btf);
  const isBtfError = (pattern: RegExp) => (e: unknown) => e instanceof EcliError && e.code === 'BTF_INVALID' && pattern.test(e.message);
  assert.throws(() => compiler.compile(odd), isBtfError(/24-bit integers are not supported/));
  assert.throws(() => compiler.compile(ldouble), isBtfError(/16-byte floats/));
  assert.throws(() => compiler.compile(bits), isBtfError(/struct flags: member "a" is a bitfield/));
  assert.throws(() => compiler.compile(0), isBtfError(/VOID has no value/));
  assert.throws(() => compiler.compile(999), isBtfError(/999/));
});
