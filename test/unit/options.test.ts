import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Btf } from '../../src/btf/btf.js';
import { dataSectionLayout, type DataSectionLayout } from '../../src/btf/layout.js';
import { findSection, parseElf } from '../../src/elf/elf.js';
import { EcliError } from '../../src/errors.js';
import { writeOptionValues } from '../../src/options/encode.js';
import { valueFromJson } from '../../src/options/value.js';
import { formatHelp, packageHelpTexts } from '../../src/options/help.js';
import { parseProgramArgs, type ProgramArgs } from '../../src/options/parse.js';
import { buildOptionSpecs, type OptionSpec } from '../../src/options/spec.js';
import type { OptionValue } from '../../src/options/value.js';
import { decodePackage } from '../../src/package/load.js';
import type { EunomiaObjectMeta } from '../../src/package/types.js';
import { validateMeta } from '../../src/package/validate.js';
import { BtfBuilder } from '../helpers/btf-builder.js';
import { fixturesDir } from '../helpers/env.js';

interface Fixture {
  meta: EunomiaObjectMeta;
  btf: Btf;
  layout(section: string): DataSectionLayout;
}

function loadFixture(name: string): Fixture {
  const file = path.join(fixturesDir, name);
  const { pkg, elf: bytes } = decodePackage(readFileSync(file, 'utf8'), file);
  const elf = parseElf(bytes);
  const btf = Btf.parse(findSection(elf, '.BTF')!.data);
  return {
    meta: pkg.meta,
    btf,
    layout(section) {
      const layout = dataSectionLayout(btf, elf, section);
      assert.ok(layout, `${name} has a ${section} section`);
      return layout;
    },
  };
}

function argBuilderMeta(): EunomiaObjectMeta {
  const file = path.join(fixturesDir, 'arg_builder_skel.json');
  return validateMeta(JSON.parse(readFileSync(file, 'utf8')), file);
}

function run(specs: OptionSpec[], meta: EunomiaObjectMeta, argv: string[]): Map<string, OptionValue> {
  const result = parseProgramArgs(specs, argv, packageHelpTexts(meta));
  assert.equal(result.kind, 'run');
  return (result as Extract<ProgramArgs, { kind: 'run' }>).values;
}

function catchEcli(fn: () => unknown): EcliError {
  try {
    fn();
  } catch (error) {
    if (error instanceof EcliError) return error;
    throw error;
  }
  assert.fail('expected an EcliError');
}

function le(value: bigint, size: number): number[] {
  return Array.from({ length: size }, (_, i) => Number((BigInt.asUintN(size * 8, value) >> BigInt(8 * i)) & 0xffn));
}

function cString(text: string, size: number): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...bytes, ...new Array<number>(size - bytes.length).fill(0)];
}

/** A meta with one `.rodata` section holding `variables`. */
function metaWith(variables: Record<string, unknown>[], objName = 'demo_bpf'): EunomiaObjectMeta {
  return validateMeta({ bpf_skel: { obj_name: objName, data_sections: [{ name: '.rodata', variables }], maps: [], progs: [] } }, 'test meta');
}

// --- the reference's arg_builder_test, meta only ---------------------------------------------

test('arg_builder: option names follow the reference, dummies skipped', () => {
  const specs = buildOptionSpecs(argBuilderMeta());
  assert.deepEqual(
    specs.map((s) => [s.long, s.kind === 'value' ? (s.short ?? null) : s.form]),
    [
      ['cv1', '1'],
      ['const_val_2', null],
      ['const_val_3', null],
      ['boolflag', 'set'],
      ['disable-boolflag-with-default-true', 'disable'],
      ['enable-boolflag-with-default-false', 'enable'],
      ['bss_val_1', null],
      ['bss_val_2', null],
      ['bss_val_3', null],
    ],
  );
  assert.deepEqual(
    specs.map((s) => s.section),
    [...new Array(6).fill('.rodata'), ...new Array(3).fill('.bss')],
  );
});

test('arg_builder: values are parsed and absent ones stay unset', () => {
  const meta = argBuilderMeta();
  const specs = buildOptionSpecs(meta);
  const values = run(specs, meta, ['--cv1', '2333', '--const_val_2', '12345678', '--const_val_3', 'abcdefg', '--bss_val_1', '111']);
  assert.deepEqual(Object.fromEntries(values), {
    const_val_1: 2333n,
    const_val_2: 12345678n,
    const_val_3: 'abcdefg',
    'boolflag-with-default-true': true,
    'boolflag-with-default-false': false,
    bss_val_1: 111n,
  });
  assert.equal(values.has('boolflag'), false, 'a bool without a default and without its flag keeps the ELF value');
});

