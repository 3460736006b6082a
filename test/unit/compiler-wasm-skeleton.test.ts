/**
 * The wasm-bpf C skeleton ecc --wasm-skeleton writes: the object's maps, programs and data
 * sections, every variable declared with a type of its BPF size and offset (BPF is 64-bit,
 * wasm32 is not), the file offset of .rodata that lets the guest set options before load, and
 * the object embedded byte for byte. (Guests built from such skeletons run in the integration
 * tests; here, the text.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { buildSkeleton } from '../../src/compiler/skeleton.js';
import { wasmSkeletonHeader } from '../../src/compiler/wasm-skeleton.js';
import { findSection, parseElf, type ElfFile } from '../../src/elf/elf.js';
import { BtfBuilder } from '../helpers/btf-builder.js';
import { fixtureElf, readFixturePackage } from '../helpers/fixtures.js';

/** The bytes a skeleton embeds, read back from its string literal. */
function embedded(header: string): Buffer {
  const body = /static char object\[\] __attribute__\(\(aligned\(8\)\)\) =\n((?:\t\t"[^"]*"\n)+)\t\t;/.exec(header)?.[1] ?? assert.fail('no embedded object');
  const hex = [...body.matchAll(/\\x([0-9a-f]{2})/g)].map((m) => parseInt(m[1]!, 16));
  return Buffer.from(hex);
}

test('simple_prog_3 (reference fixture): maps, program, .rodata and .bss structs, the .rodata offset, the object byte for byte', () => {
  const object = fixtureElf(readFixturePackage('simple_prog_3.json'));
  const elf = parseElf(object);
  const btf = Btf.parse(findSection(elf, '.BTF')!.data);
  const header = wasmSkeletonHeader({
    objName: 'simple_prog_3_bpf',
    objectFile: 'simple_prog_3.bpf.o',
    object,
    elf,
    btf,
    skeleton: buildSkeleton(elf, btf, 'simple_prog_3_bpf'),
  });

  assert.match(
    header,
    /^struct simple_prog_3_bpf \{\n\tstruct bpf_object_skeleton \*skeleton;\n\tstruct bpf_object \*obj;\n\tstruct \{\n\t\tstruct bpf_map \*rb;\n\t\tstruct bpf_map \*rodata;\n\t\tstruct bpf_map \*bss;\n\t\} maps;\n\tstruct \{\n\t\tstruct bpf_program \*handle_exec;\n\t\} progs;\n/m,
  );
  assert.match(
    header,
    /\tstruct simple_prog_3_bpf__rodata \{\n\t\tint32_t const_val_1;\n\t\tuint8_t __pad0\[4\];\n\t\tint64_t const_val_2;\n\t\tchar const_val_3\[100\];\n\t\} __attribute__\(\(packed\)\) \*rodata;\n/,
  );
  assert.match(header, /\t\tuint64_t __eunomia_dummy_OutData_ptr; \/\* a BPF pointer \*\/\n/);
  assert.match(
    header,
    /_Static_assert\(offsetof\(struct simple_prog_3_bpf__rodata, const_val_2\) == 8, "simple_prog_3_bpf__rodata: const_val_2 is not at its BPF offset"\);/,
  );
  const rodata = elf.sections.find((s) => s.name === '.rodata')!;
  assert.match(header, new RegExp(`\\ts->rodata_offset = ${rodata.fileOffset};\\n`));
  assert.doesNotMatch(header, /s->data_offset/, 'no .data section');
  assert.match(
    header,
    /\ts->maps\[1\]\.name = "simple_p\.rodata";\n\ts->maps\[1\]\.map = &obj->maps\.rodata;\n\ts->maps\[1\]\.mmaped = \(void \*\*\)&obj->rodata;\n/,
  );
  assert.match(header, /\ts->progs\[0\]\.name = "handle_exec";\n\ts->progs\[0\]\.prog = &obj->progs\.handle_exec;\n/);
  for (const fn of ['open', 'open_opts', 'load', 'open_and_load', 'attach', 'detach', 'destroy', 'elf_bytes', 'create_skeleton']) {
    assert.match(header, new RegExp(`^static inline [^(\\n]*[ *]simple_prog_3_bpf__${fn}\\(`, 'm'));
  }
  assert.ok(embedded(header).equals(object));
});

test('types of different sizes in BPF and wasm32 get fixed-width ones; composites are packed with their padding; bitfields become bytes', () => {
  const b = new BtfBuilder();
  const long = b.int('long', 8, { signed: true });
  const uint = b.int('unsigned int', 4);
  const char = b.int('char', 1, { signed: true, char: true });
  const bool = b.int('_Bool', 1, { bool: true });
  const u8 = b.int('unsigned char', 1);
  const ptr = b.ptr(char);
  const en = b.enum('mode', 4, [['A', 0]]);
  const dbl = b.float('double', 8);
  const padded = b.struct('padded', [
    { name: 'tag', type: char },
    { name: 'value', type: long },
  ]);
  const un = b.union('either', [
    { name: 'word', type: uint },
    { name: 'bytes', type: b.array(u8, 6) },
  ]);
  const bits = b.struct('bits', [
    { name: 'low', type: uint, bitfieldSize: 3 },
    { name: 'high', type: uint, bitOffset: 3, bitfieldSize: 29 },
  ]);
  const cv = b.const(b.volatile(b.typedef('pid_t', b.int('int', 4, { signed: true }))));
  const vars = [
    ['count', long, 0, 8],
    ['name', ptr, 8, 8],
    ['on', bool, 16, 1],
    ['m', en, 20, 4],
    ['ratio', dbl, 24, 8],
    ['pair', padded, 32, 16],
    ['either', un, 48, 8],
    ['flags', bits, 56, 4],
    ['pid', cv, 60, 4],
    ['pairs', b.array(padded, 2), 64, 32],
  ] as const;
  const varIds = vars.map(([name, type]) => b.variable(name, type));
  b.datasec(
    '.rodata',
    96,
    vars.map(([, , offset, size], i) => ({ type: varIds[i]!, offset, size })),
  );
  const btf = Btf.parse(b.build());
  const data = new Uint8Array(96);
  const elf: ElfFile = {
    machine: 247,
    sections: [
      { index: 0, name: '', type: 0, flags: 0n, size: 0, fileOffset: 0, data: new Uint8Array(0) },
      { index: 1, name: '.rodata', type: 1, flags: 2n, size: 96, fileOffset: 640, data },
    ],
    symbols: vars.map(([name, , offset, size]) => ({ name, value: offset, size, type: 1, bind: 1, sectionIndex: 1 })),
    dynamicSymbols: [],
    segments: [],
  };
  const header = wasmSkeletonHeader({
    objName: 'types_bpf',
    objectFile: 'types.bpf.o',
    object: new Uint8Array(8),
    elf,
    btf,
    skeleton: buildSkeleton(elf, btf, 'types_bpf'),
  });
  const rodata = /\tstruct types_bpf__rodata \{\n([\s\S]*?)\n\t\} __attribute__\(\(packed\)\) \*rodata;/.exec(header)?.[1] ?? assert.fail(header);
  assert.equal(
    rodata.replace(/^\t\t/gm, ''),
    [
      'int64_t count;',
      'uint64_t name; /* a BPF pointer */',
      'bool on;',
      'uint8_t __pad0[3];',
      'int32_t m;',
      'double ratio;',
      'struct __attribute__((packed)) {',
      '\tchar tag;',
      '\tuint8_t __pad0[7];',
      '\tint64_t value;',
      '} pair;',
      'union __attribute__((packed)) {',
      '\tuint32_t word;',
      '\tuint8_t bytes[6];',
      '\tuint8_t __size[8];',
      '} either;',
      'uint8_t flags[4];',
      'int32_t pid;',
      'struct __attribute__((packed)) {',
      '\tchar tag;',
      '\tuint8_t __pad0[7];',
      '\tint64_t value;',
      '} pairs[2];',
    ].join('\n'),
  );
  for (const [name, , offset] of vars) assert.match(header, new RegExp(`offsetof\\(struct types_bpf__rodata, ${name}\\) == ${offset},`));
  assert.match(header, /\ts->rodata_offset = 640;\n/);
});
