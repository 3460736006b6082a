process.env.TZ = 'UTC';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { Btf } from '../../src/btf/btf.js';
import { checkExportStruct } from '../../src/btf/export-check.js';
import type { Columns } from '../../src/btf/columns.js';
import { ByteWriterCompiler, jsonLineWriter, plainRowWriter } from '../../src/format/bytes.js';
import { plainCells } from '../../src/format/display.js';
import { createEventFormatter } from '../../src/format/event.js';
import { compileRecord } from '../../src/format/record.js';
import { ValueCompiler } from '../../src/format/value.js';
import { TextBuffer } from '../../src/format/text-buffer.js';
import type { DisplayHint } from '../../src/package/types.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const clock = () => new Date('2024-05-06T16:58:31.250Z');

/** A struct with a member of every kind the byte writers handle, and some they hand to decoders. */
function everyKind(display: Record<string, DisplayHint> = {}): { btf: Btf; columns: Columns } {
  const b = new BtfBuilder();
  const char = b.int('char', 1, { signed: true });
  const u32 = b.int('unsigned int', 4);
  const inner = b.struct('inner', [
    { name: 'a', type: b.int('short', 2, { signed: true }) },
    { name: 'b', type: b.array(char, 4) },
  ]);
  const members: Array<[string, number]> = [
    ['u8', b.int('unsigned char', 1)],
    ['s8', b.int('signed char', 1, { signed: true })],
    ['u16', b.int('unsigned short', 2)],
    ['s16', b.int('short', 2, { signed: true })],
    ['u32', u32],
    ['s32', b.int('int', 4, { signed: true })],
    ['u64', b.int('unsigned long long', 8)],
    ['s64', b.int('long long', 8, { signed: true })],
    ['u128', b.int('unsigned __int128', 16)],
    ['flag', b.int('_Bool', 1, { bool: true })],
    ['pid', b.typedef('pid_t', b.const(u32))],
    ['ptr', b.ptr(char)],
    ['comm', b.array(char, 16)],
    ['bytes', b.array(b.int('unsigned char', 1), 3)],
    ['argv', b.array(b.array(char, 8), 3)],
    ['ints', b.array(u32, 3)],
    [
      'state',
      b.enum('state', 4, [
        ['RUNNING', 0],
        ['SLEEPING', 1],
        ['ÉTAT', 2],
      ]),
    ],
    [
      'small',
      b.enum(
        'small',
        1,
        [
          ['A', 0],
          ['B', 255],
        ],
        { unsigned: true },
      ),
    ],
    ['big', b.enum64('big', [['HUGE', 1n << 40n]])],
    ['ratio', b.float('double', 8)],
    ['nested', inner],
    ['zz_last_key_first_byte', u32],
  ];
  const id = b.struct(
    'event',
    members.map(([name, type]) => ({ name, type })),
  );
  const btf = Btf.parse(b.build());
  const columns = checkExportStruct(btf, {
    name: 'event',
    type_id: id,
    size: btf.sizeOf(id),
    members: members.map(([name]) => ({ name, type: '', ...(display[name] ? { display: display[name] } : {}) })),
  });
  return { btf, columns };
}

/** Record bytes that often hold ASCII text, NULs, escapes, UTF-8 and invalid UTF-8. */
function recordBytes(size: number): fc.Arbitrary<Uint8Array> {
  const byte = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constantFrom(0x22, 0x5c, 0x0a, 0x01, 0x7f, 0xc3, 0xa9, 0xff, 0x80) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );
  return fc.array(byte, { minLength: size, maxLength: size }).map((a) => Uint8Array.from(a));
}

/**
 * The byte writers against the string decoders they must equal: a JSON line against the record's
 * JSON decoder, and a plain row (cells one space apart) against each cell's plain decoder.
 */
