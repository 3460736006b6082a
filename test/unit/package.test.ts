import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { EcliError } from '../../src/errors.js';
import { fixturesDir } from '../helpers/env.js';
import { MAX_BPF_OBJECT_SIZE, decodeBpfObject, encodeBpfObject, parsePackageText, serializePackage, stableStringify } from '../../src/package/codec.js';
import { decodePackage, type DecodedPackage } from '../../src/package/load.js';
import type { ComposedPackage } from '../../src/package/types.js';
import { validateMeta, validatePackage } from '../../src/package/validate.js';

/** A package file through the whole pipeline: parse → validate → decode. */
function readFixture(file: string): DecodedPackage {
  return decodePackage(readFileSync(file, 'utf8'), file);
}

const META_ONLY_FIXTURE = 'arg_builder_skel.json';
const EM_BPF = 247;

/** The 64-byte header of a 64-bit little-endian ELF for `machine`, padded with `extra` bytes. */
function elfBytes(machine = EM_BPF, extra = 16): Uint8Array {
  const bytes = new Uint8Array(64 + extra);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  new DataView(bytes.buffer).setUint16(18, machine, true);
  return bytes;
}

function demoMeta(): Record<string, unknown> {
  return {
    bpf_skel: {
      obj_name: 'demo_bpf',
      data_sections: [{ name: '.rodata', variables: [{ name: 'min_ns', type: 'unsigned long long' }] }],
      maps: [{ name: 'rb', ident: 'rb' }],
      progs: [{ name: 'handle_exec', attach: 'tp/sched/sched_process_exec', link: true }],
    },
  };
}

// Tests reach into the package to damage it field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function demoPackage(elf = elfBytes()): Record<string, any> {
  return { ...encodeBpfObject(elf), meta: demoMeta() };
}