test('arg_builder: the bool flag trio', () => {
  const meta = argBuilderMeta();
  const specs = buildOptionSpecs(meta);
  const flags = (argv: string[]): unknown[] => {
    const values = run(specs, meta, argv);
    return ['boolflag', 'boolflag-with-default-true', 'boolflag-with-default-false'].map((n) => values.get(n));
  };
  assert.deepEqual(flags(['--boolflag', '--disable-boolflag-with-default-true', '--enable-boolflag-with-default-false']), [true, false, true]);
  assert.deepEqual(flags([]), [undefined, true, false]);

  const wrongEnable = catchEcli(() => flags(['--enable-boolflag-with-default-true']));
  assert.equal(wrongEnable.code, 'USAGE');
  assert.equal(wrongEnable.message, 'unknown option --enable-boolflag-with-default-true for package simple_prog_3_bpf; run with --help to list its options');
  assert.match(wrongEnable.hint ?? '', /defaults to true: pass --disable-boolflag-with-default-true to set it to false/);
  const wrongDisable = catchEcli(() => flags(['--disable-boolflag-with-default-false']));
  assert.match(wrongDisable.hint ?? '', /pass --enable-boolflag-with-default-false/);
  assert.match(catchEcli(() => flags(['--boolflag=true'])).message, /option --boolflag takes no value/);
});

test('arg_builder: short options, defaults and refused values', () => {
  const meta = argBuilderMeta();
  const specs = buildOptionSpecs(meta);
  const values = run(specs, meta, ['-1', '1234', '--const_val_2', '2345', '--const_val_3', 'abcdefg', '--boolflag', '--bss_val_1', '7890']);
  assert.deepEqual(
    ['const_val_1', 'const_val_2', 'const_val_3', 'boolflag', 'bss_val_1'].map((n) => values.get(n)),
    [1234n, 2345n, 'abcdefg', true, 7890n],
  );
  assert.equal(run(specs, meta, []).get('const_val_1'), 12345n, 'cmdarg default');
  assert.equal(run(specs, meta, []).get('boolflag-with-default-true'), true);

  const notInt = catchEcli(() => run(specs, meta, ['-1', 'abcdefg']));
  assert.equal(notInt.code, 'OPTION_INVALID');
  assert.equal(notInt.message, "option --cv1: 'abcdefg' is not a valid int: expected a decimal or 0x-prefixed hex integer");
  assert.equal(
    catchEcli(() => run(specs, meta, ['-1', '111111111111111111'])).message,
    'option --cv1: 111111111111111111 does not fit int (4 bytes, -2147483648..2147483647)',
  );
  const unknown = catchEcli(() => run(specs, meta, ['-a', '123']));
  assert.equal(unknown.code, 'USAGE');
  assert.equal(unknown.message, 'unknown option -a for package simple_prog_3_bpf; run with --help to list its options');
  assert.equal(catchEcli(() => run(specs, meta, ['--foo'])).message, 'unknown option --foo for package simple_prog_3_bpf; run with --help to list its options');
  assert.equal(catchEcli(() => run(specs, meta, ['--const_val_1', '5'])).hint, 'variable const_val_1 is set with --cv1');
});

test('arg_builder: argument forms', () => {
  const meta = argBuilderMeta();
  const specs = buildOptionSpecs(meta);
  for (const argv of [['--cv1=5'], ['--cv1', '5'], ['-15'], ['-1', '5'], ['-1=5'], ['--cv1', '0x5'], ['--cv1', '+5'], ['--cv1', '005']]) {
    assert.equal(run(specs, meta, argv).get('const_val_1'), 5n, argv.join(' '));
  }
  assert.equal(run(specs, meta, ['--const_val_2', '-1']).get('const_val_2'), -1n, 'negative numbers are values');
  assert.equal(run(specs, meta, ['--cv1', '-0x10']).get('const_val_1'), -16n);
  assert.equal(run(specs, meta, ['--const_val_3=-x']).get('const_val_3'), '-x');
  assert.equal(run(specs, meta, ['--const_val_3', '-']).get('const_val_3'), '-');
  assert.equal(run(specs, meta, ['--const_val_3=']).get('const_val_3'), '');
  assert.equal(run(specs, meta, ['--const_val_3', 'a=b']).get('const_val_3'), 'a=b');

  const dashValue = catchEcli(() => run(specs, meta, ['--const_val_3', '-x']));
  assert.equal(dashValue.message, 'option --const_val_3 needs a value (char[100])');
  assert.equal(dashValue.hint, "write --const_val_3=<value> for a value that starts with '-'");
  assert.equal(catchEcli(() => run(specs, meta, ['--cv1'])).message, 'option --cv1 needs a value (int)');
  assert.equal(catchEcli(() => run(specs, meta, ['--cv1', '--boolflag'])).code, 'USAGE');
  const stray = catchEcli(() => run(specs, meta, ['extra']));
  assert.equal(stray.message, "unexpected argument 'extra' for package simple_prog_3_bpf: it takes only options");
  assert.equal(
    catchEcli(() => run(specs, meta, ['--', '--cv1', '1'])).message,
    "unexpected argument '--cv1' for package simple_prog_3_bpf: it takes only options",
  );
  assert.equal(catchEcli(() => run(specs, meta, ['--cv1', '1', '-1', '2'])).message, 'option -1 was given more than once');
  assert.equal(catchEcli(() => run(specs, meta, ['--boolflag', '--boolflag'])).message, 'option --boolflag was given more than once');

  const parsed = parseProgramArgs(specs, ['--verbose'], packageHelpTexts(meta));
  assert.deepEqual(parsed.kind === 'run' && parsed.verbose, true);
  const quiet = parseProgramArgs(specs, [], packageHelpTexts(meta));
  assert.deepEqual(quiet.kind === 'run' && quiet.verbose, false);
});

