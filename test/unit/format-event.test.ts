process.env.TZ = 'UTC';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { checkExportStruct } from '../../src/btf/export-check.js';
import type { Columns } from '../../src/btf/columns.js';
import { EcliError } from '../../src/errors.js';
import { createEventFormatter } from '../../src/format/event.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

import { loadFixture } from '../helpers/fixtures.js';

const clock = () => new Date('2024-05-06T16:58:31.250Z');

/** Writes column values into a record by name, little-endian. */
function recordOf(columns: Columns, values: Record<string, bigint | string | number[]>): Buffer {
  const data = Buffer.alloc(columns.size);
  for (const [name, value] of Object.entries(values)) {
    const c = columns.members.find((m) => m.name === name);
    if (!c) throw new Error(`no column ${name}`);
    if (typeof value === 'string') data.write(value, c.offset);
    else if (Array.isArray(value)) Buffer.from(value).copy(data, c.offset);
    else for (let i = 0, v = BigInt.asUintN(c.size * 8, value); i < c.size; i++, v >>= 8n) data[c.offset + i] = Number(v & 0xffn);
  }
  return data;
}

/** The upstream simple_prog struct S, rebuilt with the BTF builder. */
function simpleProg() {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const char = b.int('char', 1, { signed: true });
  const e = b.enum('E', 4, [
    ['E_A', 0],
    ['E_B', 1],
  ]);
  const s = b.struct('S', [
    { name: 'arr1', type: b.array(b.array(b.array(int, 4), 3), 2) },
    { name: 'str', type: b.array(char, 10) },
    { name: 'str_arr', type: b.array(b.array(char, 10), 10) },
    { name: 'ft', type: b.float('float', 4) },
    { name: 'dbl', type: b.float('double', 8) },
    { name: 'u8v', type: b.int('unsigned char', 1) },
    { name: 'i8v', type: b.int('signed char', 1, { signed: true }) },
    { name: 'u16v', type: b.int('unsigned short', 2) },
    { name: 'i16v', type: b.int('short', 2, { signed: true }) },
    { name: 'u32v', type: b.int('unsigned int', 4) },
    { name: 'i32v', type: int },
    { name: 'u64v', type: b.int('unsigned long long', 8) },
    { name: 'i64v', type: b.int('long long', 8, { signed: true }) },
    { name: 'e', type: e },
  ]);
  const btf = Btf.parse(b.build());
  const names = ['arr1', 'str', 'str_arr', 'ft', 'dbl', 'u8v', 'i8v', 'u16v', 'i16v', 'u32v', 'i32v', 'u64v', 'i64v', 'e'];
  const columns = checkExportStruct(btf, { name: 'S', type_id: s, size: btf.sizeOf(s), members: names.map((name) => ({ name, type: '' })) });
  const arr1: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) arr1.push(k, j, i, 0);
  const strArr: number[] = [];
  for (let i = 0; i < 10; i++) strArr.push(...Buffer.from(`hello ${i}`.padEnd(10, '\0')));
  const ft = Buffer.alloc(4);
  ft.writeFloatLE(1.23);
  const dbl = Buffer.alloc(8);
  dbl.writeDoubleLE(4.56);
  const record = recordOf(columns, {
    arr1,
    str: 'A-String',
    str_arr: strArr,
    ft: [...ft],
    dbl: [...dbl],
    u8v: 0x12n,
    i8v: -0x12n,
    u16v: 0x1234n,
    i16v: -0x1234n,
    u32v: 0x12345678n,
    i32v: -0x12345678n,
    u64v: 0x123456789abcdef0n,
    i64v: -0x123456789abcdef0n,
    e: 0n,
  });
  return { btf, columns, record };
}

test('simple_prog: the upstream header and row', () => {
  const { btf, columns, record } = simpleProg();
  const formatter = createEventFormatter(btf, columns, { format: 'plain', clock, widen: false });
  assert.equal(formatter.header, 'TIME     ARR1   STR    STR_ARR FT     DBL    U8V    I8V    U16V   I16V   U32V   I32V   U64V   I64V   E      ');
  assert.equal(
    formatter.format(record),
    '16:58:31  [[[0,1,2,3],[256,257,258,259],[512,513,514,515]],[[65536,65537,65538,65539],[65792,65793,65794,65795],[66048,66049,66050,66051]]] ' +
      'A-String ["hello 0","hello 1","hello 2","hello 3","hello 4","hello 5","hello 6","hello 7","hello 8","hello 9"] ' +
      '1.2300000190734863 4.56 18 -18 4660 -4660 305419896 -305419896 1311768467463790320 -1311768467463790320 E_A(0)',
  );
});

test('simple_prog: JSON has sorted keys and quoted strings and enums', () => {
  const { btf, columns, record } = simpleProg();
  const formatter = createEventFormatter(btf, columns, { format: 'json', time: 'none' });
  assert.equal(formatter.header, undefined);
  const line = formatter.format(record);
  assert.ok(line.startsWith('{"arr1":[[[0,1,2,3],'), line);
  assert.ok(
    line.endsWith(
      ',"dbl":4.56,"e":"E_A(0)","ft":1.2300000190734863,"i16v":-4660,"i32v":-305419896,"i64v":-1311768467463790320,"i8v":-18,"str":"A-String","str_arr":["hello 0","hello 1","hello 2","hello 3","hello 4","hello 5","hello 6","hello 7","hello 8","hello 9"],"u16v":4660,"u32v":305419896,"u64v":1311768467463790320,"u8v":18}',
    ),
    line,
  );
  assert.deepEqual(Object.keys(JSON.parse(line)), [...columns.members.map((c) => c.name)].sort());
});

