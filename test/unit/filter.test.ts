import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import type { Columns } from '../../src/btf/columns.js';
import { checkExportStruct } from '../../src/btf/export-check.js';
import { EcliError } from '../../src/errors.js';
import type { ContainerInfo } from '../../src/format/container.js';
import { compileFilter, type RecordFilter } from '../../src/filter/compile.js';
import { loadRegexCompiler, type RegexCompiler } from '../../src/filter/regex.js';
import { parseFilterRules } from '../../src/filter/rules.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

test('rules: field, operator and value; comma is AND and \\, a comma in a value; other backslashes stay', () => {
  assert.deepEqual(parseFilterRules('comm~^(ba|da)sh$,pid>=100'), [
    { field: 'comm', operator: '~', value: '^(ba|da)sh$', text: 'comm~^(ba|da)sh$' },
    { field: 'pid', operator: '>=', value: '100', text: 'pid>=100' },
  ]);
  assert.deepEqual(
    parseFilterRules('filename~a\\,b\\.c').map((r) => r.value),
    ['a,b\\.c'],
  );
  // The longest operator wins; the rest is the value, whatever it holds.
  const ops = ['a==1', 'a=1', 'a!=1', 'a<1', 'a<=1', 'a>1', 'a>=1', 'a~1', 'a!~1', 'a===1'].map((t) => parseFilterRules(t)[0]!);
  assert.deepEqual(
    ops.map((r) => [r.operator, r.value]),
    [
      ['==', '1'],
      ['==', '1'],
      ['!=', '1'],
      ['<', '1'],
      ['<=', '1'],
      ['>', '1'],
      ['>=', '1'],
      ['~', '1'],
      ['!~', '1'],
      ['==', '=1'],
    ],
  );
  assert.deepEqual(
    parseFilterRules('container.name==web, retval<0').map((r) => r.field),
    ['container.name', 'retval'],
  );
  assert.deepEqual(parseFilterRules('container==')[0], { field: 'container', operator: '==', value: '', text: 'container==' });
});

test('rules: malformed filters are usage errors that say what is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /no rule/],
    ['pid==1,', /empty rule/],
    ['pid', /has no operator/],
    ['==1', /names no field/],
    ['p-d==1', /not a field name/],
    ['pid!1', /has no operator at "!1"/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseFilterRules(text),
      (e: unknown) => e instanceof EcliError && e.code === 'USAGE' && message.test(e.message) && /--filter/.test(e.hint ?? ''),
      text,
    );
  }
});

/** struct event { int pid; unsigned int uid; long long ns; __u64 cg; bool ok; enum kind k; char comm[16]; int ret (errno); char argv[2][8]; } */
function eventColumns(): { btf: Btf; columns: Columns } {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const char = b.int('char', 1, { signed: true });
  const kind = b.enum('kind', 4, [
    ['EXECVE', 0],
    ['EXECVEAT', 1],
  ]);
  const s = b.struct('event', [
    { name: 'pid', type: int },
    { name: 'uid', type: b.int('unsigned int', 4) },
    { name: 'ns', type: b.int('long long', 8, { signed: true }) },
    { name: 'cg', type: b.int('unsigned long long', 8) },
    { name: 'ok', type: b.int('_Bool', 1, { bool: true }) },
    { name: 'k', type: kind },
    { name: 'comm', type: b.array(char, 16) },
    { name: 'ret', type: int },
    { name: 'argv', type: b.array(b.array(char, 8), 2) },
    { name: 'small', type: b.int('unsigned char', 1) },
  ]);
  const btf = Btf.parse(b.build());
  const names = ['pid', 'uid', 'ns', 'cg', 'ok', 'k', 'comm', 'ret', 'argv', 'small'];
  const columns = checkExportStruct(btf, {
    name: 'event',
    type_id: s,
    size: btf.sizeOf(s),
    members: names.map((name) => ({ name, type: '', ...(name === 'ret' ? { display: 'errno' as const } : {}) })),
  });
  return { btf, columns };
}

