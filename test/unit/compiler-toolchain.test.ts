import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseBpfCpu, kernelVersionOf } from '../../src/compiler/bpf-cpu.js';
import { findBpfHeaders, formatVersion, newerThanHeaders, newestBpfHeaders } from '../../src/compiler/bpf-headers.js';
import { crashSummary, firstErrorLine, isClangCrash, missingKernelFamilies, vmlinuxClashes } from '../../src/compiler/compile.js';
import { includeDirsOf, llvmVersionFromPath, parseClangVersion, parseSysIncludeDirs, targetArch } from '../../src/compiler/toolchain.js';

test('system include directories are read from `clang -v -E -` output', () => {
  const output = [
    'clang version 14.0.6',
    '#include "..." search starts here:',
    '#include <...> search starts here:',
    ' /usr/lib/llvm-14/lib/clang/14.0.6/include',
    ' /usr/local/include',
    ' /usr/include',
    'End of search list.',
    '# 1 "<stdin>"',
  ].join('\n');
  assert.deepEqual(parseSysIncludeDirs(output), ['/usr/lib/llvm-14/lib/clang/14.0.6/include', '/usr/local/include', '/usr/include']);
  assert.deepEqual(parseSysIncludeDirs('no list here'), []);
});

test('the target architecture uses bpf_tracing.h spellings', () => {
  assert.equal(targetArch('x64'), 'x86');
  assert.equal(targetArch('arm64'), 'arm64');
  assert.equal(targetArch('riscv64'), 'riscv');
  assert.equal(targetArch('ppc64'), 'powerpc');
});

test('the first error line of clang output makes the one-line message', () => {
  const stderr = "a.bpf.c:3:1: warning: unused\nx\na.bpf.c:12:5: error: use of undeclared identifier 'y'\n1 error generated.\n";
  assert.equal(firstErrorLine(stderr), "a.bpf.c:12:5: error: use of undeclared identifier 'y'");
  assert.equal(firstErrorLine('  \nonly text\n'), 'only text');
  assert.equal(firstErrorLine(''), 'no diagnostic output');
});

test('-mcpu is the newest instruction set both clang and the kernel support', () => {
  assert.equal(chooseBpfCpu(19, '6.18.44-fc-v1300').cpu, 'v4');
  assert.match(chooseBpfCpu(19, '6.18.0').reason, /clang 19 and kernel 6\.18\.0 both support v4/);
  const oldClang = chooseBpfCpu(14, '6.18.0');
  assert.equal(oldClang.cpu, 'v3');
  assert.match(oldClang.reason, /v4 needs clang ≥ 18/);
  const oldKernel = chooseBpfCpu(19, '6.1.0-28-amd64');
  assert.equal(oldKernel.cpu, 'v3');
  assert.match(oldKernel.reason, /v4 needs kernel ≥ 6\.6/);
  assert.equal(chooseBpfCpu(19, '4.19.0').cpu, 'v2');
  assert.equal(chooseBpfCpu(19, 'custom').cpu, undefined);
  // The user's own -mcpu wins, and ecc then adds none.
  assert.deepEqual(chooseBpfCpu(19, '6.18.0', ['-O2', '-mcpu=v2']), { cpu: undefined, reason: '-mcpu=v2 given with -a' });
  assert.deepEqual(kernelVersionOf('6.6.0'), [6, 6]);
});

test("clang's version is read from its -v output, an LLVM release from its install path", () => {
  assert.deepEqual(parseClangVersion('Debian clang version 19.1.7 (3~deb12u1)\nTarget: x86_64-pc-linux-gnu'), { major: 19, text: '19.1.7' });
  assert.deepEqual(parseClangVersion('clang version 14.0.6'), { major: 14, text: '14.0.6' });
  assert.equal(parseClangVersion('gcc version 12'), undefined);
  assert.equal(llvmVersionFromPath('/usr/lib/llvm-14/bin/clang'), 14);
  assert.equal(llvmVersionFromPath('/usr/bin/clang'), undefined);
});

test('-I and -isystem directories are read from the extra clang flags in order', () => {
  assert.deepEqual(includeDirsOf(['-O2', '-I/a', '-I', '/b', '-isystem', '/c', '-isystem/d', '-DX']), ['/a', '/b', '/c', '/d']);
});

test("libbpf's BPF headers: version from libbpf_version.h, the newest copy wins, the first of equals", () => {
  const files: Record<string, string> = {
    '/usr/local/include/bpf/bpf_helpers.h': '',
    '/usr/local/include/bpf/libbpf_version.h': '#define LIBBPF_MAJOR_VERSION 1\n#define LIBBPF_MINOR_VERSION 1\n',
    '/usr/include/bpf/bpf_helpers.h': '',
    '/usr/include/bpf/libbpf_version.h': '#define LIBBPF_MAJOR_VERSION 1\n#define LIBBPF_MINOR_VERSION 4\n',
    '/opt/old/bpf/bpf_helpers.h': '',
  };
  const found = findBpfHeaders(['/usr/lib/llvm-19/lib/clang/19/include', '/usr/local/include', '/usr/include', '/opt/old'], (f) => files[f]);
  assert.deepEqual(found, [
    { includeDir: '/usr/local/include', version: { major: 1, minor: 1 } },
    { includeDir: '/usr/include', version: { major: 1, minor: 4 } },
    { includeDir: '/opt/old', version: undefined },
  ]);
  assert.equal(newestBpfHeaders(found)?.includeDir, '/usr/include');
  assert.equal(newestBpfHeaders([found[2]!, found[0]!])?.includeDir, '/usr/local/include');
  assert.equal(formatVersion(undefined), 'an unknown libbpf (< 0.6)');
});