test('arg_builder: help and version', () => {
  const meta = argBuilderMeta();
  const specs = buildOptionSpecs(meta);
  const expected = [
    'qaqqwq',
    '',
    'Usage: simple_prog_3_bpf [OPTIONS]',
    '',
    'Options:',
    '      --verbose                             Whether to show libbpf debug information',
    '  -1, --cv1 <const_val_1>                   This is a help message for const_val_1 [default: 12345]',
    '      --const_val_2 <const_val_2>           Set value of `long long` variable const_val_2',
    '      --const_val_3 <const_val_3>           Set value of `char[100]` variable const_val_3',
    '      --boolflag                            Set value of `bool` variable boolflag',
    '      --disable-boolflag-with-default-true  Set value of `bool` variable boolflag-with-default-true',
    '      --enable-boolflag-with-default-false  Set value of `bool` variable boolflag-with-default-false',
    '      --bss_val_1 <bss_val_1>               Set value of `int` variable bss_val_1',
    '      --bss_val_2 <bss_val_2>               Set value of `long long` variable bss_val_2',
    '      --bss_val_3 <bss_val_3>               Set value of `char[100]` variable bss_val_3',
    '  -h, --help                                Print help',
    '  -V, --version                             Print version',
    '',
    'this is details',
    '',
  ].join('\n');
  for (const flag of ['--help', '-h']) {
    assert.deepEqual(parseProgramArgs(specs, ['--cv1', '3', flag, '--nonsense'], packageHelpTexts(meta)), { kind: 'help', text: expected });
  }
  for (const flag of ['--version', '-V']) {
    assert.deepEqual(parseProgramArgs(specs, [flag], packageHelpTexts(meta)), { kind: 'version', text: 'simple_prog_3_bpf 1.2.3.4\n' });
  }
  assert.equal(catchEcli(() => parseProgramArgs(specs, ['--nonsense', '--help'], packageHelpTexts(meta))).code, 'USAGE', 'left to right, like clap');
});

test('help falls back to the reference texts without doc', () => {
  const meta = metaWith([{ name: 'n', type: 'int', description: 'line one\nline two' }]);
  assert.equal(
    formatHelp(buildOptionSpecs(meta), packageHelpTexts(meta)),
    [
      'A simple eBPF program',
      '',
      'Usage: demo_bpf [OPTIONS]',
      '',
      'Options:',
      '      --verbose  Whether to show libbpf debug information',
      '      --n <n>    line one',
      '                 line two',
      '  -h, --help     Print help',
      '  -V, --version  Print version',
      '',
      'Built with eunomia-bpf framework.',
      'See https://github.com/eunomia-bpf/eunomia-bpf for more information.',
      '',
    ].join('\n'),
  );
  assert.equal(packageHelpTexts(meta).version, '0.1.0');
});

test('the help of a package our ecc wrote names our ecc, not the eunomia-bpf framework', () => {
  const meta = { ...metaWith([]), built_by: 'ecli-ts 0.1.0' };
  assert.equal(packageHelpTexts(meta).afterHelp, "Built with ecli-ts 0.1.0, in eunomia-bpf's package format.");
  assert.ok(formatHelp(buildOptionSpecs(meta), packageHelpTexts(meta)).endsWith("\n\nBuilt with ecli-ts 0.1.0, in eunomia-bpf's package format.\n"));
  const documented = { ...meta, bpf_skel: { ...meta.bpf_skel, doc: { details: 'See the README.' } } };
  assert.equal(packageHelpTexts(documented).afterHelp, 'See the README.', "the package's own @details win");
});

// --- packages compiled by the reference ecc (with BTF) ----------------------------------------

