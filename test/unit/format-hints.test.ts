process.env.TZ = 'UTC';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { checkExportStruct } from '../../src/btf/export-check.js';
import { EcliError } from '../../src/errors.js';
import { createEventFormatter } from '../../src/format/event.js';
import { durationText } from '../../src/format/hints.js';
import type { DisplayHint } from '../../src/package/types.js';
import { validateMeta } from '../../src/package/validate.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const clock = () => new Date('2024-05-06T16:58:31.250Z');
/** Wall clock when the monotonic clock was 0: boot_ns values count from here. */
const bootTimeNs = BigInt(Date.parse('2024-05-06T16:00:00Z')) * 1_000_000n;

const MEMBERS = ['ret', 'sig', 'mask', 'fl', 'dur', 'ts', 'saddr', 'sport', 'daddr', 'key'] as const;
type Member = (typeof MEMBERS)[number];

/**
 * struct event {int ret; int sig; unsigned int mask; enum oflags fl; u64 dur; u64 ts; u32 saddr;
 * u16 sport; u8 daddr[16]; u8 key[4];}: offsets 0 4 8 12 16 24 32 36 38 54, size 64.
 */
function eventStruct(display: Partial<Record<Member, DisplayHint>>) {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const u8 = b.int('unsigned char', 1);
  const u64 = b.int('unsigned long long', 8);
  const oflags = b.enum(
    'oflags',
    4,
    [
      ['O_RDONLY', 0],
      ['O_WRONLY', 1],
      ['O_CREAT', 0x40],
      ['O_TRUNC', 0x200],
    ],
    { unsigned: true },
  );
  const id = b.struct('event', [
    { name: 'ret', type: int },
    { name: 'sig', type: int },
    { name: 'mask', type: b.int('unsigned int', 4) },
    { name: 'fl', type: oflags },
    { name: 'dur', type: u64 },
    { name: 'ts', type: u64 },
    { name: 'saddr', type: b.typedef('__be32', b.int('unsigned int', 4)) },
    { name: 'sport', type: b.typedef('__be16', b.int('unsigned short', 2)) },
    { name: 'daddr', type: b.array(u8, 16) },
    { name: 'key', type: b.array(u8, 4) },
  ]);
  const btf = Btf.parse(b.build());
  const members = MEMBERS.map((name) => ({ name, type: '', ...(display[name] ? { display: display[name] } : {}) }));
  return { btf, columns: checkExportStruct(btf, { name: 'event', type_id: id, size: 64, members }) };
}

const ALL_HINTS: Record<Member, DisplayHint> = {
  ret: 'errno',
  sig: 'signal',
  mask: 'hex',
  fl: 'flags',
  dur: 'duration',
  ts: 'boot_ns',
  saddr: 'ipv4',
  sport: 'port',
  daddr: 'ipv6',
  key: 'hex',
};

function record(values: { ret: number; sig: number; fl: number; dur: bigint; ts: bigint; daddr: string }): Buffer {
  const data = Buffer.alloc(64);
  data.writeInt32LE(values.ret, 0);
  data.writeInt32LE(values.sig, 4);
  data.writeUInt32LE(0xbeef, 8);
  data.writeUInt32LE(values.fl, 12);
  data.writeBigUInt64LE(values.dur, 16);
  data.writeBigUInt64LE(values.ts, 24);
  Buffer.from([10, 0, 0, 1]).copy(data, 32); // network byte order: as the bytes come
  data.writeUInt16BE(8080, 36);
  Buffer.from(values.daddr, 'hex').copy(data, 38);
  Buffer.from([0xde, 0xad, 0xbe, 0xef]).copy(data, 54);
  return data;
}

const failedOpen = record({ ret: -2, sig: 9, fl: 0x241, dur: 1_234_567n, ts: 3_511_250_123_456n, daddr: '20010db8000000000000000000000001' });
const quiet = record({ ret: 3, sig: 0, fl: 0, dur: 999n, ts: 0n, daddr: '00000000000000000000ffff7f000001' });

test('the layout the tests write matches the BTF builder', () => {
  const { columns } = eventStruct({});
  assert.deepEqual(
    columns.members.map((c) => c.offset),
    [0, 4, 8, 12, 16, 24, 32, 36, 38, 54],
  );
  assert.equal(columns.size, 64);
});

test('plain text shows every value hint readably (golden)', () => {
  const { btf, columns } = eventStruct(ALL_HINTS);
  const formatter = createEventFormatter(btf, columns, { format: 'plain', clock, widen: false, bootTimeNs });
  assert.equal(formatter.header, 'TIME     RET    SIG    MASK   FL     DUR    TS     SADDR  SPORT  DADDR  KEY    ');
  assert.equal(
    formatter.format(failedOpen),
    '16:58:31  -ENOENT SIGKILL 0xbeef O_WRONLY|O_CREAT|O_TRUNC 1.235ms 16:58:31.250123 10.0.0.1 8080 2001:db8::1 deadbeef',
  );
  assert.equal(formatter.format(quiet), '16:58:31  3     0      0xbeef O_RDONLY 999ns 0     10.0.0.1 8080 ::ffff:127.0.0.1 deadbeef');
});