test('a source using what newer libbpf headers added is named with the release it needs; comments and strings do not count', () => {
  const source = [
    '// bpf_ksym_exists is mentioned here only',
    'const char *s = "BPF_URETPROBE";',
    'int BPF_UPROBE(f, int a) { int i; bpf_for(i, 0, 3) {} return 0; }',
    'unsigned long __ulong(map_extra, 1);',
  ].join('\n');
  assert.deepEqual(
    newerThanHeaders(source, { major: 1, minor: 1 }).map((n) => `${n.name} ${n.since.major}.${n.since.minor}`),
    ['__ulong 1.4', 'BPF_UPROBE 1.2', 'bpf_for 1.2'],
  );
  assert.deepEqual(
    newerThanHeaders(source, { major: 1, minor: 3 }).map((n) => n.name),
    ['__ulong'],
  );
  assert.deepEqual(newerThanHeaders(source, { major: 1, minor: 4 }), []);
});

test("a clang crash is summed up by LLVM's own error line, without node addresses", () => {
  const stderr = [
    'Error at line 5: Unsupport signed division for DAG: 0x3ce99788: i64 = sdiv 0x3ce99378, 0x3ce99c68, x.bpf.c:5:132Please convert to unsigned div/mod.',
    'fatal error: error in backend: Cannot select: 0x3ce99788: i64 = sdiv 0x3ce99378, 0x3ce99c68, x.bpf.c:5:132',
    '  0x3ce99378: i64 = and 0x3ce994b0, Constant:i64<4294967295>, x.bpf.c:5:31',
    'PLEASE submit a bug report to https://github.com/llvm/llvm-project/issues/ and include the crash backtrace.',
    'Stack dump:',
    '0.\tProgram arguments: clang-14 -g -O2 -target bpf -c x.bpf.c',
  ].join('\n');
  assert.equal(isClangCrash(1, stderr), true);
  assert.equal(isClangCrash(1, "x.bpf.c:3:1: error: use of undeclared identifier 'y'"), false);
  assert.equal(isClangCrash(139, ''), true);
  assert.equal(crashSummary(stderr), 'Cannot select: i64 = sdiv at x.bpf.c:5:132');
});

test('names defined both by the source and by vmlinux.h are told apart: kfunc prototypes and kernel types', () => {
  const vmlinux = [
    'struct bpf_task_work {',
    '\tu64 ctx;',
    '};',
    '#ifndef BPF_NO_KFUNC_PROTOTYPES',
    'extern int bpf_path_d_path(const struct path *path, char *buf, size_t buf__sz) __weak __ksym;',
    '#endif',
  ].join('\n');
  const stderr = [
    "bpf_experimental.h:10:8: error: redefinition of 'bpf_task_work'",
    '   10 | struct bpf_task_work {',
    '/cache/vmlinux.h:1:8: note: previous definition is here',
    "bpf_experimental.h:23:12: error: conflicting types for 'bpf_path_d_path'",
    '/cache/vmlinux.h:5:12: note: previous declaration is here',
    "x.bpf.c:3:1: error: conflicting types for 'mine'",
    'x.bpf.c:2:1: note: previous declaration is here',
  ].join('\n');
  assert.deepEqual(vmlinuxClashes(stderr, vmlinux), { kfuncs: ['bpf_path_d_path'], types: ['bpf_task_work'] });
  assert.deepEqual(vmlinuxClashes("x.bpf.c:3:1: error: use of undeclared identifier 'y'", vmlinux), { kfuncs: [], types: [] });
});

test('undeclared enum-like names of a family the kernel BTF lacks entirely are a missing kernel feature, not typos', () => {
  const stderr = [
    "common.bpf.h:33:17: error: use of undeclared identifier 'SCX_DSQ_FLAG_BUILTIN'",
    "scx_simple.bpf.c:68:23: error: use of undeclared identifier 'SCX_DSQ_LOCAL'",
    "scx_simple.bpf.c:70:1: error: use of undeclared identifier 'BPF_ANYY'",
    "scx_simple.bpf.c:71:1: error: use of undeclared identifier 'MYAPP_LIMITT'",
    "scx_simple.bpf.c:72:1: error: use of undeclared identifier 'nope'",
  ].join('\n');
  const vmlinux = 'enum { BPF_ANY = 0, BPF_NOEXIST = 1 };';
  assert.deepEqual(missingKernelFamilies(stderr, vmlinux, ['#define MYAPP_LIMIT 10']), [{ prefix: 'SCX_', names: ['SCX_DSQ_FLAG_BUILTIN', 'SCX_DSQ_LOCAL'] }]);
  assert.deepEqual(missingKernelFamilies(stderr, `${vmlinux} enum scx_dsq_id_flags { SCX_DSQ_FLAG_BUILTIN = 1 };`, ['#define MYAPP_LIMIT 10']), []);
});
