import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EcliError } from '../../src/errors.js';
import { buildPackageSpec, type PackageSpec } from '../../src/model/spec.js';
import { decodePackage } from '../../src/package/load.js';
import type { ComposedPackage } from '../../src/package/types.js';
import { fixturesDir } from '../helpers/env.js';
import { readFixturePackage } from '../helpers/fixtures.js';

function specOf(pkg: ComposedPackage, source = 'pkg.json'): PackageSpec {
  return buildPackageSpec({ source, ...decodePackage(JSON.stringify(pkg), source) });
}

function refused(pkg: ComposedPackage, code: string, message: RegExp): void {
  assert.throws(
    () => specOf(pkg),
    (error: unknown) => error instanceof EcliError && error.code === code && message.test(error.message),
  );
}

test('bootstrap: programs, maps typed from the ELF BTF, the export and why, options, BTF needs', () => {
  const spec = specOf(readFixturePackage('bootstrap.json'));
  assert.equal(spec.objectName, 'client_bpf');
  assert.deepEqual(
    spec.programs.map((p) => [p.name, p.kind, p.target]),
    [
      ['handle_exec', 'tracepoint', 'sched/sched_process_exec'],
      ['handle_exit', 'tracepoint', 'sched/sched_process_exit'],
    ],
  );
  const rb = spec.maps.find((m) => m.name === 'rb')!;
  assert.deepEqual([rb.kind, rb.transport, rb.perCpu], ['ringbuf', 'ringbuf', false]);
  const execStart = spec.maps.find((m) => m.name === 'exec_start')!;
  assert.deepEqual([execStart.kind, execStart.key, execStart.value, execStart.valueSize], ['hash', 'pid_t', 'u64', 8]);
  assert.equal(spec.btf.typeName(execStart.btfKeyTypeId), 'pid_t');
  assert.equal(spec.maps.find((m) => m.ident === 'rodata')?.internalSection, '.rodata');
  assert.equal(spec.exports.length, 1);
  const exported = spec.exports[0]!;
  assert.equal(exported.kind, 'events');
  assert.equal(exported.map.name, 'rb');
  assert.equal(exported.reason, 'the only one of the ring buffers, perf event arrays and sampled maps');
  assert.equal(exported.kind === 'events' ? exported.columns.describe : '', 'struct event');
  assert.deepEqual(
    spec.options.map((o) => o.long),
    ['min_duration_ns'],
  );
  assert.deepEqual(spec.btfNeeds, { kernelBtf: true, reasons: ['CO-RE relocations'] });
  assert.equal(spec.perfBufferPages, 64);
  const rodata = spec.dataSections.find((s) => s.section === '.rodata');
  assert.ok(rodata?.settable && rodata.mapName === 'client_b.rodata');
});

test('the spec is immutable', () => {
  const spec = specOf(readFixturePackage('bootstrap.json'));
  assert.ok(Object.isFrozen(spec) && Object.isFrozen(spec.programs) && Object.isFrozen(spec.programs[0]) && Object.isFrozen(spec.exports[0]));
  assert.throws(() => (spec.maps as unknown[]).push({}), TypeError);
});

test('several exportable maps: the last wins, with a warning and the reason', () => {
  const pkg = readFixturePackage('runqlat.json');
  const hists = pkg.meta.bpf_skel.maps.find((m) => m.name === 'hists')!;
  pkg.meta.bpf_skel.maps.unshift({ ...hists });
  const spec = specOf(pkg);
  assert.equal(spec.exports.length, 1);
  assert.equal(spec.exports[0]!.reason, 'the last of the 2 ring buffers, perf event arrays and sampled maps');
  assert.deepEqual(spec.warnings, ['several maps can be exported (hists, hists); using the last one, hists']);
});

test('perf_event programs get a validated sampling event; bad ones are package errors', () => {
  const pkg = readFixturePackage('bootstrap.json');
  const program = pkg.meta.bpf_skel.progs[0]!;
  program.attach = 'perf_event';
  program.perf_event = { type: 'software', config: 'page-faults', sample_period: 10 };
  assert.deepEqual(specOf(pkg).programs[0]!.attach.perfEvent, { type: 'software', config: 'page-faults', sample: 10, freq: false, explicit: true });
  delete program.perf_event;
  assert.deepEqual(specOf(pkg).programs[0]!.attach.perfEvent, { type: 'hardware', config: 'cpu-cycles', sample: 49, freq: true, explicit: false });
  program.perf_event = { config: 'cycles-of-doom' };
  refused(pkg, 'PACKAGE_INVALID', /^program handle_exec: perf_event config "cycles-of-doom" is not a hardware event/);
  program.perf_event = { sample_freq: 10, sample_period: 10 };
  refused(pkg, 'PACKAGE_INVALID', /sets both sample_freq and sample_period/);
  program.perf_event = { sample_freq: 0 };
  refused(pkg, 'PACKAGE_INVALID', /perf_event\/sample_freq must be >= 1/);
});

test('a map the meta lists but the object lacks is refused', () => {
  const pkg = readFixturePackage('bootstrap.json');
  pkg.meta.bpf_skel.maps.push({ name: 'ghost', ident: 'ghost' });
  refused(pkg, 'PACKAGE_INVALID', /^pkg\.json: map ghost is listed in the package meta but not in its BPF object$/);
});

test('an object without BTF is refused', () => {
  const { pkg, elf } = decodePackage(readFileSync(join(fixturesDir, 'bootstrap.json'), 'utf8'), 'pkg.json');
  // Rename the section in the string table, where `.BTF` is the tail of `.rel.BTF`: both become `...BTX`.
  const renamed = Buffer.from(elf);
  const at = renamed.indexOf('.rel.BTF\0');
  assert.ok(at > 0);
  renamed[at + 7] = 'X'.charCodeAt(0);
  assert.throws(() => buildPackageSpec({ source: 'pkg.json', pkg, elf: renamed }), {
    code: 'BTF_INVALID',
    message: 'pkg.json: the BPF object has no .BTF section',
  });
});