function bootstrap() {
  const { btf, meta } = loadFixture('bootstrap.json');
  const columns = checkExportStruct(btf, meta.export_types[0]!);
  return { btf, columns };
}

test('bootstrap fixture: header and aligned rows, pinned clock', () => {
  const { btf, columns } = bootstrap();
  const formatter = createEventFormatter(btf, columns, { format: 'plain', clock, widen: false });
  assert.equal(formatter.header, 'TIME     PID    PPID   EXIT_CODE DURATION_NS COMM   FILENAME EXIT_EVENT ET     ');
  const exec = recordOf(columns, { pid: 506334n, ppid: 486903n, comm: 'sh', filename: '/bin/sh', exit_event: 0n, et: 0n });
  const exit = recordOf(columns, { pid: 506335n, ppid: 506334n, duration_ns: 754015n, comm: 'which', exit_event: 1n, et: 1n });
  const first = formatter.format(exec);
  const second = formatter.format(exit);
  assert.ok(first.startsWith('16:58:31  506334 486903 0        0           sh     /bin/sh  false'), first);
  assert.ok(second.startsWith('16:58:31  506335 506334 0        754015      which           true'), second);
  assert.equal(first, '16:58:31  506334 486903 0        0           sh     /bin/sh  false      EVENT_TYPE__ENTER(0)');
  assert.equal(second, '16:58:31  506335 506334 0        754015      which           true       EVENT_TYPE__EXIT(1)');
  // A longer record is fine: the extra bytes are ignored.
  assert.equal(formatter.format(Buffer.concat([exec, Buffer.alloc(8, 0xff)])), first);
});

test('bootstrap fixture: the reference JSON line', () => {
  const { btf, columns } = bootstrap();
  const formatter = createEventFormatter(btf, columns, { format: 'json', time: 'none' });
  const record = recordOf(columns, { pid: 1234n, ppid: 1000n, comm: 'sh', filename: '/bin/sh', exit_event: 0n, et: 0n });
  assert.equal(
    formatter.format(record),
    '{"comm":"sh","duration_ns":0,"et":"EVENT_TYPE__ENTER(0)","exit_code":0,"exit_event":false,"filename":"/bin/sh","pid":1234,"ppid":1000}',
  );
});

test('a record shorter than the columns is a RUNTIME error naming the member', () => {
  const { btf, columns } = bootstrap();
  for (const format of ['plain', 'json'] as const) {
    const formatter = createEventFormatter(btf, columns, { format, clock });
    assert.throws(
      () => formatter.format(new Uint8Array(30)),
      (e: unknown) =>
        e instanceof EcliError && e.code === 'RUNTIME' && e.message === 'event of 30 bytes is too short for struct event: member "comm" needs bytes 24..40',
    );
    assert.doesNotThrow(() => formatter.format(new Uint8Array(176)));
  }
});

test('plain rows pad by UTF-8 byte length, and names upper-case ASCII only', () => {
  const b = new BtfBuilder();
  const char = b.int('char', 1, { signed: true });
  const s = b.struct('row', [
    { name: 'comm', type: b.array(char, 8) },
    { name: 'pid', type: b.int('int', 4, { signed: true }) },
  ]);
  const btf = Btf.parse(b.build());
  const columns = checkExportStruct(btf, {
    name: 'row',
    type_id: s,
    size: 12,
    members: [
      { name: 'comm', type: '' },
      { name: 'pid', type: '' },
    ],
  });
  // The reference's offsets (widen: false): columns padded by their names.
  const formatter = createEventFormatter(btf, columns, { format: 'plain', clock, widen: false });
  assert.equal(formatter.header, 'TIME     COMM   PID    ');
  assert.equal(formatter.format(recordOf(columns, { comm: 'é', pid: 5n })), '16:58:31  é    5');
  assert.equal(formatter.format(recordOf(columns, { comm: '', pid: 5n })), '16:58:31        5');
  // `ñ` is two bytes, so `ñAME` is five bytes long and gets one space of padding, not two.
  const renamed = { ...columns, members: columns.members.map((c, i) => ({ ...c, name: i === 0 ? 'ñame' : 'a_b' })) };
  assert.equal(createEventFormatter(btf, renamed, { format: 'plain', clock, widen: false }).header, 'TIME     ñAME  A_B    ');
});

test('the time of day follows the clock', () => {
  const { btf, columns, record } = simpleProg();
  let now = new Date('2024-05-06T00:00:59.999Z');
  const formatter = createEventFormatter(btf, columns, { format: 'plain', clock: () => now, widen: false });
  assert.ok(formatter.format(record).startsWith('00:00:59  '));
  now = new Date('2024-05-06T23:01:00.000Z');
  assert.ok(formatter.format(record).startsWith('23:01:00  '));
});