function record(columns: Columns, values: Record<string, bigint | string | boolean>): Buffer {
  const data = Buffer.alloc(columns.size);
  for (const [name, value] of Object.entries(values)) {
    const c = columns.members.find((m) => m.name === name)!;
    if (typeof value === 'string') data.write(value, c.offset);
    else if (typeof value === 'boolean') data[c.offset] = value ? 1 : 0;
    else for (let i = 0, v = BigInt.asUintN(c.size * 8, value); i < c.size; i++, v >>= 8n) data[c.offset + i] = Number(v & 0xffn);
  }
  return data;
}

let regex: RegexCompiler;
const target = async (containers = true) => {
  regex ??= await loadRegexCompiler();
  return { ...eventColumns(), containers, hints: { bootTimeNs: 0n }, regex };
};

function keeps(filter: RecordFilter, data: Buffer, container?: ContainerInfo): boolean {
  return (filter.members?.(data, 0) ?? true) && (filter.container?.(container) ?? true);
}

test('filters compare members as their types: integers of every width, enums by name, bools, strings, _text forms', async () => {
  const t = await target();
  const { columns } = t;
  const a = record(columns, { pid: 42n, uid: 4294967295n, ns: -5n, cg: 2n ** 64n - 1n, ok: true, k: 1n, comm: 'bash', ret: -2n, argv: 'x', small: 200n });
  const b = record(columns, { pid: 7n, uid: 0n, ns: 2n ** 62n, cg: 5n, ok: false, k: 0n, comm: 'bashful', ret: 0n, small: 3n });
  const check = (text: string, expected: [boolean, boolean]): void => {
    const filter = compileFilter(parseFilterRules(text), t);
    assert.deepEqual([keeps(filter, a), keeps(filter, b)], expected, text);
  };
  check('pid==42', [true, false]);
  check('pid!=42', [false, true]);
  check('pid>7', [true, false]);
  check('pid>=7', [true, true]);
  check('pid<42', [false, true]);
  check('pid<=0x2a', [true, true]);
  check('uid==4294967295', [true, false]);
  check('ns<0', [true, false]);
  check('ns>4611686018427387903', [false, true]);
  check('cg==18446744073709551615', [true, false]);
  check('k==EXECVEAT', [true, false]);
  check('k<1', [false, true]);
  check('ok==true', [true, false]);
  check('ok!=1', [false, true]);
  check('comm==bash', [true, false]);
  check('comm!=bash', [false, true]);
  check('comm~^bash', [true, true]);
  check('comm~^(ba|da)sh$', [true, false]);
  check('comm!~ful$', [true, false]);
  check('comm>bash', [false, true]);
  check('ret_text==-ENOENT', [true, false]);
  check('ret_text~^-E', [true, false]);
  check('small>100', [true, false]);
  check('pid>0,comm==bash,ok==true', [true, false]);
  check(' pid ==42', [true, false]);
});

test('a string filled to its last byte (no NUL) still equals its value', async () => {
  const t = await target();
  const full = record(t.columns, { comm: 'abcdefghijklmnop' });
  assert.equal(keeps(compileFilter(parseFilterRules('comm==abcdefghijklmnop'), t), full), true);
  assert.equal(keeps(compileFilter(parseFilterRules('comm==abcdefghijklmno'), t), full), false);
});

