/**
 * Golden tests of the terminal escaping (src/terminal.ts) and of every plain-text path that shows
 * untrusted text through it: event rows (byte writers and string decoders), headers, enums,
 * sampled maps, messages and inspect. JSON output stays exact.
 */
process.env.TZ = 'UTC';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { checkExportStruct } from '../../src/btf/export-check.js';
import { formatError } from '../../src/cli/report.js';
import { renderInspect, type InspectReport } from '../../src/cli/commands/inspect.js';
import { EcliError } from '../../src/errors.js';
import { createEventFormatter } from '../../src/format/event.js';
import { createSampleFormatter } from '../../src/format/sample.js';
import { TextBuffer } from '../../src/format/text-buffer.js';
import { escapeBytesExactly, escapeControls, escapeControlsInLines, escapeExactly } from '../../src/terminal.js';
import { shellQuote } from '../../src/format/display.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const clock = () => new Date('2024-05-06T16:58:31.250Z');

test('every control character but tab is escaped, the same way every time', () => {
  const golden: Array<[string, string]> = [
    ['', ''],
    ['plain text, with tab\tand backslash \\e', 'plain text, with tab\tand backslash \\e'],
    ['\x1b[31mred\x1b[0m', '\\e[31mred\\e[0m'],
    ['line\nFAKE: all good\x1b[2K', 'line\\nFAKE: all good\\e[2K'],
    ['cr\rover', 'cr\\rover'],
    ['\x00\x01\x07\x08\x0b\x0c\x1f', '\\x00\\x01\\x07\\x08\\x0b\\x0c\\x1f'],
    ['del\x7f', 'del\\x7f'],
    ['c1 \u0080 \u009b2J \u009f', 'c1 \\x80 \\x9b2J \\x9f'],
    ['not c1: \u00a0é€😀', 'not c1: \u00a0é€😀'],
  ];
  for (const [text, shown] of golden) assert.equal(escapeControls(text), shown, JSON.stringify(text));
  for (let code = 0; code < 0xa0; code++) {
    const ch = String.fromCharCode(code);
    const control = code < 0x20 || (code >= 0x7f && code < 0xa0);
    if (!control || code === 0x09) assert.equal(escapeControls(ch), ch, `U+${code.toString(16)}`);
    else assert.match(escapeControls(ch), /^\\(e|n|r|x[0-9a-f]{2})$/, `U+${code.toString(16)}`);
  }
  assert.equal(escapeControlsInLines('one\x1b[1m\ntwo\r\n'), 'one\\e[1m\ntwo\\r\n');
});

test('bidi controls, zero-width and other format characters, and line separators are escaped as \\u{HHHH}; other non-ASCII stays', () => {
  const golden: Array<[string, string]> = [
    ['exe\u202etxt.sh', 'exe\\u{202e}txt.sh'],
    [
      '\u202a\u202b\u202c\u202d \u2066\u2067\u2068\u2069 \u200e\u200f\u061c',
      '\\u{202a}\\u{202b}\\u{202c}\\u{202d} \\u{2066}\\u{2067}\\u{2068}\\u{2069} \\u{200e}\\u{200f}\\u{061c}',
    ],
    ['ad\u200bmin \u200c\u200d \u2060 \ufeffbom soft\u00adhyphen', 'ad\\u{200b}min \\u{200c}\\u{200d} \\u{2060} \\u{feff}bom soft\\u{00ad}hyphen'],
    ['line\u2028sep\u2029para', 'line\\u{2028}sep\\u{2029}para'],
    ['tag \u{e0041}\u{e007f}', 'tag \\u{e0041}\\u{e007f}'],
    ['lone \ud800 surrogate', 'lone \\u{d800} surrogate'],
    ['kept: é€😀 \u00a0 \u05d0\u05d1 (Hebrew letters are not controls)', 'kept: é€😀 \u00a0 \u05d0\u05d1 (Hebrew letters are not controls)'],
  ];
  for (const [text, shown] of golden) {
    assert.equal(escapeControls(text), shown, JSON.stringify(text));
    assert.equal(escapeControlsInLines(`${text}\n`), `${shown}\n`);
  }
  assert.equal(shellQuote('a\u202eb c'), "$'a\\u202eb c'", 'bash spells it \\uHHHH');
  assert.equal(shellQuote('x\u{e0041}'), "$'x\\U000e0041'");
});

