/** An iterator's text as output lines: split across chunks, escaped in plain text, one JSON object per line with its time stamp. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIteratorTextFormatter } from '../../src/format/iterator-text.js';

const clock = (): Date => new Date(Date.UTC(2026, 11, 7, 9, 15, 27, 123));
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

test('plain text: lines split between chunks (and inside a UTF-8 sequence) come out whole, escaped; the last one at the end', () => {
  const pass = createIteratorTextFormatter({ format: 'plain' }).pass('dump_task');
  const snow = bytes('☃');
  assert.deepEqual(pass.push(bytes('1 init\n2 ka')), ['1 init']);
  assert.deepEqual(pass.push(Uint8Array.of(...bytes('thread\n3 '), ...snow.subarray(0, 1))), ['2 kathread']);
  assert.deepEqual(pass.push(Uint8Array.of(...snow.subarray(1), ...bytes('\x1b[2J'))), []);
  assert.deepEqual(pass.end(), ['3 ☃\\e[2J']);
});

test('JSON: one object per line, keys sorted; the timestamp is a string, or digits with --time ns, or absent with --time none', () => {
  const line = (time: 'iso' | 'ns' | 'none'): string => {
    const pass = createIteratorTextFormatter({ format: 'json', time, clock }).pass('dump_task');
    const [json] = pass.push(bytes('1 "init"\n'));
    return json!;
  };
  assert.match(line('iso'), /^\{"iterator":"dump_task","line":"1 \\"init\\"","timestamp":"2026-12-07T\d\d:\d\d:27\.123[+-]\d\d:\d\d"\}$/);
  assert.equal(JSON.parse(line('iso')).line, '1 "init"');
  assert.equal(line('ns'), `{"iterator":"dump_task","line":"1 \\"init\\"","timestamp":${BigInt(clock().getTime()) * 1_000_000n}}`);
  assert.equal(line('none'), '{"iterator":"dump_task","line":"1 \\"init\\""}');
});