test('runqlat: all bools and targ_tgid give the reference rodata bytes', () => {
  const { meta, btf, layout } = loadFixture('runqlat.json');
  const specs = buildOptionSpecs(meta, btf);
  assert.deepEqual(
    specs.map((s) => s.long),
    ['filter_cg', 'targ_per_process', 'targ_per_thread', 'targ_per_pidns', 'targ_ms', 'targ_tgid'],
  );
  const argv = ['--filter_cg', '--targ_per_process', '--targ_per_thread', '--targ_per_pidns', '--targ_ms', '--targ_tgid', '305419896'];
  const rodata = layout('.rodata');
  assert.deepEqual([...writeOptionValues(btf, rodata, run(specs, meta, argv))], [1, 1, 1, 1, 1, 0, 0, 0, 120, 86, 52, 18]);
  const hex = writeOptionValues(btf, rodata, run(specs, meta, ['--targ_tgid', '0x12345678']));
  assert.deepEqual([...hex.subarray(8)], [120, 86, 52, 18]);
  assert.deepEqual(writeOptionValues(btf, rodata, run(specs, meta, [])), rodata.initial, 'no options: the ELF bytes are kept');
  assert.notEqual(writeOptionValues(btf, rodata, new Map()), rodata.initial, 'a copy, not the layout bytes');
});

test('runqlat: out-of-range values are refused with the type and its range', () => {
  const { meta, btf, layout } = loadFixture('runqlat.json');
  const specs = buildOptionSpecs(meta, btf);
  assert.equal(
    catchEcli(() => run(specs, meta, ['--targ_tgid', '0x1234567890abcdef'])).message,
    'option --targ_tgid: 1311768467294899695 does not fit pid_t (int, 4 bytes, -2147483648..2147483647)',
  );
  assert.equal(
    catchEcli(() => run(specs, meta, ['--targ_tgid', '4294967296'])).message,
    'option --targ_tgid: 4294967296 does not fit pid_t (int, 4 bytes, -2147483648..2147483647)',
  );
  assert.equal(run(specs, meta, ['--targ_tgid', '-2147483648']).get('targ_tgid'), -2147483648n);

  const rodata = layout('.rodata');
  const overflow = catchEcli(() => writeOptionValues(btf, rodata, new Map([['targ_tgid', 0x1234567890abcdefn]])));
  assert.equal(overflow.code, 'OPTION_INVALID');
  assert.equal(overflow.message, 'variable targ_tgid in .rodata: 1311768467294899695 does not fit pid_t (int, 4 bytes, -2147483648..2147483647)');
  assert.equal(
    catchEcli(() => writeOptionValues(btf, rodata, new Map([['filter_cg', 1.2345]]))).message,
    'variable filter_cg in .rodata: 1.2345 is not true or false, as bool needs',
  );
  assert.equal(
    catchEcli(() => writeOptionValues(btf, layout('.bss'), new Map([['__eunomia_dummy_hist_ptr', 1n]]))).message,
    'variable __eunomia_dummy_hist_ptr in .bss: variables of type struct hist * cannot be set',
  );
});

test('simple_prog_3: values land at offsets 0, 8 and 16 of both sections', () => {
  const { meta, btf, layout } = loadFixture('simple_prog_3.json');
  const specs = buildOptionSpecs(meta, btf);
  assert.deepEqual(
    specs.map((s) => s.long),
    ['const_val_1', 'const_val_2', 'const_val_3', 'bss_val_1', 'bss_val_2', 'bss_val_3'],
  );
  const values = run(specs, meta, [
    '--const_val_1',
    '305419896',
    '--const_val_2',
    '1125899906842624',
    '--const_val_3',
    'aabbccddeeffgg',
    '--bss_val_1',
    '305414945',
    '--bss_val_2',
    '1152921504606846976',
    '--bss_val_3',
    '112233445566',
  ]);
  const rodata = writeOptionValues(btf, layout('.rodata'), values);
  assert.equal(rodata.length, 116);
  assert.deepEqual([...rodata.subarray(0, 4)], le(0x12345678n, 4));
  assert.deepEqual([...rodata.subarray(8, 16)], le(1n << 50n, 8));
  assert.deepEqual([...rodata.subarray(16, 116)], cString('aabbccddeeffgg', 100));
  const bss = writeOptionValues(btf, layout('.bss'), values);
  assert.equal(bss.length, 128);
  assert.deepEqual([...bss.subarray(0, 4)], le(0x12344321n, 4));
  assert.deepEqual([...bss.subarray(8, 16)], le(1n << 60n, 8));
  assert.deepEqual([...bss.subarray(16, 116)], cString('112233445566', 100));
  assert.deepEqual([...bss.subarray(120)], new Array(8).fill(0), 'the dummy pointer is untouched');
});

