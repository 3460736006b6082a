import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatF64, jsonString } from '../../src/format/numbers.js';

test('floats print in ryu layout: integral values keep .0', () => {
  assert.equal(formatF64(1), '1.0');
  assert.equal(formatF64(4), '4.0');
  assert.equal(formatF64(-3), '-3.0');
  assert.equal(formatF64(1e15), '1000000000000000.0');
  assert.equal(formatF64(Number('9007199254740993')), '9007199254740992.0');
});

test('floats print shortest round-trip digits in decimal between 1e-5 and 1e16', () => {
  assert.equal(formatF64(0.1), '0.1');
  assert.equal(formatF64(4.56), '4.56');
  assert.equal(formatF64(0.00001), '0.00001');
  assert.equal(formatF64(-0.000123), '-0.000123');
  assert.equal(formatF64(9999999999999998), '9999999999999998.0');
  assert.equal(formatF64(Math.fround(1.23)), '1.2300000190734863');
});

test('floats outside 1e-5..1e16 use scientific notation without a plus sign', () => {
  assert.equal(formatF64(1e16), '1e16');
  assert.equal(formatF64(1.5e-7), '1.5e-7');
  assert.equal(formatF64(0.000001), '1e-6');
  assert.equal(formatF64(9.99e-6), '9.99e-6');
  assert.equal(formatF64(-2.5e20), '-2.5e20');
  assert.equal(formatF64(123456789012345680.0), '1.2345678901234568e17');
  assert.equal(formatF64(1e21), '1e21');
  assert.equal(formatF64(Number.MAX_VALUE), '1.7976931348623157e308');
  assert.equal(formatF64(5e-324), '5e-324');
});

test('zero keeps its sign and non-finite values are null', () => {
  assert.equal(formatF64(0), '0.0');
  assert.equal(formatF64(-0), '-0.0');
  assert.equal(formatF64(Number.NaN), 'null');
  assert.equal(formatF64(Number.POSITIVE_INFINITY), 'null');
  assert.equal(formatF64(Number.NEGATIVE_INFINITY), 'null');
});

test('every float text parses back to the same value and follows the notation rule', () => {
  const view = new DataView(new ArrayBuffer(8));
  let seed = 0x9e3779b9;
  const next = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  for (let i = 0; i < 20000; i++) {
    view.setUint32(0, next());
    view.setUint32(4, next());
    const x = view.getFloat64(0);
    if (!Number.isFinite(x)) continue;
    const text = formatF64(x);
    assert.equal(Number(text), x, text);
    const magnitude = Math.abs(x);
    const scientific = magnitude !== 0 && (magnitude < 1e-5 || magnitude >= 1e16);
    assert.equal(text.includes('e'), scientific, text);
    if (!scientific) assert.ok(text.includes('.'), text);
    assert.ok(!text.includes('+'), text);
  }
});

test('JSON strings are escaped like serde_json compact output', () => {
  assert.equal(jsonString('plain'), '"plain"');
  assert.equal(jsonString('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(jsonString('\b\f\n\r\t'), '"\\b\\f\\n\\r\\t"');
  assert.equal(jsonString('\u0000\u0001\u001f'), '"\\u0000\\u0001\\u001f"');
  assert.equal(jsonString('\u001b[0m'), '"\\u001b[0m"');
  assert.equal(jsonString('/usr/bin'), '"/usr/bin"');
  assert.equal(jsonString('\u007f héllo ✓'), '"\u007f héllo ✓"');
  assert.equal(jsonString(''), '""');
});
