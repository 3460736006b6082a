process.env.TZ = 'UTC';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { checkExportStruct } from '../../src/btf/export-check.js';
import { EcliError } from '../../src/errors.js';
import { createEventFormatter, type EventFormatOptions } from '../../src/format/event.js';
import { parseFields } from '../../src/format/fields.js';
import { TextBuffer } from '../../src/format/text-buffer.js';
import type { TimeMode } from '../../src/format/time.js';
import type { DisplayHint } from '../../src/package/types.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const clock = () => new Date('2024-05-06T16:58:31.250Z');

/** struct event {int pid; int ppid; char comm[16]; unsigned long long secret;} */
function eventStruct(display: Record<string, DisplayHint> = {}, names = ['pid', 'ppid', 'comm', 'secret']) {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const char = b.int('char', 1, { signed: true });
  const types = [int, int, b.array(char, 16), b.int('unsigned long long', 8)];
  const id = b.struct(
    'event',
    names.map((name, i) => ({ name, type: types[i]! })),
  );
  const btf = Btf.parse(b.build());
  const members = names.map((name) => ({ name, type: '', ...(display[name] ? { display: display[name] } : {}) }));
  const columns = checkExportStruct(btf, { name: 'event', type_id: id, size: 32, members });
  const record = (pid: number, ppid: number, comm: string, secret = 7n): Buffer => {
    const data = Buffer.alloc(32);
    data.writeInt32LE(pid, 0);
    data.writeInt32LE(ppid, 4);
    data.write(comm, 8);
    data.writeBigUInt64LE(secret, 24);
    return data;
  };
  return { btf, columns, record };
}

function formatter(options: Partial<EventFormatOptions>, display: Record<string, DisplayHint> = {}) {
  const { btf, columns, record } = eventStruct(display);
  return { f: createEventFormatter(btf, columns, { format: 'plain', clock, ...options }), record };
}

test('--fields pid,comm shows exactly these columns, in that order, plain and JSON', () => {
  const fields = parseFields('comm,pid');
  const { f, record } = formatter({ fields });
  // Columns start at their type's width: char[16] is 16 wide (the last column keeps its name's).
  assert.equal(f.header, 'TIME     COMM              PID    ');
  assert.equal(f.format(record(42, 1, 'sh')), '16:58:31  sh               42');
  const json = formatter({ format: 'json', fields, time: 'none' });
  // JSON keeps the reference's sorted keys.
  assert.equal(json.f.format(json.record(42, 1, 'sh')), '{"comm":"sh","pid":42}');
});

test('--fields -ppid removes a column; +name shows one a display hint hides', () => {
  const { f, record } = formatter({ fields: parseFields('-ppid,+secret') }, { secret: 'hidden' });
  assert.equal(f.header, 'TIME     PID      COMM             SECRET ');
  assert.equal(f.format(record(42, 1, 'sh', 9n)), '16:58:31  42      sh               9');
  // Naming a hidden field in a plain list shows it too.
  assert.equal(formatter({ fields: parseFields('secret') }, { secret: 'hidden' }).f.header, 'TIME     SECRET ');
  assert.equal(formatter({ fields: parseFields('-ppid') }, { secret: 'hidden' }).f.header, 'TIME     PID      COMM   ');
});

test('--fields mistakes are usage errors with a suggestion', () => {
  assert.throws(
    () => formatter({ fields: parseFields('pid,commm') }),
    (e: unknown) =>
      e instanceof EcliError &&
      e.code === 'USAGE' &&
      e.message === '--fields: struct event has no field commm (did you mean comm?)' &&
      e.hint === 'its fields are pid, ppid, comm, secret',
  );
  for (const text of ['pid,-ppid', 'pid,,comm', '-']) {
    assert.throws(
      () => parseFields(text),
      (e: unknown) => e instanceof EcliError && e.code === 'USAGE',
      text,
    );
  }
});

test('--fields naming a field twice is refused, not printed twice', () => {
  for (const [text, name] of [
    ['pid,pid', 'pid'],
    ['comm,pid,comm', 'comm'],
    ['-ppid,-ppid', 'ppid'],
    ['+secret,-secret', 'secret'],
  ]) {
    assert.throws(
      () => parseFields(text!),
      (e: unknown) => e instanceof EcliError && e.code === 'USAGE' && e.message === `--fields ${text}: ${name} is named twice`,
      text,
    );
  }
});

test('columns start at the width of their type, so typical values fit under the first header', () => {
  const { f, record } = formatter({});
  // int: 7 (pids up to 4194304), char[16]: 16; the first value starts after the time's two spaces.
  assert.equal(f.header, 'TIME     PID      PPID    COMM             SECRET ');
  assert.equal(f.format(record(42, 1, 'sh')), '16:58:31  42      1       sh               7');
  assert.equal(f.format(record(4194304, 4194304, 'kworker/u8:1')), '16:58:31  4194304 4194304 kworker/u8:1     7');
  assert.equal(f.format(record(42, 1, 'abcdefghijklmnop')), '16:58:31  42      1       abcdefghijklmnop 7');
});

test('a value wider than its column widens it: the header is printed again and rows stay aligned', () => {
  const { f, record } = formatter({});
  // An 8-digit pid fills its column: PID widens by one.
  assert.equal(f.format(record(12345678, 1, 'sh')), 'TIME     PID       PPID    COMM             SECRET \n16:58:31  12345678 1       sh               7');
  assert.equal(f.format(record(42, -1234567, 'sh')), 'TIME     PID       PPID     COMM             SECRET \n16:58:31  42       -1234567 sh               7');
  // Narrower values keep the wider columns; the header is not repeated.
  assert.equal(f.format(record(7, 2, 'sh')), '16:58:31  7        2        sh               7');
  // The last column has nothing after it and never widens.
  assert.equal(f.format(record(7, 2, 'sh', 2n ** 64n - 1n)), '16:58:31  7        2        sh               18446744073709551615');
});