test('escapeExactly and escapeBytesExactly: different text, different bytes, always different output', () => {
  assert.equal(escapeExactly('ESC \x1b, the text \\e, a \u202e'), 'ESC \\e, the text \\\\e, a \\u{202e}');
  assert.equal(escapeExactly('plain'), 'plain');
  const texts = ['\x1b', '\\e', '\\\\e', '\\x1b', '\ufffd', '\\xff', '\u202e', '\\u{202e}'];
  assert.equal(new Set(texts.map(escapeExactly)).size, texts.length);
  const bytes = (...b: number[]) => Uint8Array.from(b);
  const golden: Array<[Uint8Array, string]> = [
    [Buffer.from('bash'), 'bash'],
    [Buffer.from('naïve €😀'), 'naïve €😀'],
    [bytes(0x61, 0xff, 0x62), 'a\\xffb'],
    [bytes(0x61, 0xfe, 0x62), 'a\\xfeb'],
    [bytes(0xc3), '\\xc3'],
    [bytes(0xc0, 0xaf), '\\xc0\\xaf'],
    [bytes(0xed, 0xa0, 0x80), '\\xed\\xa0\\x80'],
    [bytes(0xf4, 0x90, 0x80, 0x80), '\\xf4\\x90\\x80\\x80'],
    [bytes(0xe2, 0x80, 0xae, 0x5c, 0x1b), '\\u{202e}\\\\\\e'],
    [Buffer.from('\\xff'), '\\\\xff'],
    [Buffer.from('\ufffd'), '\ufffd'],
  ];
  for (const [data, shown] of golden) assert.equal(escapeBytesExactly(data), shown, Buffer.from(data).toString('hex'));
  // Two different invalid sequences that Buffer.toString would both turn into U+FFFD stay apart.
  assert.equal(Buffer.from([0xff]).toString(), Buffer.from([0xfe]).toString());
  assert.notEqual(escapeBytesExactly(bytes(0xff)), escapeBytesExactly(bytes(0xfe)));
  assert.equal(escapeBytesExactly(bytes(0x78, 0x61, 0xff, 0x62, 0x79), 1, 4), 'a\\xffb', 'a range of the bytes');
});

/** A struct event { char comm[16]; enum mood; int pid } whose strings are chosen by the test. */
function hostileEvent(memberName = 'comm', enumerator = 'CALM') {
  const b = new BtfBuilder();
  const char = b.int('char', 1, { signed: true });
  const int = b.int('int', 4, { signed: true });
  const mood = b.enum('mood', 4, [[enumerator, 0]]);
  const members = [
    { name: memberName, type: b.array(char, 16) },
    { name: 'mood', type: mood },
    { name: 'pid', type: int },
  ];
  const id = b.struct('event', members);
  const btf = Btf.parse(b.build());
  const columns = checkExportStruct(btf, { name: 'event', type_id: id, size: 24, members: members.map((m) => ({ name: m.name, type: '' })) });
  return { btf, columns };
}

function record(comm: Buffer, mood = 0, pid = 42): Buffer {
  const data = Buffer.alloc(24);
  comm.copy(data, 0, 0, 16);
  data.writeUInt32LE(mood, 16);
  data.writeInt32LE(pid, 20);
  return data;
}

function formatInto(formatter: ReturnType<typeof createEventFormatter>, data: Buffer): string {
  const out = new TextBuffer(16);
  formatter.formatInto(data, 0, data.length, out);
  return out.view().toString('utf8');
}

test('event strings are escaped in plain rows (byte writers and decoders alike) and exact in JSON', () => {
  const { btf, columns } = hostileEvent();
  const plain = createEventFormatter(btf, columns, { format: 'plain', clock, widen: false });
  const json = createEventFormatter(btf, columns, { format: 'json', time: 'none' });
  // The reference's fixed offsets (no widening), aligned on UTF-8 bytes: `naïve` is 6 bytes wide.
  const golden: Array<[Buffer, string, string]> = [
    [Buffer.from('/tmp/e\x1b[31mX'), '/tmp/e\\e[31mX', '"/tmp/e\\u001b[31mX"'],
    [Buffer.from('a\nb\rc\x7f'), 'a\\nb\\rc\\x7f', '"a\\nb\\rc\x7f"'],
    [Buffer.from('tab\there'), 'tab\there', '"tab\\there"'],
    [Buffer.from('csi\u009b2J', 'utf8'), 'csi\\x9b2J', '"csi\u009b2J"'],
    [Buffer.from('naïve'), 'naïve', '"naïve"'],
    [Buffer.from('exe\u202etxt'), 'exe\\u{202e}txt', '"exe\u202etxt"'],
    [Buffer.from('zw\u200bsp'), 'zw\\u{200b}sp', '"zw\u200bsp"'],
    [Buffer.from('ok'), 'ok   ', '"ok"'],
  ];
  assert.equal(plain.header, 'TIME     COMM   MOOD   PID    ');
  for (const [comm, shown, exact] of golden) {
    const data = record(comm);
    const row = `16:58:31  ${shown} CALM(0) 42\n`;
    assert.equal(formatInto(plain, data), row, JSON.stringify(comm.toString()));
    assert.equal(`${plain.format(data)}\n`, row);
    const line = `{"comm":${exact},"mood":"CALM(0)","pid":42}`;
    assert.equal(formatInto(json, data), `${line}\n`);
    assert.equal(json.format(data), line);
    assert.equal(JSON.parse(line).comm, comm.toString());
  }
});