test('strings: the tail after the NUL is zeroed, statics untouched, too long is refused', () => {
  const { meta, btf, layout } = loadFixture('simple_prog_4.json');
  const specs = buildOptionSpecs(meta, btf);
  const rodata = layout('.rodata');
  assert.deepEqual([...rodata.initial.subarray(0, 8)], cString('abcdefg', 8));
  const image = writeOptionValues(btf, rodata, run(specs, meta, ['--fmt2', 'xy']));
  assert.deepEqual([...image.subarray(0, 8)], cString('xy', 8));
  assert.deepEqual(image.subarray(8), rodata.initial.subarray(8), 'static handle_exec.____fmt keeps its bytes');
  assert.deepEqual([...writeOptionValues(btf, rodata, run(specs, meta, ['--fmt2', '1234567'])).subarray(0, 8)], cString('1234567', 8));
  const tooLong = catchEcli(() => run(specs, meta, ['--fmt2', 'abcdefgh']));
  assert.equal(tooLong.code, 'OPTION_INVALID');
  assert.equal(tooLong.message, 'option --fmt2: the string is too long for char[8]: with its terminating NUL it needs 9 bytes, the variable holds 8');
  assert.match(catchEcli(() => run(specs, meta, ['--fmt2', 'ééé€'])).message, /needs 10 bytes/, 'UTF-8 bytes are counted');
  assert.equal(
    catchEcli(() => writeOptionValues(btf, rodata, new Map([['fmt2', 'a'.repeat(200)]]))).message,
    'variable fmt2 in .rodata: the string is too long for char[8]: with its terminating NUL it needs 201 bytes, the variable holds 8',
  );
});

test('bootstrap: unsigned long long takes its full range', () => {
  const { meta, btf, layout } = loadFixture('bootstrap.json');
  const specs = buildOptionSpecs(meta, btf);
  assert.deepEqual(
    specs.map((s) => s.long),
    ['min_duration_ns'],
  );
  const image = writeOptionValues(btf, layout('.rodata'), run(specs, meta, ['--min_duration_ns', '18446744073709551615']));
  assert.deepEqual([...image], new Array(8).fill(255));
  assert.equal(
    catchEcli(() => run(specs, meta, ['--min_duration_ns', '-1'])).message,
    'option --min_duration_ns: -1 does not fit unsigned long long (8 bytes, 0..18446744073709551615)',
  );
});

// --- types no fixture has: a hand-built BTF ------------------------------------------------------

interface Synthetic {
  btf: Btf;
  layout: DataSectionLayout;
}

/** `.rodata` with typedef'd, enum, float, bool, 128-bit and unsettable globals. */
function syntheticRodata(): Synthetic {
  const b = new BtfBuilder();
  const uint = b.int('unsigned int', 4);
  const u32 = b.typedef('__u32', uint);
  const ushort = b.int('unsigned short', 2);
  const u16 = b.typedef('__u16', ushort);
  const float = b.float('float', 4);
  const double = b.float('double', 8);
  const mode = b.enum('mode', 4, [
    ['MODE_A', 0],
    ['MODE_B', 5],
    ['MODE_NEG', -1],
  ]);
  const bool = b.int('_Bool', 1, { bool: true });
  const cvBool = b.const(b.volatile(bool));
  const char = b.int('char', 1, { signed: true });
  const name = b.array(char, 8);
  const uchar = b.int('unsigned char', 1);
  const raw = b.array(uchar, 4);
  const conf = b.struct('conf', [{ name: 'x', type: uint }]);
  const ptr = b.ptr(conf);
  const i128 = b.int('__int128', 16, { signed: true });
  const my = b.typedef('my_count_t', b.typedef('__u32', uint));
  const vars: [string, number, number][] = [
    ['max_u32', u32, 0],
    ['port', u16, 4],
    ['ratio', float, 8],
    ['scale', double, 16],
    ['mode', mode, 24],
    ['on', cvBool, 28],
    ['name', name, 29],
    ['raw', raw, 37],
    ['conf', conf, 44],
    ['ptr', ptr, 48],
    ['big', i128, 64],
    ['count', my, 80],
  ];
  const sizes = [4, 2, 4, 8, 4, 1, 8, 4, 4, 8, 16, 4];
  const varIds = vars.map(([n, type]) => b.variable(n, type));
  b.datasec(
    '.rodata',
    84,
    varIds.map((type, i) => ({ type, offset: vars[i]![2], size: sizes[i]! })),
  );
  const btf = Btf.parse(b.build());
  const initial = new Uint8Array(84).fill(0xaa);
  return {
    btf,
    layout: {
      name: '.rodata',
      size: 84,
      initial,
      variables: vars.map(([n, typeId, offset], i) => ({ name: n, typeId, offset, size: sizes[i]!, isStatic: false })),
    },
  };
}

