import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ElfFile, ElfSection, ElfSymbol } from '../../src/elf/elf.js';
import { checkPrograms, programProblemHint, splitCheckOptOuts, type KernelTracepoints } from '../../src/compiler/program-checks.js';
import { findSectionDef, releaseAtLeast } from '../../src/model/section-defs.js';

const SHT_PROGBITS = 1;
const SHT_REL = 9;
const CODE = 0x6n; // SHF_ALLOC | SHF_EXECINSTR
const STT_FUNC = 2;
const STB_GLOBAL = 1;
const STB_LOCAL = 0;
const STB_WEAK = 2;

function section(index: number, name: string, type = SHT_PROGBITS, data = new Uint8Array(8), flags = CODE): ElfSection {
  return { index, name, type, flags, size: data.length, fileOffset: 0, data };
}

function func(name: string, sectionIndex: number, bind = STB_GLOBAL): ElfSymbol {
  return { name, value: 0, size: 8, type: STT_FUNC, bind, sectionIndex };
}

/** A `.rel<section>` whose entries refer to these symbol indices. */
function relocations(index: number, target: string, symbols: number[]): ElfSection {
  const data = Buffer.alloc(16 * symbols.length);
  symbols.forEach((symbol, i) => data.writeBigUInt64LE((BigInt(symbol) << 32n) | 10n, 16 * i + 8));
  return section(index, `.rel${target}`, SHT_REL, data, 0n);
}

/** An object with one program per section name, and `.text` functions. */
function object(programs: Record<string, string>, text: { name: string; bind?: number }[] = [], called: string[] = []): ElfFile {
  const sections: ElfSection[] = [section(0, '', 0, new Uint8Array(0), 0n), section(1, '.text')];
  const symbols: ElfSymbol[] = [{ name: '', value: 0, size: 0, type: 0, bind: 0, sectionIndex: 0 }];
  for (const [name, sec] of Object.entries(programs)) {
    sections.push(section(sections.length, sec));
    symbols.push(func(name, sections.length - 1));
  }
  for (const t of text) symbols.push(func(t.name, 1, t.bind));
  const calledIndices = called.map((name) => symbols.findIndex((s) => s.name === name));
  if (calledIndices.length > 0) sections.push(relocations(sections.length, sections[2]!.name, calledIndices));
  return { machine: 247, sections, symbols, dynamicSymbols: [], segments: [] };
}

const kernel: KernelTracepoints = {
  events: () => ['syscalls/sys_enter_openat', 'syscalls/sys_exit_openat', 'sched/sched_switch', 'sched/sched_process_exec'],
  btfNames: () => ['sched_switch', 'sched_process_exec', 'pelt_cfs_tp'],
};

test("a section libbpf's table lacks is refused with the closest known spelling", () => {
  const problems = checkPrograms(object({ a: 'tracpoint/syscalls/sys_enter_openat', b: 'kprobes/do_unlinkat', c: 'cgroup/conect4', d: 'xdp' }), kernel);
  assert.deepEqual(
    problems.map((p) => p.message),
    [
      'program a is in SEC("tracpoint/syscalls/sys_enter_openat"), a section libbpf does not know (did you mean SEC("tracepoint/syscalls/sys_enter_openat")?)',
      'program b is in SEC("kprobes/do_unlinkat"), a section libbpf does not know (did you mean SEC("kprobe/do_unlinkat")?)',
      'program c is in SEC("cgroup/conect4"), a section libbpf does not know (did you mean SEC("cgroup/connect4")?)',
    ],
  );
  assert.match(programProblemHint(problems[0]!), /-a -Wno-unknown-section/);
});

test('sections newer libbpf releases added are known, with the release that added them', () => {
  assert.deepEqual(findSectionDef('fsession/do_unlinkat')?.since, { major: 1, minor: 7 });
  assert.deepEqual(findSectionDef('tcx/ingress')?.since, { major: 1, minor: 3 });
  assert.deepEqual(findSectionDef('tp/sched/sched_switch')?.since, { major: 1, minor: 1 });
  assert.equal(findSectionDef('tcx/ingressx'), undefined, 'exact names match exactly');
  assert.equal(findSectionDef('tpx/a/b'), undefined, 'a + entry needs its / separator');
  assert.equal(findSectionDef('xdp.frags'), findSectionDef('xdp.frags'));
  assert.equal(releaseAtLeast({ major: 1, minor: 4 }, { major: 1, minor: 3 }), true);
  assert.equal(releaseAtLeast({ major: 1, minor: 4 }, { major: 1, minor: 7 }), false);
  assert.deepEqual(checkPrograms(object({ f: 'fsession/do_unlinkat', t: 'tcx/ingress' }), kernel), []);
});

test('a global function without a section that nothing calls is refused; called, static and weak (library) ones are subprograms', () => {
  const problems = checkPrograms(
    object(
      { main: 'tp/sched/sched_switch' },
      [{ name: 'forgotten' }, { name: 'helper' }, { name: 'local', bind: STB_LOCAL }, { name: 'bpf_usdt_cookie', bind: STB_WEAK }],
      ['helper'],
    ),
    kernel,
  );
  assert.deepEqual(
    problems.map((p) => [p.check, p.message]),
    [['missing-section', 'function forgotten has no SEC(...): it is not a program, and nothing calls it']],
  );
});

test('tracepoints the kernel lacks are refused with the closest one from tracefs or the kernel BTF', () => {
  const problems = checkPrograms(
    object({
      a: 'tp/syscalls/sys_enter_opnat',
      b: 'tracepoint/sched/sched_swich',
      c: 'raw_tp/sched_proces_exec',
      d: 'tp_btf/pelt_cfs_tp',
      e: 'tp/syscalls/sys_enter_openat',
      f: 'tp/nosuch/thing_at_all_here',
    }),
    kernel,
  );
  assert.deepEqual(
    problems.map((p) => p.message),
    [
      'program a attaches to the tracepoint syscalls/sys_enter_opnat, which this kernel does not have (did you mean SEC("tp/syscalls/sys_enter_openat")?)',
      'program b attaches to the tracepoint sched/sched_swich, which this kernel does not have (did you mean SEC("tracepoint/sched/sched_switch")?)',
      'program c attaches to the raw tracepoint sched_proces_exec, which this kernel does not have (did you mean SEC("raw_tp/sched_process_exec")?)',
      'program f attaches to the tracepoint nosuch/thing_at_all_here, which this kernel does not have',
    ],
  );
});

test('without a readable tracefs or kernel BTF, tracepoints are not judged', () => {
  const unknown: KernelTracepoints = { events: () => undefined, btfNames: () => undefined };
  assert.deepEqual(checkPrograms(object({ a: 'tp/syscalls/sys_enter_opnat', c: 'raw_tp/nope' }), unknown), []);
});

test('-Wno-<check> flags are ecc opt-outs, taken out of the flags clang gets', () => {
  const { clangFlags, disabled } = splitCheckOptOuts(['-O2', '-Wno-unknown-tracepoint', '-Wno-unused', '-Wno-missing-section']);
  assert.deepEqual(clangFlags, ['-O2', '-Wno-unused']);
  assert.deepEqual([...disabled], ['unknown-tracepoint', 'missing-section']);
  const elf = object({ a: 'tp/syscalls/sys_enter_opnat', b: 'tracpoint/x/y' }, [{ name: 'forgotten' }]);
  assert.deepEqual(
    checkPrograms(elf, kernel, disabled).map((p) => p.check),
    ['unknown-section'],
  );
});