function catchEcli(fn: () => unknown): EcliError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof EcliError, `expected an EcliError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an EcliError, but nothing was thrown');
}

function invalidPackageMessage(pkg: unknown): string {
  const error = catchEcli(() => validatePackage(pkg, 'demo.json'));
  assert.equal(error.code, 'PACKAGE_INVALID');
  assert.equal(error.hint, 'was it written by ecc? rebuild it with ./ecc');
  return error.message;
}

function decodeMessage(pkg: Record<string, unknown>): string {
  const error = catchEcli(() => decodeBpfObject(validatePackage(pkg, 'demo.json'), 'demo.json'));
  assert.equal(error.code, 'PACKAGE_INVALID');
  return error.message;
}

function fixtureNames(): string[] {
  return readdirSync(fixturesDir).filter((name) => name.endsWith('.json'));
}

test('encode then decode gives back the ELF bytes', () => {
  const elf = elfBytes(EM_BPF, 5000);
  elf.fill(0xab, 64);
  const pkg = validatePackage(demoPackage(elf), 'demo.json');
  assert.equal(pkg.bpf_object_size, elf.length);
  assert.match(pkg.bpf_object, /^eJ/, 'a zlib stream at level 6 starts with 78 9c');
  assert.deepEqual(decodeBpfObject(pkg, 'demo.json'), elf);
});

test('fixture ELF objects survive a re-encode round trip', () => {
  const { elf } = decodePackage(readFileSync(path.join(fixturesDir, 'bootstrap.json'), 'utf8'), 'bootstrap.json');
  const reencoded = validatePackage({ ...encodeBpfObject(elf), meta: demoMeta() }, 'again.json');
  assert.deepEqual(decodeBpfObject(reencoded, 'again.json'), elf);
});

test('every ecc fixture validates and decodes', () => {
  const names = fixtureNames();
  assert.ok(names.length >= 9, `expected the 9 fixtures, found ${names.join(', ')}`);
  for (const name of names) {
    const file = path.join(fixturesDir, name);
    if (name === META_ONLY_FIXTURE) {
      const meta = validateMeta(JSON.parse(readFileSync(file, 'utf8')), name);
      assert.equal(meta.bpf_skel.doc?.version, '1.2.3.4');
      assert.deepEqual(
        meta.bpf_skel.data_sections.map((s) => s.name),
        ['.rodata', '.bss'],
      );
      assert.deepEqual(meta.bpf_skel.data_sections[0]!.variables[0]!.cmdarg, {
        default: 12345,
        help: 'This is a help message for const_val_1',
        long: 'cv1',
        short: '1',
      });
      continue;
    }
    const { pkg, elf } = readFixture(file);
    assert.equal(elf.length, pkg.bpf_object_size, name);
    assert.ok(Array.isArray(pkg.meta.bpf_skel.maps) && Array.isArray(pkg.meta.bpf_skel.progs), name);
    assert.ok(Array.isArray(pkg.meta.export_types), name);
  }
});

test('bootstrap.json has the documented meta and object', () => {
  const { pkg, elf } = readFixture(path.join(fixturesDir, 'bootstrap.json'));
  const { meta } = pkg;
  assert.equal(meta.bpf_skel.obj_name, 'client_bpf');
  assert.equal(elf.length, 47496);
  assert.deepEqual(
    meta.bpf_skel.maps.map((m) => [m.name, m.ident]),
    [
      ['exec_start', 'exec_start'],
      ['rb', 'rb'],
      ['client_b.rodata', 'rodata'],
      ['client_b.bss', 'bss'],
    ],
  );
  assert.deepEqual(
    meta.bpf_skel.progs.map((p) => [p.name, p.attach, p.link]),
    [
      ['handle_exec', 'tp/sched/sched_process_exec', true],
      ['handle_exit', 'tp/sched/sched_process_exit', true],
    ],
  );
  assert.deepEqual(meta.bpf_skel.data_sections[0]!.variables, [{ name: 'min_duration_ns', type: 'unsigned long long' }]);
  const [event] = meta.export_types;
  assert.equal(meta.export_types.length, 1);
  assert.equal(event!.name, 'event');
  assert.equal(event!.size, 176);
  assert.equal(event!.type_id, 613);
  assert.deepEqual(
    event!.members.map((m) => `${m.name}:${m.type}`),
    [
      'pid:int',
      'ppid:int',
      'exit_code:unsigned int',
      'duration_ns:unsigned long long',
      'comm:char[16]',
      'filename:char[127]',
      'exit_event:bool',
      'et:enum event_type',
    ],
  );
});

test('fixture shapes: null progs, xdp and tc extras, sample maps, stray variable keys', () => {
  const load = (name: string) => readFixture(path.join(fixturesDir, name)).pkg.meta;
  assert.deepEqual(load('int128.json').bpf_skel.progs, []);
  assert.deepEqual(load('minimal_printk.json').export_types, []);
  assert.deepEqual(load('simple_prog_5_xdp.json').bpf_skel.progs[0], {
    attach: 'xdp',
    flags: 0,
    ifindex: 1,
    link: true,
    name: 'xdp_pass',
    xdpopts: { old_prog_fd: 0 },
  });
  const tc = load('simple_prog_6_tc.json').bpf_skel.progs[0]!;
  assert.deepEqual(
    [tc.tchook, tc.tcopts],
    [
      { attach_point: 'BPF_TC_INGRESS', ifindex: 1 },
      { handle: 1, priority: 1 },
    ],
  );
  const hists = load('runqlat.json').bpf_skel.maps.find((m) => m.name === 'hists');
  assert.deepEqual(hists?.sample, { interval: 1000, type: 'log2_hist' });
  assert.equal(load('simple_prog_3.json').bpf_skel.data_sections[0]!.variables[1]!.size, 4);
});

test('stableStringify reproduces the compact fixtures byte for byte', () => {
  let compared = 0;
  for (const name of fixtureNames()) {
    const text = readFileSync(path.join(fixturesDir, name), 'utf8').trimEnd();
    if (text.includes('\n')) continue; // pretty-printed upstream assets
    assert.equal(stableStringify(JSON.parse(text)), text, name);
    compared++;
  }
  assert.ok(compared >= 5, `only ${compared} compact fixtures`);
});

test('stableStringify sorts keys by UTF-8 bytes at every level and stays compact', () => {
  const value = { b: [{ z: 1, a: null }, 'x'], a: { '\u{1F600}': 1, '\uFF01': 2, B: true }, c: undefined };
  assert.equal(stableStringify(value), '{"a":{"B":true,"\uFF01":2,"\u{1F600}":1},"b":[{"a":null,"z":1},"x"]}');
  assert.equal(stableStringify([undefined, 'a\n"']), '[null,"a\\n\\""]');
});

test('serializePackage writes sorted compact JSON that decodes again', () => {
  const pkg = validatePackage(demoPackage(), 'demo.json');
  const text = serializePackage(pkg);
  assert.match(text, /^\{"bpf_object":"[^"]+","bpf_object_size":80,"meta":\{"bpf_skel":\{"data_sections":/);
  assert.deepEqual(decodePackage(text, 'demo.json').pkg, pkg);
});

test('validation normalises nulls and absent arrays', () => {
  const pkg = demoPackage();
  pkg.meta.bpf_skel.maps = null;
  pkg.meta.bpf_skel.progs = null;
  pkg.meta.bpf_skel.doc = null;
  const meta = validatePackage(pkg, 'demo.json').meta;
  assert.deepEqual(meta.bpf_skel.maps, []);
  assert.deepEqual(meta.bpf_skel.progs, []);
  assert.deepEqual(meta.export_types, []);
  assert.ok(!('doc' in meta.bpf_skel));

  const withSample = demoPackage();
  withSample.meta.bpf_skel.maps = [
    { name: 'a', ident: 'a', sample: null },
    { name: 'b', ident: 'b', sample: { interval: 5 } },
  ];
  const maps = validatePackage(withSample, 'demo.json').meta.bpf_skel.maps;
  assert.deepEqual(maps, [
    { name: 'a', ident: 'a' },
    { name: 'b', ident: 'b', sample: { interval: 5 } },
  ]);
  assert.equal(withSample.meta.bpf_skel.maps[0].sample, null, 'the input is not modified');
});

test('accepts the wire extras: unknown keys, member offsets, export configs, interpreters', () => {
  const pkg = demoPackage();
  pkg.future_key = { anything: [1] };
  pkg.meta.enable_multiple_export_types = true;
  pkg.meta.perf_buffer_pages = 8;
  pkg.meta.poll_timeout_ms = -1;
  pkg.meta.export_types = [{ name: 'event', size: 8, type_id: 3, members: [{ name: 'pid', type: 'int', offset: 0, size: 4, kind: 'int' }] }];
  pkg.meta.bpf_skel.maps = [
    { name: 'a', ident: 'a', export_config: 'default', intepreter: 'default_struct', comment: 'x' },
    { name: 'b', ident: 'b', export_config: { btf_type_id: 321 }, intepreter: { stack_trace: { with_symbols: false } } },
    {
      name: 'c',
      ident: 'c',
      export_config: { custom_members: [{ name: 'pid', offset: 0, btf_type_id: 2 }] },
      intepreter: { stack_trace: { field_map: { pid: 'tgid' } } },
    },
  ];
  pkg.meta.bpf_skel.data_sections[0].variables[0] = {
    name: 'x',
    type: 'int',
    value: 5,
    description: 'd',
    cmdarg: { default: 1, long: 'ex', short: 'e', help: 'h' },
    size: 4,
  };
  assert.deepEqual(validatePackage(pkg, 'demo.json').meta.bpf_skel.maps, pkg.meta.bpf_skel.maps);
});

test('schema errors are one readable line', () => {
  const missingSkel = demoPackage();
  delete missingSkel.meta.bpf_skel;
  assert.equal(invalidPackageMessage(missingSkel), 'invalid package demo.json: /meta/bpf_skel is required');

  const numericAttach = demoPackage();
  numericAttach.meta.bpf_skel.progs[0].attach = 7;
  assert.equal(invalidPackageMessage(numericAttach), 'invalid package demo.json: /meta/bpf_skel/progs/0/attach must be string');

  const nullSections = demoPackage();
  nullSections.meta.bpf_skel.data_sections = null;
  assert.equal(invalidPackageMessage(nullSections), 'invalid package demo.json: /meta/bpf_skel/data_sections must be array');

  const badSample = demoPackage();
  badSample.meta.bpf_skel.maps[0].sample = { interval: 100, type: 'hist' };
  assert.equal(
    invalidPackageMessage(badSample),
    'invalid package demo.json: /meta/bpf_skel/maps/0/sample/type must be one of log2_hist, linear_hist, default_kv (got "hist")',
  );

  const missingMaps = demoPackage();
  delete missingMaps.meta.bpf_skel.maps;
  assert.equal(invalidPackageMessage(missingMaps), 'invalid package demo.json: /meta/bpf_skel/maps is required');

  assert.equal(invalidPackageMessage([]), 'invalid package demo.json: the document must be object');
});

test('many schema errors are summarised, the rest go to the detail', () => {
  const pkg = demoPackage();
  delete pkg.bpf_object;
  pkg.meta.bpf_skel.obj_name = 1;
  pkg.meta.bpf_skel.progs[0] = { name: 'p', attach: 'xdp', link: 'yes', ifindex: -1.5 };
  pkg.meta.bpf_skel.maps[0].export_config = { btf_type_id: 1, 'odd/~\nkey': 2 };
  pkg.meta.export_types = [{ name: 'e', members: [{ name: 'm' }], size: -1, type_id: 1 }];
  const error = catchEcli(() => validatePackage(pkg, 'demo.json'));
  assert.equal(
    error.message,
    'invalid package demo.json: /bpf_object is required; /meta/bpf_skel/obj_name must be string; ' +
      '/meta/bpf_skel/maps/0/export_config must have at most 1 key(s) (and 5 more)',
  );
  assert.deepEqual(error.detail?.split('\n').slice(3), [
    '/meta/bpf_skel/maps/0/export_config/odd~1~0\\u000akey is not allowed',
    '/meta/bpf_skel/progs/0/link must be boolean',
    '/meta/bpf_skel/progs/0/ifindex must be integer',
    '/meta/export_types/0/members/0/type is required',
    '/meta/export_types/0/size must be >= 0',
  ]);
  assert.ok(!error.message.includes('\n'));
});

test('validateMeta checks a bare meta and reports pointers relative to it', () => {
  assert.equal(validateMeta(demoMeta(), 'demo.skel.json').bpf_skel.obj_name, 'demo_bpf');
  const meta = demoMeta() as { bpf_skel: Record<string, unknown> };
  delete meta.bpf_skel.obj_name;
  const error = catchEcli(() => validateMeta(meta, 'demo.skel.json'));
  assert.equal(error.message, 'invalid package meta demo.skel.json: /bpf_skel/obj_name is required');
});

test('parsePackageText names the file on bad JSON', () => {
  const error = catchEcli(() => parsePackageText('{"bpf_object": ', 'x.json'));
  assert.equal(error.code, 'PACKAGE_INVALID');
  assert.match(error.message, /^x\.json is not valid JSON: /);
  const multiLine = catchEcli(() => parsePackageText('{\n"a":}', 'y.json'));
  assert.match(multiLine.message, /^y\.json is not valid JSON: /);
  assert.ok(!multiLine.message.includes('\n'), 'V8 quotes the bad text; its line breaks are escaped');
});

test('bpf_object must be strict base64', () => {
  const pkg = demoPackage();
  const good = pkg.bpf_object as string;
  const withBadCharacter = { ...pkg, bpf_object: `${good.slice(0, 8)}!${good.slice(9)}` };
  assert.equal(decodeMessage(withBadCharacter), 'invalid package demo.json: bpf_object is not valid base64: unexpected character "!" at offset 8');
  const withNewline = { ...pkg, bpf_object: `${good.slice(0, 8)}\n${good.slice(8)}` };
  assert.match(decodeMessage(withNewline), /unexpected character "\\n" at offset 8$/);
  const unpadded = { ...pkg, bpf_object: 'eJw' };
  assert.match(decodeMessage(unpadded), /bpf_object is not valid base64: its length 3 is not a multiple of 4/);
  const overPadded = { ...pkg, bpf_object: 'eJw==' };
  assert.match(decodeMessage(overPadded), /its length 5 is not a multiple of 4 \(missing or extra = padding\?\)$/);
  const nonCanonical = { ...pkg, bpf_object: 'eJx=' };
  assert.equal(decodeMessage(nonCanonical), 'invalid package demo.json: bpf_object is not valid base64: the last character has non-zero padding bits');
});

test('malformed zlib and size mismatches are refused', () => {
  const pkg = demoPackage();
  const compressed = Buffer.from(pkg.bpf_object as string, 'base64');
  const truncated = { ...pkg, bpf_object: compressed.subarray(0, compressed.length - 6).toString('base64') };
  assert.equal(decodeMessage(truncated), 'invalid package demo.json: bpf_object is not a valid zlib stream: unexpected end of file');
  const raw = { ...pkg, bpf_object: Buffer.from(elfBytes()).toString('base64') };
  assert.match(decodeMessage(raw), /^invalid package demo\.json: bpf_object is not a valid zlib stream: /);
  assert.equal(decodeMessage({ ...pkg, bpf_object_size: 81 }), 'invalid package demo.json: bpf_object_size is 81 but the object inflates to 80 bytes');
  assert.equal(decodeMessage({ ...pkg, bpf_object_size: 79 }), 'invalid package demo.json: bpf_object_size is 79 but the object inflates to 80 bytes');
  assert.equal(
    decodeMessage({ ...pkg, bpf_object_size: 50 }),
    'invalid package demo.json: bpf_object_size is 50 but the object inflates to more than 51 bytes',
  );
});

test('an oversized bpf_object_size is refused before anything is decoded', () => {
  const message = decodeMessage({ ...demoPackage(), bpf_object: '!!!!', bpf_object_size: MAX_BPF_OBJECT_SIZE + 1 });
  assert.equal(message, `invalid package demo.json: bpf_object_size is ${MAX_BPF_OBJECT_SIZE + 1} bytes, more than the ${MAX_BPF_OBJECT_SIZE} byte limit`);
});

test('a zlib bomb is refused quickly whatever size it declares', () => {
  const bomb = deflateSync(Buffer.alloc(200 * 1024 * 1024), { level: 1 }).toString('base64');
  const meta = demoMeta();
  const started = performance.now();
  assert.equal(
    decodeMessage({ bpf_object: bomb, bpf_object_size: 4096, meta }),
    'invalid package demo.json: bpf_object_size is 4096 but the object inflates to more than 4097 bytes',
  );
  assert.match(decodeMessage({ bpf_object: bomb, bpf_object_size: 200 * 1024 * 1024, meta }), /more than the \d+ byte limit$/);
  assert.match(decodeMessage({ bpf_object: bomb, bpf_object_size: MAX_BPF_OBJECT_SIZE, meta }), /inflates to more than \d+ bytes$/);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 2000, `decoding the bomb took ${elapsed.toFixed(0)} ms`);
});

test('the object must be a 64-bit little-endian BPF ELF', () => {
  const decode = (bytes: Uint8Array) => decodeMessage(demoPackage(bytes));
  assert.equal(
    decode(new TextEncoder().encode('hello, this is not an object')),
    'invalid package demo.json: bpf_object is not an ELF object (no \\x7fELF magic)',
  );
  assert.equal(decode(elfBytes(62)), 'invalid package demo.json: bpf_object is an ELF object for machine 62, not BPF (247); compile it with clang -target bpf');
  assert.equal(decode(elfBytes().subarray(0, 40)), 'invalid package demo.json: bpf_object is an ELF object truncated to 40 bytes');
  const elf32 = elfBytes();
  elf32[4] = 1;
  assert.match(decode(elf32), /is a 32-bit ELF object/);
  const bigEndian = elfBytes();
  bigEndian[5] = 2;
  assert.match(decode(bigEndian), /is a big-endian ELF object/);
});

test('decodePackage runs the whole pipeline on text', () => {
  const text = serializePackage(demoPackage() as ComposedPackage);
  const { pkg, elf } = decodePackage(text, 'demo.json');
  assert.equal(pkg.meta.bpf_skel.obj_name, 'demo_bpf');
  assert.deepEqual(elf, elfBytes());
});

test('a key given twice in any object of the package is refused (JSON.parse would keep the last; the reference refuses)', () => {
  const text = readFileSync(path.join(fixturesDir, 'bootstrap.json'), 'utf8');
  const pkg = JSON.parse(text) as ComposedPackage;
  const refused = (where: string, key: string) => (e: unknown) =>
    e instanceof EcliError && e.code === 'PACKAGE_INVALID' && e.message === `p.json has the key "${key}" twice in ${where}`;
  // A second bpf_object after the real one: the last would have won.
  const twice = text.replace(/}\s*$/, `,"bpf_object":${JSON.stringify(pkg.bpf_object)}}`);
  assert.throws(() => parsePackageText(twice, 'p.json'), refused('the top-level object', 'bpf_object'));
  assert.throws(() => decodePackage(twice, 'p.json'), refused('the top-level object', 'bpf_object'));
  const nested = text.replace('"obj_name":', '"obj_name":"x","obj_name":');
  assert.throws(() => parsePackageText(nested, 'p.json'), refused('meta.bpf_skel', 'obj_name'));
  assert.throws(() => parsePackageText('{"a":[{"k":1,"\\u006b":2}]}', 'p.json'), refused('a[]', 'k'), 'keys compared as decoded');
  // The same key in different objects, and quotes and backslashes inside strings, are fine.
  assert.deepEqual(parsePackageText('{"a":{"k":1},"b":{"k":"\\"k\\":\\\\"},"k":[{"k":1},{"k":2}]}', 'p.json'), {
    a: { k: 1 },
    b: { k: '"k":\\' },
    k: [{ k: 1 }, { k: 2 }],
  });
  assert.deepEqual(parsePackageText(text, 'p.json'), pkg);
});

test("an npm project's package.json is named as such, not listed as a package missing all its members", () => {
  const manifest = { name: 'my-app', version: '1.0.0', scripts: { start: 'node .' }, dependencies: { 'ecli-ts': '^0.1.0' } };
  const error = catchEcli(() => validatePackage(manifest, 'package.json'));
  assert.equal(error.code, 'PACKAGE_INVALID');
  assert.equal(error.message, "package.json is an npm project's package.json, not an eBPF package");
  // A damaged package keeps its schema errors.
  assert.match(catchEcli(() => validatePackage({ meta: {} }, 'demo.json')).message, /^invalid package demo\.json: /);
});