test('container fields: name (container), id (full or short), image, runtime, pod, namespace; a host process has empty ones', async () => {
  const t = await target();
  const data = record(t.columns, { pid: 1n });
  const web: ContainerInfo = { id: 'f'.repeat(12) + '0'.repeat(52), runtime: 'podman', name: 'web', image: 'localhost/web:1' };
  const pod: ContainerInfo = { id: 'a'.repeat(64), runtime: 'containerd', name: 'app', image: 'nginx', pod: 'shop-1', namespace: 'prod' };
  const check = (text: string, expected: [boolean, boolean, boolean]): void => {
    const filter = compileFilter(parseFilterRules(text), t);
    assert.equal(filter.members, undefined, text);
    assert.deepEqual([keeps(filter, data, web), keeps(filter, data, pod), keeps(filter, data, undefined)], expected, text);
  };
  check('container==web', [true, false, false]);
  check('container.name==web', [true, false, false]);
  check('container==', [false, false, true]);
  check('container!=', [true, true, false]);
  check(`container.id==${'f'.repeat(12)}`, [true, false, false]);
  check(`container.id==${'a'.repeat(64)}`, [false, true, false]);
  check('container.image~^localhost/', [true, false, false]);
  check('container.runtime==containerd', [false, true, false]);
  check('container.pod==shop-1,container.namespace==prod', [false, true, false]);
});

test('a rule on an unknown field, a value that does not fit, or a bad regular expression is a usage error', async () => {
  const t = await target();
  const fails = (text: string, message: RegExp, hint?: RegExp): void => {
    assert.throws(
      () => compileFilter(parseFilterRules(text), t),
      (e: unknown) => e instanceof EcliError && e.code === 'USAGE' && message.test(e.message) && (hint === undefined || hint.test(e.hint ?? '')),
      text,
    );
  };
  fails('pidd==1', /struct event has no field pidd \(did you mean pid\?\)/, /its fields are pid, uid/);
  fails('contianer==web', /did you mean container\?/);
  fails('container.nmae==web', /did you mean container\.name\?/);
  fails('argv==x', /argv is char\[2\]\[8\], which a filter cannot compare/);
  fails('pid==abc', /"abc" is not a number/);
  fails('pid==4294967296', /out of range for pid \(int: -2147483648 to 2147483647\)/);
  fails('uid>-1', /out of range/);
  fails('k==EXECV', /not a number/, /EXECVE, EXECVEAT/);
  fails('ok>true', /compare it with == or !=/);
  fails('ok==yes', /not a bool/);
  fails('pid~1', /not a string: ~ and !~ match strings/);
  fails('comm==abcdefghijklmnopq', /holds at most 16 bytes/, /comm~\^abcdefgh/);
  fails('comm~(a)\\1', /is not a regular expression: invalid escape sequence/, /no backreferences/);
  fails('comm~a(?=b)', /is not a regular expression/, /lookaround/);
  fails('comm~(', /missing closing \)/);
});

test('without a pid or cgroup id member there are no container fields, and the hint says why', async () => {
  const t = await target(false);
  assert.throws(
    () => compileFilter(parseFilterRules('container==web'), t),
    (e: unknown) =>
      e instanceof EcliError && /has no field container/.test(e.message) && /need a process id \(pid, tgid\) or cgroup id member/.test(e.hint ?? ''),
  );
  // A misspelt member is only that: the hint does not talk about containers.
  assert.throws(
    () => compileFilter(parseFilterRules('pidd==1'), t),
    (e: unknown) => e instanceof EcliError && /has no field pidd/.test(e.message) && !/container/.test(e.hint ?? ''),
  );
});

test('regular expressions are RE2: linear time on a hostile text, and its syntax ((?i), classes)', async () => {
  const t = await target();
  const evil = record(t.columns, { comm: 'aaaaaaaaaaaaaaa!' });
  const started = process.hrtime.bigint();
  assert.equal(keeps(compileFilter(parseFilterRules('comm~^(a+)+$'), t), evil), false);
  assert.ok(process.hrtime.bigint() - started < 1_000_000_000n);
  const bash = record(t.columns, { comm: 'BASH' });
  assert.equal(keeps(compileFilter(parseFilterRules('comm~(?i)^bash$'), t), bash), true);
  assert.equal(keeps(compileFilter(parseFilterRules('comm~^[[:upper:]]+$'), t), bash), true);
});