test('widen: false keeps the reference offsets (long values push later columns right)', () => {
  const { f, record } = formatter({ widen: false });
  assert.equal(f.format(record(42, 1, 'kworker/u8:1')), '16:58:31  42    1      kworker/u8:1 7');
  assert.equal(f.format(record(42, 1, 'sh')), '16:58:31  42    1      sh     7');
});

test('formatInto writes the widened header before the row, into the same buffer', () => {
  const { f, record } = formatter({});
  const out = new TextBuffer(16);
  const data = Buffer.concat([Buffer.alloc(3), record(12345678, 1, 'sh')]);
  f.formatInto(data, 3, 32, out);
  f.formatInto(data, 3, 32, out);
  assert.equal(
    out.view().toString(),
    'TIME     PID       PPID    COMM             SECRET \n16:58:31  12345678 1       sh               7\n16:58:31  12345678 1       sh               7\n',
  );
});

test('--time for plain text: none, hms, ms, iso, ns', () => {
  const cases: Array<[TimeMode, string, string]> = [
    ['none', 'PID     PPID    COMM             SECRET ', '42      1       sh               7'],
    ['hms', 'TIME     PID      PPID    COMM             SECRET ', '16:58:31  42      1       sh               7'],
    ['ms', 'TIME         PID      PPID    COMM             SECRET ', '16:58:31.250  42      1       sh               7'],
    ['iso', `TIME${' '.repeat(26)}PID      PPID    COMM             SECRET `, '2024-05-06T16:58:31.250+00:00  42      1       sh               7'],
    ['ns', `TIME${' '.repeat(16)}PID      PPID    COMM             SECRET `, '1715014711250000000  42      1       sh               7'],
  ];
  for (const [time, header, row] of cases) {
    const { f, record } = formatter({ time });
    assert.equal(f.header, header, time);
    assert.equal(f.format(record(42, 1, 'sh')), row, time);
  }
  // Without a time column the first value starts the line and still widens.
  const { f, record } = formatter({ time: 'none' });
  assert.equal(f.format(record(12345678, 1, 'sh')), 'PID      PPID    COMM             SECRET \n12345678 1       sh               7');
});

test('JSON lines carry a timestamp among the sorted keys; --time none is the reference line', () => {
  const line = (time?: EventFormatOptions['time']) => {
    const { f, record } = formatter({ format: 'json', ...(time ? { time } : {}) });
    return f.format(record(42, 1, 'sh'));
  };
  assert.equal(line(), '{"comm":"sh","pid":42,"ppid":1,"secret":7,"timestamp":"2024-05-06T16:58:31.250+00:00"}');
  assert.equal(line('ns'), '{"comm":"sh","pid":42,"ppid":1,"secret":7,"timestamp":1715014711250000000}');
  assert.equal(line('ms'), '{"comm":"sh","pid":42,"ppid":1,"secret":7,"timestamp":"16:58:31.250"}');
  assert.equal(line('none'), '{"comm":"sh","pid":42,"ppid":1,"secret":7}');
  // A struct member named timestamp is the package's and wins.
  const { btf, columns, record } = eventStruct({}, ['pid', 'ppid', 'comm', 'timestamp']);
  const f = createEventFormatter(btf, columns, { format: 'json', clock });
  assert.equal(f.format(record(42, 1, 'sh', 5n)), '{"comm":"sh","pid":42,"ppid":1,"timestamp":5}');
});

test('ns time stamps without a pinned clock are nanoseconds near the wall clock', () => {
  const { btf, columns, record } = eventStruct();
  const f = createEventFormatter(btf, columns, { format: 'json', time: 'ns' });
  const before = BigInt(Date.now()) * 1_000_000n;
  const stamp = BigInt(/"timestamp":(\d+)/.exec(f.format(record(1, 1, 'x')))![1]!);
  assert.ok(stamp >= before - 5_000_000n && stamp <= before + 1_000_000_000n, `${stamp} vs ${before}`);
});

test('start widths follow display hints and enums; widen: false keeps the names', () => {
  const { f } = formatter({}, { pid: 'errno', ppid: 'hex' });
  // errno: 8 (+1 after the time), hex of an int: 0x and 8 digits.
  assert.equal(f.header, 'TIME     PID       PPID       COMM             SECRET ');
  assert.equal(formatter({ widen: false }).f.header, 'TIME     PID    PPID   COMM   SECRET ');
});

test('a line longer than the terminal is cut at its width, ending with …; without maxWidth it is whole', () => {
  let columns: number | undefined = 30;
  const { f, record } = formatter({ maxWidth: () => columns });
  const out = new TextBuffer(16);
  const data = record(42, 1, 'sh', 12345678901234567890n);
  f.formatInto(data, 0, 32, out);
  assert.equal(out.view().toString(), '16:58:31  42      1       sh …\n');
  // A widened header is cut too, and so is the row under it; the width is read for every line.
  columns = 20;
  out.clear();
  f.formatInto(record(123456789, 1, 'é'.repeat(8)), 0, 32, out);
  assert.equal(out.view().toString(), 'TIME     PID       …\n16:58:31  123456789…\n');
  columns = undefined;
  out.clear();
  f.formatInto(data, 0, 32, out);
  assert.equal(out.view().toString(), '16:58:31  42        1       sh               12345678901234567890\n');
  // Multi-byte characters count once: a line of 18 characters in 26 bytes fits 20 columns.
  const cut = formatter({ maxWidth: () => 20, fields: parseFields('comm') });
  assert.equal(cut.f.format(cut.record(1, 1, 'éééééééé')), '16:58:31  éééééééé');
});