test('package strings in headers and enum names are escaped in plain text and exact in JSON', () => {
  const { btf, columns } = hostileEvent('co\x1b[2Kmm', 'EVIL\x1b[31m');
  const plain = createEventFormatter(btf, columns, { format: 'plain', clock, widen: false });
  assert.equal(plain.header, 'TIME     CO\\e[2KMM MOOD   PID    ');
  assert.equal(plain.format(record(Buffer.from('x'))), '16:58:31  x        EVIL\\e[31m(0) 42');
  const json = createEventFormatter(btf, columns, { format: 'json', time: 'none' });
  assert.equal(json.format(record(Buffer.from('x'))), '{"co\\u001b[2Kmm":"x","mood":"EVIL\\u001b[31m(0)","pid":42}');
});

test('sampled maps escape keys, member names and units in plain text', () => {
  const b = new BtfBuilder();
  const char = b.int('char', 1, { signed: true });
  const u32 = b.int('unsigned int', 4);
  const keyId = b.struct('key', [{ name: 'comm', type: b.array(char, 8) }]);
  const valueId = b.struct('hist', [
    { name: 'slots', type: b.array(u32, 2) },
    { name: 'n\x1bame', type: u32 },
  ]);
  const btf = Btf.parse(b.build());
  const keyColumns = checkExportStruct(btf, { name: 'key', type_id: keyId, size: 8, members: [{ name: 'comm', type: '' }] });
  const valueColumns = checkExportStruct(btf, {
    name: 'hist',
    type_id: valueId,
    size: 12,
    members: [
      { name: 'slots', type: '' },
      { name: 'n\x1bame', type: '' },
    ],
  });
  const key = Buffer.from('k\x1b[8m\0\0\0\0\0\0', 'latin1').subarray(0, 8);
  const value = Buffer.alloc(12);
  value.writeUInt32LE(1, 0);
  value.writeUInt32LE(7, 8);
  const hist = createSampleFormatter(btf, keyColumns, valueColumns, {
    format: 'plain',
    sample: { interval: 1000, type: 'log2_hist', unit: 'u\x9bs' },
    mapName: 'hists',
  });
  const text = hist.format(key, value);
  assert.equal(text.split('\n').slice(0, 3).join('\n'), 'key =  k\\e[8m\nn\\eame = 7\n');
  assert.match(text, /u\\x9bs/);
  const kv = createSampleFormatter(btf, keyColumns, valueColumns, { format: 'plain', sample: { interval: 1000 }, mapName: 'kv', clock });
  assert.equal(kv.header, 'TIME     COMM      SLOTS  N\\eAME ');
  // The escaped key (7 characters) fits its char[8] column: the header is not printed again.
  assert.match(kv.format(key, value), /^\d\d:\d\d:\d\d {2}k\\e\[8m {3}\[1,0\] {2}7$/);
  const json = createSampleFormatter(btf, keyColumns, valueColumns, { format: 'json', sample: { interval: 1000 }, mapName: 'kv' });
  assert.equal(JSON.parse(json.format(key, value)).key.comm, 'k\x1b[8m');
});

test('messages stay one line: the message and the hint are escaped, the verbose detail keeps its lines', () => {
  assert.equal(
    formatError(new EcliError('PACKAGE_INVALID', 'map "gnp.\u202eexe" is \u2066odd\u2069'), { tool: 'ecli', verbose: false, debug: false }),
    'ecli: error: map "gnp.\\u{202e}exe" is \\u{2066}odd\\u{2069}\n',
  );
  const error = new EcliError('PACKAGE_INVALID', 'export type "event\x1b[31m" is not in the object', {
    hint: 'rebuild\nFAKE: all good',
    detail: 'line 1\x1b[2K\nline 2',
  });
  assert.equal(
    formatError(error, { tool: 'ecli', verbose: true, debug: false }),
    'ecli: error: export type "event\\e[31m" is not in the object\nhint: rebuild\\nFAKE: all good\nline 1\\e[2K\nline 2\n',
  );
  assert.equal(
    formatError(new Error('boom\x1b]0;title\x07'), { tool: 'ecc', verbose: false, debug: false }).split('\n')[0],
    'ecc: internal error: boom\\e]0;title\\x07',
  );
});

test('inspect escapes package strings in its tables and keeps them exact in JSON', () => {
  const report: InspectReport = {
    source: 'pkg.json',
    objName: 'client_bpf\nFAKE: all good\x1b[2K\u202e',
    description: 'two\nlines',
    btfFiles: [],
    programs: [{ name: 'p\x1b[1m', section: 'tp/x/y', attachKind: 'tracepoint', target: 'x/y' }],
    maps: [],
    exports: [],
    iterators: [],
    kernelBtfNeededFor: [],
    options: [],
    exportStructs: [],
  };
  const text = renderInspect(report, { json: false });
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(text), text);
  assert.match(text, /^Object {2}client_bpf\\nFAKE: all good\\e\[2K\\u\{202e\}$/m);
  assert.ok(!text.includes('\u202e'), 'no raw bidi override');
  assert.match(text, /^About {3}two\\nlines$/m);
  assert.match(text, /p\\e\[1m/);
  assert.equal(JSON.parse(renderInspect(report, { json: true })).objName, report.objName);
});