function checkSameAsStrings(display: Record<string, DisplayHint> = {}): void {
  const { btf, columns } = everyKind(display);
  const values = new ValueCompiler(btf);
  const writers = new ByteWriterCompiler(btf, values);
  const record = compileRecord(values, columns);
  const json = jsonLineWriter(writers, columns.members);
  const cells = plainCells(btf, record, { bootTimeNs: 0n });
  const row = plainRowWriter(
    writers,
    cells,
    cells.map(() => 0),
    false,
  );
  // A small buffer, so that growing it is exercised too.
  const out = new TextBuffer(64);
  fc.assert(
    fc.property(recordBytes(columns.size), fc.nat(9), (bytes, at) => {
      const data = Buffer.alloc(at + bytes.length + 5, 0xee);
      data.set(bytes, at);
      const written = (write: () => void): Buffer => {
        const before = out.length;
        write();
        return Buffer.from(out.bytes.subarray(before, out.length));
      };
      assert.deepEqual(
        written(() => json(data, at, out)),
        Buffer.from(`${record.json(data, at)}\n`),
      );
      const plain = cells.map((c) => c.plain(data, at + c.column.offset)).join(' ');
      assert.deepEqual(
        written(() => row.write(data, at, new Uint8Array(0), out)),
        Buffer.from(`${plain}\n`),
      );
      assert.deepEqual(
        row.measure(data, at, out),
        cells.map((c) => Buffer.byteLength(c.plain(data, at + c.column.offset))),
      );
    }),
    { numRuns: 400 },
  );
}

test('byte writers print exactly what the string decoders print, JSON and plain, for random records', () => {
  checkSameAsStrings();
});

test('byte writers match the decoders with display hints (args joined, hidden columns left out)', () => {
  checkSameAsStrings({ argv: 'args', u8: 'hidden' });
});

test('64-bit values past 2^53 and negative ones print like the string decoders', () => {
  const { btf, columns } = everyKind();
  const formatter = createEventFormatter(btf, columns, { format: 'json', time: 'none' });
  const u64 = columns.members.find((c) => c.name === 'u64')!;
  const s64 = columns.members.find((c) => c.name === 's64')!;
  for (const [u, s] of [
    [2n ** 64n - 1n, -(2n ** 63n)],
    [2n ** 53n + 1n, -(2n ** 53n) - 1n],
    [2n ** 53n - 1n, -1n],
    [0n, 2n ** 63n - 1n],
  ] as const) {
    const record = Buffer.alloc(columns.size);
    record.writeBigUInt64LE(u, u64.offset);
    record.writeBigInt64LE(s, s64.offset);
    const out = new TextBuffer();
    formatter.formatInto(record, 0, record.length, out);
    const line = out.view().toString();
    assert.equal(line, `${formatter.format(record)}\n`);
    assert.match(line, new RegExp(`"s64":${s},`));
    assert.match(line, new RegExp(`"u64":${u},`));
  }
});

test('a record too short for the columns throws the same error as format() and writes nothing', () => {
  const { btf, columns } = everyKind();
  for (const format of ['json', 'plain'] as const) {
    const formatter = createEventFormatter(btf, columns, { format, clock });
    const short = Buffer.alloc(columns.size >> 1);
    const out = new TextBuffer();
    let expected: unknown;
    try {
      formatter.format(short);
    } catch (error) {
      expected = error;
    }
    assert.ok(expected instanceof Error);
    assert.throws(() => formatter.formatInto(Buffer.concat([Buffer.alloc(3), short]), 3, short.length, out), expected);
    assert.equal(out.length, 0);
  }
});

test('TextBuffer: integers and strings; clear() reuses the memory, detach() leaves views intact', () => {
  const out = new TextBuffer(4);
  for (const n of [0, 7, 10, 4294967295, -1, -2147483648, 2 ** 53 - 1, -(2 ** 53 - 1)]) {
    out.integer(n);
    out.byte(0x20);
  }
  out.string('é€😀');
  assert.equal(out.view().toString(), `0 7 10 4294967295 -1 -2147483648 ${2 ** 53 - 1} ${-(2 ** 53 - 1)} é€😀`);
  out.clear();
  out.constant(Buffer.from('x'.repeat(20000)));
  const kept = out.view();
  out.detach();
  assert.equal(out.length, 0);
  out.constant(Buffer.from('after'));
  assert.equal(kept.toString(), 'x'.repeat(20000), 'bytes detached are not overwritten by later writes');
  assert.equal(out.view().toString(), 'after');
});
