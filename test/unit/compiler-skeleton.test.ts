import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { Btf } from '../../src/btf/btf.js';
import { findSection, parseElf } from '../../src/elf/elf.js';
import { EcliError } from '../../src/errors.js';
import { decodeBpfObject } from '../../src/package/codec.js';
import { buildSkeleton, internalMapIdent, internalMapName } from '../../src/compiler/skeleton.js';
import { objectBaseName, sanitizeIdentifier, skeletonObjName } from '../../src/compiler/naming.js';
import { fixturesDir } from '../helpers/env.js';
import { readFixturePackage } from '../helpers/fixtures.js';

/** Keeps only the keys bpftool writes; doc-comment keys come from the source, not the object. */
function pick<T extends object>(items: readonly T[] | null | undefined, keys: readonly string[]): Array<Record<string, unknown>> {
  return (items ?? []).map((item) => Object.fromEntries(Object.entries(item).filter(([k]) => keys.includes(k))));
}

test('skeletons built from the reference objects equal the reference metas', () => {
  const packages = readdirSync(fixturesDir).filter((f) => f.endsWith('.json') && f !== 'arg_builder_skel.json');
  assert.ok(packages.length >= 8, 'expected the eight compiled fixtures');
  for (const file of packages) {
    const pkg = readFixturePackage(file);
    const elf = parseElf(decodeBpfObject(pkg, file), file);
    const btf = Btf.parse(findSection(elf, '.BTF')!.data);
    const reference = pkg.meta.bpf_skel;
    const ours = buildSkeleton(elf, btf, reference.obj_name);

    assert.equal(ours.obj_name, reference.obj_name, file);
    assert.deepEqual(ours.maps, pick(reference.maps, ['name', 'ident', 'mmaped']), `${file}: maps`);
    assert.deepEqual(ours.progs, pick(reference.progs, ['name', 'attach', 'link']), `${file}: progs`);
    // The reference's variables may carry doc keys and bpftool's stray padding `size`.
    const referenceSections = reference.data_sections.map((s) => ({ name: s.name, variables: pick(s.variables, ['name', 'type']) }));
    assert.deepEqual(ours.data_sections, referenceSections, `${file}: data_sections`);
  }
});

test('internal map names follow libbpf: 8-character prefix, bare dotted sections, 15-character cap', () => {
  assert.equal(internalMapName('client_bpf', '.rodata'), 'client_b.rodata');
  assert.equal(internalMapName('client_bpf', '.bss'), 'client_b.bss');
  assert.equal(internalMapName('client_bpf', '.data'), 'client_b.data');
  assert.equal(internalMapName('client_bpf', '.kconfig'), 'client_.kconfig');
  assert.equal(internalMapName('tc_bpf', '.rodata'), 'tc_bpf.rodata');
  assert.equal(internalMapName('simple_bpf', '.rodata.str1.1'), '.rodata.str1.1');
  assert.equal(internalMapName('x_bpf', '.data.a_very_long_section'), '.data.a_very_lo');
  assert.equal(internalMapName('x_bpf', '.rodata.cst16'), '.rodata.cst16');
});

test('internal map identifiers drop everything up to the section suffix', () => {
  assert.equal(internalMapIdent('client_b.rodata'), 'rodata');
  assert.equal(internalMapIdent('client_.kconfig'), 'kconfig');
  assert.equal(internalMapIdent('.rodata.str1.1'), 'rodata_str1_1');
  assert.equal(internalMapIdent('.data.a_very_lo'), 'data_a_very_lo');
  assert.equal(internalMapIdent('runqlat_.bss'), 'bss');
});

test('object names: source name up to the first dot; obj_name from the .o basename', () => {
  assert.equal(objectBaseName('examples/bootstrap/bootstrap.bpf.c'), 'bootstrap');
  assert.equal(objectBaseName('/x/prog.h'), 'prog');
  assert.equal(objectBaseName('noext'), 'noext');
  assert.equal(skeletonObjName('bootstrap.bpf.o'), 'bootstrap_bpf');
  assert.equal(skeletonObjName('/out/my-prog.bpf.o'), 'my_prog_bpf');
  assert.equal(sanitizeIdentifier('a.b-c d'), 'a_b_c_d');
});

test('a static function in a program section is refused like libbpf does', () => {
  const pkg = readFixturePackage('simple_prog_5_xdp.json');
  const elf = parseElf(decodeBpfObject(pkg, 'simple_prog_5_xdp.json'));
  const btf = Btf.parse(findSection(elf, '.BTF')!.data);
  const local = { ...elf, symbols: elf.symbols.map((s) => (s.name === 'xdp_pass' ? { ...s, bind: 0 } : s)) };
  assert.throws(
    () => buildSkeleton(local, btf, 'test_bpf'),
    (e: unknown) => e instanceof EcliError && e.code === 'COMPILE_FAILED' && /xdp_pass.*static/.test(e.message),
  );
});
