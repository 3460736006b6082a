process.env.TZ = 'UTC';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { checkExportStruct } from '../../src/btf/export-check.js';
import { EcliError } from '../../src/errors.js';
import { shellQuote } from '../../src/format/display.js';
import { createEventFormatter } from '../../src/format/event.js';
import type { ExportedTypesStructMemberMeta } from '../../src/package/types.js';
import { validateMeta } from '../../src/package/validate.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const clock = () => new Date('2024-05-06T16:58:31.250Z');

/** struct event {int pid; char argv[4][8]; unsigned long long secret; char comm[8];}, display hints by member. */
function eventStruct(display: Record<string, ExportedTypesStructMemberMeta['display']>) {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const char = b.int('char', 1, { signed: true });
  const id = b.struct('event', [
    { name: 'pid', type: int },
    { name: 'argv', type: b.array(b.array(char, 8), 4) },
    { name: 'secret', type: b.int('unsigned long long', 8) },
    { name: 'comm', type: b.array(char, 8) },
  ]);
  const btf = Btf.parse(b.build());
  const members = ['pid', 'argv', 'secret', 'comm'].map((name) => ({ name, type: '', ...(display[name] ? { display: display[name] } : {}) }));
  return { btf, columns: checkExportStruct(btf, { name: 'event', type_id: id, size: 56, members }) };
}

/** The struct's layout, as C lays it out: pid 0, argv 4..36, secret 40, comm 48 → size 56. */
function layoutRecord(argv: string[]): Buffer {
  const data = Buffer.alloc(56);
  data.writeInt32LE(4242, 0);
  argv.forEach((arg, i) => data.write(arg, 4 + i * 8));
  data.writeBigUInt64LE(0xdeadbeefn, 40);
  data.write('ls', 48);
  return data;
}

test('the layout the tests write matches the BTF builder', () => {
  const { columns } = eventStruct({});
  assert.deepEqual(
    columns.members.map((c) => [c.name, c.offset, c.size]),
    [
      ['pid', 0, 4],
      ['argv', 4, 32],
      ['secret', 40, 8],
      ['comm', 48, 8],
    ],
  );
  assert.equal(columns.size, 56);
});

test('plain text: "args" prints a command line, "hidden" leaves the column out (golden)', () => {
  const { btf, columns } = eventStruct({ argv: 'args', secret: 'hidden' });
  const formatter = createEventFormatter(btf, columns, { format: 'plain', clock, widen: false });
  assert.equal(formatter.header, 'TIME     PID    ARGV   COMM   ');
  assert.equal(formatter.format(layoutRecord(['ls', '-l', 'a b'])), "16:58:31  4242  ls -l 'a b' ls");
  // Only trailing empty strings are unused slots; an empty argument in the middle stays visible.
  assert.equal(formatter.format(layoutRecord(['printf', '', "it's"])), "16:58:31  4242  printf '' 'it'\\''s' ls");
  assert.equal(formatter.format(layoutRecord([])), '16:58:31  4242         ls');
});

test('without hints the same struct prints the reference way', () => {
  const { btf, columns } = eventStruct({});
  const formatter = createEventFormatter(btf, columns, { format: 'plain', clock, widen: false });
  assert.equal(formatter.header, 'TIME     PID    ARGV   SECRET COMM   ');
  assert.equal(formatter.format(layoutRecord(['ls', '-l'])), '16:58:31  4242  ["ls","-l","",""] 3735928559 ls');
});

test('JSON output ignores display hints', () => {
  const hinted = eventStruct({ argv: 'args', secret: 'hidden' });
  const plain = eventStruct({});
  const data = layoutRecord(['ls', 'a b']);
  const json = createEventFormatter(hinted.btf, hinted.columns, { format: 'json', time: 'none' }).format(data);
  assert.equal(json, createEventFormatter(plain.btf, plain.columns, { format: 'json', time: 'none' }).format(data));
  assert.equal(json, '{"argv":["ls","a b","",""],"comm":"ls","pid":4242,"secret":3735928559}');
});

test('"args" on a member that is not an array of strings is a package error', () => {
  for (const member of ['pid', 'comm']) {
    const { btf, columns } = eventStruct({ [member]: 'args' });
    assert.throws(
      () => createEventFormatter(btf, columns, { format: 'plain', clock }),
      (e: unknown) => e instanceof EcliError && e.code === 'PACKAGE_INVALID' && e.message.includes(`member "${member}"`) && /char\[N\]\[M\]/.test(e.message),
    );
    // JSON output does not use the hint, so it still works.
    assert.ok(createEventFormatter(btf, columns, { format: 'json' }));
  }
});

test('shell quoting of arguments', () => {
  const cases: Array<[string, string]> = [
    ['/usr/bin/ls', '/usr/bin/ls'],
    ['--color=auto', '--color=auto'],
    ['', "''"],
    ['a b', "'a b'"],
    ["it's", "'it'\\''s'"],
    ['$HOME', "'$HOME'"],
    ['*.c', "'*.c'"],
    ['naïve', "'naïve'"],
    ['two\nlines', "$'two\\nlines'"],
    ["tab\there's", "$'tab\\there\\'s'"],
    ['bell\x07\\', "$'bell\\x07\\\\'"],
    ['\x1b[31mred', "$'\\e[31mred'"],
    ['csi\u009b2J', "$'csi\\x9b2J'"],
  ];
  for (const [text, quoted] of cases) assert.equal(shellQuote(text), quoted, JSON.stringify(text));
});

test('the package schema accepts the display hints and rejects others', () => {
  const meta = (display: unknown) => ({
    bpf_skel: { obj_name: 'o', data_sections: [], maps: [], progs: [] },
    export_types: [{ name: 'event', size: 4, type_id: 1, members: [{ name: 'a', type: 'int', display }] }],
  });
  for (const display of ['args', 'hidden']) assert.equal(validateMeta(meta(display), 'meta').export_types[0]!.members[0]!.display, display);
  for (const display of ['loud', 1, null]) {
    assert.throws(
      () => validateMeta(meta(display), 'meta'),
      (e: unknown) => e instanceof EcliError && e.code === 'PACKAGE_INVALID',
    );
  }
});