const SYNTHETIC_META_VARIABLES = [
  { name: 'max_u32', type: '__u32' },
  { name: 'port', type: '__u16', cmdarg: { short: 'p' } },
  { name: 'ratio', type: 'float' },
  { name: 'scale', type: 'double' },
  { name: 'mode', type: 'enum mode' },
  { name: 'on', type: 'bool' },
  { name: 'name', type: 'char[8]' },
  { name: 'raw', type: 'unsigned char[4]' },
  { name: 'conf', type: 'composite' },
  { name: 'ptr', type: 'struct conf *' },
  { name: 'big', type: '__int128' },
  { name: 'count', type: 'my_count_t' },
];

test('BTF decides: typedefs, enums, floats, 128-bit; unsettable types get no option', () => {
  const { btf, layout } = syntheticRodata();
  const meta = metaWith(SYNTHETIC_META_VARIABLES);
  const specs = buildOptionSpecs(meta, btf);
  assert.deepEqual(
    specs.map((s) => s.long),
    ['max_u32', 'port', 'ratio', 'scale', 'mode', 'on', 'name', 'big', 'count'],
  );
  const on = specs.find((s) => s.variable === 'on')!;
  assert.equal(on.kind === 'flag' && on.form, 'set', 'const volatile bool is a bool');

  const values = run(specs, meta, [
    '--max_u32',
    '4294967295',
    '-p',
    '65535',
    '--ratio',
    '1.2345',
    '--scale',
    '-2.5e3',
    '--mode',
    'MODE_B',
    '--on',
    '--name',
    'abc',
    '--big',
    '-2',
    '--count',
    '0xdeadbeef',
  ]);
  const image = writeOptionValues(btf, layout, values);
  assert.deepEqual([...image.subarray(0, 4)], [255, 255, 255, 255]);
  assert.deepEqual([...image.subarray(4, 6)], [255, 255]);
  assert.deepEqual([...image.subarray(6, 8)], [0xaa, 0xaa], 'padding untouched');
  assert.deepEqual([...image.subarray(8, 12)], [25, 4, 158, 63], 'float little-endian (the reference writes 63,158,4,25)');
  const expectedDouble = new Uint8Array(8);
  new DataView(expectedDouble.buffer).setFloat64(0, -2500, true);
  assert.deepEqual([...image.subarray(16, 24)], [...expectedDouble]);
  assert.deepEqual([...image.subarray(24, 28)], [5, 0, 0, 0]);
  assert.equal(image[28], 1);
  assert.deepEqual([...image.subarray(29, 37)], cString('abc', 8));
  assert.deepEqual([...image.subarray(37, 64)], new Array(27).fill(0xaa), 'unsettable variables untouched');
  assert.deepEqual(
    [...image.subarray(64, 80)],
    new Array(16).fill(0xff).map((v, i) => (i === 0 ? 0xfe : v)),
  );
  assert.deepEqual([...image.subarray(80, 84)], [0xef, 0xbe, 0xad, 0xde]);

  assert.equal(run(specs, meta, ['--mode', '-1']).get('mode'), -1n, 'enums by number too');
  assert.equal(run(specs, meta, ['--mode', 'MODE_NEG']).get('mode'), -1n);
  assert.equal(
    catchEcli(() => run(specs, meta, ['--mode', 'MODE_C'])).message,
    "option --mode: 'MODE_C' is not a valid enum mode: expected a decimal or 0x-prefixed hex integer or one of MODE_A, MODE_B, MODE_NEG",
  );
  assert.equal(
    catchEcli(() => run(specs, meta, ['--max_u32', '4294967296'])).message,
    'option --max_u32: 4294967296 does not fit __u32 (unsigned int, 4 bytes, 0..4294967295)',
  );
  assert.equal(catchEcli(() => run(specs, meta, ['--port', '65536'])).message, 'option --port: 65536 does not fit __u16 (unsigned short, 2 bytes, 0..65535)');
  assert.equal(catchEcli(() => run(specs, meta, ['--ratio', '1e39'])).message, 'option --ratio: 1e+39 does not fit float (4-byte floating point)');
  // Beyond a double's range too: refused, not read as infinity.
  assert.equal(catchEcli(() => run(specs, meta, ['--ratio', '1e400'])).message, 'option --ratio: 1e400 does not fit float (4-byte floating point)');
  assert.equal(catchEcli(() => run(specs, meta, ['--scale', '-1e400'])).message, 'option --scale: -1e400 does not fit double (8-byte floating point)');
  assert.equal(run(specs, meta, ['--scale', '1e300']).get('scale'), 1e300);
  assert.equal(
    catchEcli(() => run(specs, meta, ['--ratio', '1,5'])).message,
    "option --ratio: '1,5' is not a valid float: expected a decimal number such as 1.5 or 2e-3",
  );
  assert.equal(run(specs, meta, ['--scale', '-inf']).get('scale'), -Infinity);
  assert.equal(run(specs, meta, ['--ratio', '.5']).get('ratio'), 0.5);
});