test('without hints the same record prints the reference way (an enum of bits is one unknown variant)', () => {
  const { btf, columns } = eventStruct({});
  const formatter = createEventFormatter(btf, columns, { format: 'plain', clock, widen: false, bootTimeNs });
  assert.equal(
    formatter.format(failedOpen),
    '16:58:31  -2    9      48879  <UNKNOWN_VARIANT>(577) 1234567 3511250123456 16777226 36895 [32,1,13,184,0,0,0,0,0,0,0,0,0,0,0,1] [222,173,190,239]',
  );
});

test("JSON keeps the reference's members and adds each hint's readable <name>_text twin (golden)", () => {
  const plain = eventStruct({});
  const hinted = eventStruct(ALL_HINTS);
  const reference = createEventFormatter(plain.btf, plain.columns, { format: 'json', time: 'none' }).format(failedOpen);
  const json = JSON.parse(createEventFormatter(hinted.btf, hinted.columns, { format: 'json', time: 'none', bootTimeNs }).format(failedOpen)) as Record<
    string,
    unknown
  >;
  const twins = Object.fromEntries(Object.entries(json).filter(([key]) => key.endsWith('_text')));
  const own = Object.fromEntries(Object.entries(json).filter(([key]) => !key.endsWith('_text')));
  assert.deepEqual(own, JSON.parse(reference), "the members and their values are the reference's");
  assert.deepEqual(twins, {
    ret_text: '-ENOENT',
    sig_text: 'SIGKILL',
    mask_text: '0xbeef',
    fl_text: 'O_WRONLY|O_CREAT|O_TRUNC',
    dur_text: '1.235ms',
    ts_text: '2024-05-06T16:58:31.250+00:00',
    saddr_text: '10.0.0.1',
    sport_text: '8080',
    daddr_text: '2001:db8::1',
    key_text: 'deadbeef',
  });
  // Keys stay sorted, the twin right after its member.
  const line = createEventFormatter(hinted.btf, hinted.columns, {
    format: 'json',
    time: 'none',
    bootTimeNs,
    fields: { kind: 'only', names: ['sig', 'ret'] },
  }).format(failedOpen);
  assert.equal(line, '{"ret":-2,"ret_text":"-ENOENT","sig":9,"sig_text":"SIGKILL"}', '--fields keeps the twins of the members shown');
});

test('errno, signal and flags values without a name stay numbers', () => {
  const { btf, columns } = eventStruct(ALL_HINTS);
  const odd = record({ ret: -4000, sig: 40, fl: 0x1000 | 0x40, dur: 61_500_000_000n, ts: 0n, daddr: '00000000000000000000000000000000' });
  const text = createEventFormatter(btf, columns, {
    format: 'plain',
    clock,
    widen: false,
    bootTimeNs,
    fields: { kind: 'only', names: ['ret', 'sig', 'fl', 'dur', 'daddr'] },
  }).format(odd);
  assert.equal(text, '16:58:31  -4000 SIGRT_8 O_CREAT|0x1000 61.5s ::');
  const kernel = record({ ret: -524, sig: 6, fl: 0, dur: 0n, ts: 0n, daddr: '00'.repeat(16) });
  assert.equal(
    createEventFormatter(btf, columns, { format: 'plain', time: 'none', widen: false, fields: { kind: 'only', names: ['ret', 'sig'] } }).format(kernel),
    '-ENOTSUPP SIGABRT',
  );
});

test('durations pick the largest unit that keeps the value at least 1', () => {
  const cases: Array<[bigint, string]> = [
    [0n, '0ns'],
    [999n, '999ns'],
    [1000n, '1us'],
    [1500n, '1.5us'],
    [2_000_000n, '2ms'],
    [1_234_567_890n, '1.235s'],
    [-1500n, '-1.5us'],
  ];
  for (const [ns, text] of cases) assert.equal(durationText(ns), text, `${ns}`);
});

test('a hint that does not fit its member type is a package error in plain text and JSON', () => {
  const cases: Array<[Member, DisplayHint, RegExp]> = [
    ['fl', 'errno', /needs an integer, not enum oflags/],
    ['mask', 'flags', /needs an enum type/],
    ['ret', 'port', /needs a 16-bit integer/],
    ['key', 'ipv6', /needs 16 bytes/],
    ['daddr', 'ipv4', /needs 4 bytes/],
    ['daddr', 'duration', /needs an integer/],
  ];
  for (const [member, hint, problem] of cases) {
    const { btf, columns } = eventStruct({ [member]: hint });
    for (const format of ['plain', 'json'] as const) {
      assert.throws(
        () => createEventFormatter(btf, columns, { format, clock }),
        (e: unknown) => e instanceof EcliError && e.code === 'PACKAGE_INVALID' && e.message.includes(`member "${member}"`) && problem.test(e.message),
        `${member} ${hint} ${format}`,
      );
    }
  }
});

test('the package schema accepts every display hint and rejects others', () => {
  const meta = (display: unknown) => ({
    bpf_skel: { obj_name: 'o', data_sections: [], maps: [], progs: [] },
    export_types: [{ name: 'event', size: 4, type_id: 1, members: [{ name: 'a', type: 'int', display }] }],
  });
  for (const display of Object.values(ALL_HINTS)) assert.equal(validateMeta(meta(display), 'meta').export_types[0]!.members[0]!.display, display);
  assert.throws(
    () => validateMeta(meta('errnos'), 'meta'),
    (e: unknown) => e instanceof EcliError && e.code === 'PACKAGE_INVALID',
  );
});