test('the bool flag keeps the ELF value when absent', () => {
  const { btf, layout } = syntheticRodata();
  const meta = metaWith(SYNTHETIC_META_VARIABLES);
  const image = writeOptionValues(btf, layout, run(buildOptionSpecs(meta, btf), meta, []));
  assert.deepEqual(image, layout.initial);
});

test('a meta variable missing from the BTF is refused', () => {
  const { btf } = syntheticRodata();
  const error = catchEcli(() => buildOptionSpecs(metaWith([{ name: 'ghost', type: 'int' }]), btf));
  assert.equal(error.code, 'BTF_INVALID');
  assert.match(error.message, /^variable ghost is listed in the package meta under \.rodata, but the object's \.rodata section has no such variable$/);
});

test('a value for an unsettable variable is a package error', () => {
  const { btf } = syntheticRodata();
  const error = catchEcli(() => buildOptionSpecs(metaWith([{ name: 'conf', type: 'composite', value: 1 }]), btf));
  assert.equal(error.code, 'PACKAGE_INVALID');
  assert.match(error.message, /^variable conf \(composite\) has a value in the package meta/);
});

test('meta values and defaults are applied, and checked', () => {
  const { btf, layout } = syntheticRodata();
  const meta = metaWith([
    { name: 'max_u32', type: '__u32', value: 7 },
    { name: 'port', type: '__u16', cmdarg: { default: '0x50' } },
    { name: 'on', type: 'bool', value: true },
    { name: 'name', type: 'char[8]', cmdarg: { default: 42 } },
    { name: 'ratio', type: 'float', value: 0.5 },
  ]);
  const specs = buildOptionSpecs(meta, btf);
  assert.deepEqual(
    specs.map((s) => s.long),
    ['max_u32', 'port', 'disable-on', 'name', 'ratio'],
  );
  const values = run(specs, meta, ['--max_u32', '9']);
  assert.deepEqual(Object.fromEntries(values), { max_u32: 9n, port: 0x50n, on: true, name: '42', ratio: 0.5 });
  const image = writeOptionValues(btf, layout, run(specs, meta, ['--disable-on']));
  assert.deepEqual([image[0], image[4], image[28]], [7, 0x50, 0]);

  const bad = (variable: Record<string, unknown>): string => catchEcli(() => buildOptionSpecs(metaWith([variable]), btf)).message;
  assert.equal(bad({ name: 'max_u32', type: '__u32', value: -1 }), 'variable max_u32: default -1 does not fit __u32 (unsigned int, 4 bytes, 0..4294967295)');
  assert.equal(bad({ name: 'max_u32', type: '__u32', value: 1.5 }), 'variable max_u32: default 1.5 is not an integer, as __u32 needs');
  assert.equal(bad({ name: 'max_u32', type: '__u32', value: { a: 1 } }), 'variable max_u32: default {"a":1} is not an integer, as __u32 needs');
  assert.match(bad({ name: 'big', type: '__int128', value: 2 ** 60 }), /too large to be exact in JSON; write it as a string/);
  assert.equal(bad({ name: 'on', type: 'bool', value: 1 }), "variable on: a bool variable's default must be true or false, not 1");
});

// --- metas without BTF: the type string decides --------------------------------------------------

test('without BTF, common typedef names parse with their real width and sign', () => {
  const meta = metaWith([
    { name: 'a', type: '__u32' },
    { name: 'b', type: 'u8' },
    { name: 'c', type: 'size_t' },
    { name: 'd', type: 'uid_t' },
    { name: 'e', type: 'enum kind' },
    { name: 'f', type: 'unsigned long' },
    { name: 'g', type: 'my_t' },
    { name: 'h', type: 'struct x *' },
    { name: 'i', type: '__s16' },
    { name: 'j', type: '_Bool' },
  ]);
  const specs = buildOptionSpecs(meta);
  assert.deepEqual(
    specs.map((s) => s.long),
    ['a', 'b', 'c', 'd', 'e', 'f', 'i', 'j'],
    'unknown names and pointers get no option',
  );
  const values = run(specs, meta, [
    '--a',
    '4294967295',
    '--b',
    '255',
    '--c',
    '18446744073709551615',
    '--d',
    '0',
    '--e',
    '3',
    '--f',
    '1',
    '--i',
    '-32768',
    '--j',
  ]);
  assert.deepEqual(Object.fromEntries(values), { a: 4294967295n, b: 255n, c: 18446744073709551615n, d: 0n, e: 3n, f: 1n, i: -32768n, j: true });
  assert.equal(catchEcli(() => run(specs, meta, ['--b', '256'])).message, 'option --b: 256 does not fit u8 (unsigned char, 1 byte, 0..255)');
  assert.equal(catchEcli(() => run(specs, meta, ['--a', '4294967296'])).code, 'OPTION_INVALID');
});

test('malformed cmdarg and clashing names are package errors naming the variable', () => {
  const error = (variables: Record<string, unknown>[]): EcliError => catchEcli(() => buildOptionSpecs(metaWith(variables)));
  const longShort = error([{ name: 'x', type: 'int', cmdarg: { short: 'ab' } }]);
  assert.equal(longShort.code, 'PACKAGE_INVALID');
  assert.equal(longShort.message, 'variable x: short option name "ab" must be exactly one character');
  assert.equal(error([{ name: 'x', type: 'int', cmdarg: { long: '-x' } }]).message, 'variable x: long option name "-x" is not usable');
  assert.equal(
    error([
      { name: 'x', type: 'int' },
      { name: 'y', type: 'int', cmdarg: { long: 'x' } },
    ]).message,
    'option --x of variable y is already used by variable x',
  );
  const noHelp = error([
    { name: 'help', type: 'int' },
    { name: 'x', type: 'int', cmdarg: { short: 'h' } },
  ]);
  assert.equal(noHelp.message, "options --help (variable help) and -h (variable x) would leave no way to print the package's help");
  assert.deepEqual(
    buildOptionSpecs(metaWith([{ name: 'flag', type: 'bool', cmdarg: { short: 'ignored' } }])).map((s) => s.long),
    ['flag'],
    'short names of bools are ignored, as in the reference',
  );
});

test('.kconfig variables and dummies are never options', () => {
  const meta = validateMeta(
    {
      bpf_skel: {
        obj_name: 'k_bpf',
        data_sections: [
          { name: '.kconfig', variables: [{ name: 'LINUX_KERNEL_VERSION', type: 'unsigned int' }] },
          {
            name: '.bss',
            variables: [
              { name: '__eunomia_dummy_x_ptr', type: 'int' },
              { name: 'n', type: 'int' },
            ],
          },
        ],
        maps: [],
        progs: [],
      },
    },
    'test meta',
  );
  assert.deepEqual(
    buildOptionSpecs(meta).map((s) => s.long),
    ['n'],
  );
});

test("a package's own option takes the place of a built-in of the same name; help stays reachable and says which is which", () => {
  const meta = metaWith([
    { name: 'verbose', type: 'bool', description: 'Print every event' },
    { name: 'level', type: 'int', cmdarg: { short: 'V' } },
    { name: 'help', type: 'int' },
  ]);
  const specs = buildOptionSpecs(meta);
  const texts = packageHelpTexts(meta);
  const parsed = parseProgramArgs(specs, ['--verbose', '-V', '3', '--help', '7'], texts);
  assert.equal(parsed.kind, 'run');
  assert.deepEqual(parsed.kind === 'run' && [Object.fromEntries(parsed.values), parsed.verbose], [{ verbose: true, level: 3n, help: 7n }, false]);
  const help = parseProgramArgs(specs, ['-h'], texts);
  assert.deepEqual(help.kind === 'help' && help.text.split('\n').slice(4, 16), [
    'Options:',
    '      --verbose        Print every event',
    '  -V, --level <level>  Set value of `int` variable level',
    '      --help <help>    Set value of `int` variable help',
    '  -h                   Print help',
    '      --version        Print version',
    '',
    "--verbose is demo_bpf's own option; ecli's (libbpf messages) goes before the package: ecli --verbose run <package>",
    "--help is demo_bpf's own option; -h prints this help",
    "-V is demo_bpf's own; ecli -V prints ecli's version",
    '',
    'Built with eunomia-bpf framework.',
  ]);
});

test('a float in the package meta or the library beyond the type range is refused, not read as infinity (JSON 1e400)', () => {
  const double = { kind: 'float', size: 8, cName: 'double' } as const;
  assert.deepEqual(valueFromJson(double, 'double', JSON.parse('1e400')), {
    ok: false,
    problem: 'a number beyond the range of double (8-byte floating point); write "inf" or "-inf" for infinity',
  });
  assert.deepEqual(valueFromJson(double, 'double', 'inf'), { ok: true, value: Infinity });
  assert.deepEqual(valueFromJson(double, 'double', 1.5), { ok: true, value: 1.5 });
});
