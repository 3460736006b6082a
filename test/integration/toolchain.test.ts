/**
 * ecc's toolchain: the newest clang and libbpf headers found, -mcpu from clang and the kernel,
 * sources that need them (BPF_UPROBE, bpf_for, signed division) compiled and run, old headers
 * and clang crashes reported as what they are, and the compile-time refusals of sections and
 * tracepoints. Also the caches keyed by the tools that wrote them.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KERNEL_BTF_PATH } from '../../src/btf/kernel-btf-path.js';
import { findExecutable } from '../../src/compiler/process.js';
import { ensureVmlinuxHeader } from '../../src/compiler/vmlinux.js';
import { haveRoot, repoRoot, skipUnlessCi } from '../helpers/env.js';
import { startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { eccPath, ecliPath, runTool } from '../helpers/ecli-process.js';
import { haveCommands, haveToolchain, jsonLine, jsonRows, startHelper, tempDir } from '../helpers/examples.js';
import { libbpf11 } from '../helpers/libbpf-1.1.js';
import { privateNetns } from '../helpers/netns.js';

const fixtures = path.join(repoRoot, 'test/fixtures/toolchain');
/** Where modern.bpf.c's uprobe points. */
const TARGET = '/tmp/ecli-toolchain-target';

/** True when clang-19 (or newer) is installed, as make setup does; otherwise skips. */
function haveModernClang(t: TestContext): boolean {
  if (!haveToolchain(t)) return false;
  if (['clang-22', 'clang-21', 'clang-20', 'clang-19', 'clang-18'].some((c) => findExecutable([c]))) return true;
  skipUnlessCi(t, 'needs clang ≥ 18 (make setup installs clang-19)');
  return false;
}

function ecc(args: string[]): { status: number | null; stderr: string } {
  return runTool(eccPath, args);
}

test('vmlinux.h is generated again when bpftool changes, not taken from the cache of another bpftool', async (t) => {
  const bpftool = findExecutable(['bpftool']);
  if (bpftool === undefined || !existsSync(KERNEL_BTF_PATH)) return skipUnlessCi(t, `needs bpftool and ${KERNEL_BTF_PATH}`);
  const dir = tempDir(t);
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') };
  const first = await ensureVmlinuxHeader({ env });

  // Another bpftool binary (here a copy: a package upgrade changes the file the same way).
  mkdirSync(path.join(dir, 'bin'));
  copyFileSync(bpftool, path.join(dir, 'bin/bpftool'));
  const savedPath = process.env.PATH;
  process.env.PATH = `${path.join(dir, 'bin')}:${savedPath ?? ''}`;
  t.after(() => (process.env.PATH = savedPath));
  const second = await ensureVmlinuxHeader({ env });

  assert.notEqual(second.dir, first.dir);
  assert.match(readFileSync(second.path, 'utf8'), /#ifndef __VMLINUX_H__/);
});

test('ecc -v names the clang, the BPF headers and the -mcpu it chose, and why', (t) => {
  if (!haveModernClang(t)) return;
  const out = tempDir(t);
  const run = ecc(['-v', path.join(fixtures, 'modern.bpf.c'), path.join(fixtures, 'modern.h'), '-o', out]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /^clang 1[89]\.\d+\.\d+|^clang 2\d\.\d+\.\d+/m);
  assert.match(run.stderr, /, the newest found/);
  assert.match(run.stderr, /^BPF headers: libbpf 1\.\d+ in \S+\/bpf, the newest found/m);
  assert.match(run.stderr, /^-mcpu=v[34]: clang \d+ and kernel \S+ both support v[34]/m);
  assert.match(run.stderr, /-mcpu=v[34] /, 'clang ran with it');
});

test('BPF_UPROBE, a bpf_for loop and signed division compile with the newest clang and headers, and run', async (t) => {
  if (!haveRoot(t) || !haveModernClang(t) || !haveCommands(t, ['cc'])) return;
  const out = tempDir(t);
  const compiled = ecc([path.join(fixtures, 'modern.bpf.c'), path.join(fixtures, 'modern.h'), '-o', out]);
  assert.equal(compiled.status, 0, compiled.stderr);
  const built = path.join(out, 'target');
  const cc = runTool('cc', ['-O0', '-o', built, path.join(fixtures, 'target.c')]);
  assert.equal(cc.status, 0, cc.stderr);
  renameSync(built, TARGET);

  const ecli = await startEcliFor(t, ['run', '-j', '--time', 'none', path.join(out, 'package.json')]);
  const calls = [
    [-7, 2],
    [7, -2],
    [100, 7],
  ];
  for (const [a, b] of calls) {
    const target = startHelper(t, TARGET, [String(a), String(b)], { stdio: ['ignore', 'pipe', 'inherit'] });
    assert.equal(await target.exited, 0);
    await ecli.waitForLine(jsonLine((r) => r.pid === target.pid));
  }
  const rows = jsonRows(ecli).map(({ a, b, quotient, remainder, sum }) => [a, b, quotient, remainder, sum]);
  // C's truncating division, as the kernel's sdiv/smod compute it; sum = a * (0 + 1 + ... + 9).
  assert.deepEqual(rows, [
    [-7, 2, -3, -1, -315],
    [7, -2, -3, 1, 315],
    [100, 7, 14, 2, 4500],
  ]);
  await stopAndCheckUnloaded(ecli, 'SIGINT', ['on_divide']);
});

test('a source that needs newer libbpf headers than the ones used is told so, not to fix its errors', (t) => {
  if (!haveModernClang(t)) return;
  const old = libbpf11(t);
  if (old === undefined) return;
  const run = ecc([path.join(fixtures, 'modern.bpf.c'), path.join(fixtures, 'modern.h'), '-o', tempDir(t), '-a', `-I${old.includeDir}`]);
  assert.equal(run.status, 10, run.stderr);
  const error = run.stderr.split('\n').find((l) => l.startsWith('ecc: error:'));
  assert.match(
    error ?? '',
    /^ecc: error: \S*modern\.bpf\.c uses BPF_UPROBE, bpf_for, which libbpf 1\.2's BPF headers added, but the BPF headers in use are libbpf 1\.1 \(\S+\/bpf\): /,
  );
  assert.match(run.stderr, /^hint: the source is fine for newer headers: install libbpf-dev ≥ 1\.2/m);
  assert.doesNotMatch(run.stderr, /fix the errors above/);
});

test('a clang crash is one line naming the file that holds its full output, with the fix for signed division', (t) => {
  if (!haveToolchain(t)) return;
  const clang14 = findExecutable(['clang-14']);
  if (clang14 === undefined) return skipUnlessCi(t, 'needs clang-14, whose BPF backend crashes on signed division');
  const dir = tempDir(t);
  const run = runTool(eccPath, ['-c', clang14, path.join(fixtures, 'modern.bpf.c'), path.join(fixtures, 'modern.h'), '-o', dir], {
    env: { XDG_CACHE_HOME: path.join(dir, 'cache') },
  });
  assert.equal(run.status, 10, run.stderr);
  const lines = run.stderr.trim().split('\n');
  const error = lines.find((l) => l.startsWith('ecc: error:')) ?? '';
  const match = /^ecc: error: clang 14\.\d+\.\d+ crashed compiling \S*modern\.bpf\.c: Cannot select: .*sdiv.*; its full output is in (\S+)$/.exec(error);
  assert.ok(match, run.stderr);
  assert.match(readFileSync(match[1]!, 'utf8'), /Stack dump:/);
  assert.doesNotMatch(run.stderr, /Stack dump|PLEASE submit|^ #\d/m, 'no LLVM stack dump on the terminal');
  assert.match(run.stderr, /^hint: signed division and modulo need -mcpu=v4/m);
});

/** A source with one program per section and `extra` appended. */
function sourceWith(dir: string, sections: string[], extra = ''): string {
  const file = path.join(dir, 'checks.bpf.c');
  const programs = sections.map((s, i) => `SEC("${s}")\nint prog${i}(void *ctx) { return 0; }\n`).join('');
  writeFileSync(file, `#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\n${programs}${extra}char LICENSE[] SEC("license") = "GPL";\n`);
  return file;
}

test('ecc refuses a misspelt section, exit 10, with the section libbpf knows', (t) => {
  if (!haveToolchain(t)) return;
  const dir = tempDir(t);
  const run = ecc([sourceWith(dir, ['tracpoint/syscalls/sys_enter_openat']), '-o', dir]);
  assert.equal(run.status, 10, run.stderr);
  assert.match(
    run.stderr,
    /^ecc: error: \S+checks\.bpf\.c: program prog0 is in SEC\("tracpoint\/syscalls\/sys_enter_openat"\), a section libbpf does not know \(did you mean SEC\("tracepoint\/syscalls\/sys_enter_openat"\)\?\)$/m,
  );
  assert.ok(!existsSync(path.join(dir, 'package.json')), 'no package written');
  const kept = ecc([sourceWith(dir, ['tracpoint/syscalls/sys_enter_openat']), '-o', dir, '-a', '-Wno-unknown-section']);
  assert.equal(kept.status, 0, kept.stderr);
});

test('ecc refuses a function that has no section and that nothing calls', (t) => {
  if (!haveToolchain(t)) return;
  const dir = tempDir(t);
  const source = sourceWith(dir, ['tp/syscalls/sys_enter_openat'], 'int forgotten(void *ctx) { return 0; }\n');
  const run = ecc([source, '-o', dir]);
  assert.equal(run.status, 10, run.stderr);
  assert.match(run.stderr, /^ecc: error: \S+: function forgotten has no SEC\(\.\.\.\): it is not a program, and nothing calls it$/m);
  assert.equal(ecc([source, '-o', dir, '-a', '-Wno-missing-section']).status, 0);
  const called = sourceWith(
    dir,
    [],
    '__noinline int helper(int x) { return x + 1; }\nSEC("tp/syscalls/sys_enter_openat")\nint p(void *ctx) { return helper(1) - 2; }\n',
  );
  assert.equal(ecc([called, '-o', dir]).status, 0, 'a global subprogram that a program calls is fine');
});

test('ecc refuses a tracepoint this kernel does not have, with the closest one from tracefs', (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const dir = tempDir(t);
  const run = ecc([sourceWith(dir, ['tp/syscalls/sys_enter_opnat']), '-o', dir]);
  assert.equal(run.status, 10, run.stderr);
  assert.match(
    run.stderr,
    /^ecc: error: \S+: program prog0 attaches to the tracepoint syscalls\/sys_enter_opnat, which this kernel does not have \(did you mean SEC\("tp\/syscalls\/sys_enter_openat"\)\?\)$/m,
  );
  assert.match(run.stderr, /^hint: .*-a -Wno-unknown-tracepoint keeps it, for a kernel other than this one$/m);
  assert.equal(ecc([sourceWith(dir, ['tp/syscalls/sys_enter_opnat']), '-o', dir, '-a', '-Wno-unknown-tracepoint']).status, 0);
});

/** A helper that calls getppid() once per line it reads, so events come exactly when the test asks. */
function getppidCaller(t: TestContext) {
  const helper = startHelper(t, process.execPath, ['-e', "process.stdin.on('data', () => process.ppid); process.stdin.on('end', () => process.exit(0));"], {
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  return { pid: helper.pid, call: () => helper.child.stdin!.write('\n'), end: () => helper.child.stdin!.end() };
}

test('a stack trace map without value size or max entries loads with libbpf-tools’ sizes, and its stacks are taken', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const out = tempDir(t);
  const compiled = ecc([path.join(fixtures, 'stacks.bpf.c'), path.join(fixtures, 'stacks.h'), '-o', out]);
  assert.equal(compiled.status, 0, compiled.stderr);
  const inspect = runTool(ecliPath, ['inspect', path.join(out, 'package.json')]);
  assert.match(inspect.stdout, /stacks +│ stacks +│ stack_trace +│ 4 bytes +│ 1016 bytes \(127 frames, set by ecli\) +│ 10240 /);

  const caller = getppidCaller(t);
  const ecli = await startEcliFor(t, ['run', '-j', '--time', 'none', path.join(out, 'package.json'), '--target_pid', String(caller.pid)]);
  caller.call();
  const row = JSON.parse(await ecli.waitForLine(jsonLine((r) => r.pid === caller.pid))) as { stack_id: number };
  assert.ok(row.stack_id >= 0, `a stack id, not an error (${row.stack_id})`);
  caller.end();
  await stopAndCheckUnloaded(ecli, 'SIGINT', ['on_getppid']);
});

test('an iterator prints the tasks once and the run ends by itself; --interval repeats it', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const out = tempDir(t);
  const compiled = ecc([path.join(fixtures, 'tasks.bpf.c'), '-o', out]);
  assert.equal(compiled.status, 0, compiled.stderr);
  const sleeper = startHelper(t, 'sleep', ['60'], { stdio: 'ignore' });
  const inspect = runTool(ecliPath, ['inspect', path.join(out, 'package.json')]);
  assert.match(inspect.stdout, /^Prints {2}list_tasks: the text of the iterator, once \(or every --interval\)$/m);

  const once = runTool(ecliPath, ['run', path.join(out, 'package.json')]);
  assert.equal(once.status, 0, once.stderr);
  const lines = once.stdout.split('\n');
  assert.equal(lines[0], 'PID COMM');
  assert.ok(lines.includes(`${sleeper.pid} sleep`), `the task list names our sleep ${sleeper.pid}:\n${once.stdout.slice(0, 2000)}`);
  assert.match(once.stderr, /^ecli: printed 1 iterator snapshot in \d+\.\d{3} s; 0 lost, 0 malformed, 0 dropped$/m);
  assert.doesNotMatch(once.stderr, /press Ctrl-C/);

  const repeated = runTool(ecliPath, ['run', '-j', '--interval', '200ms', '--count', '2', path.join(out, 'package.json')]);
  assert.equal(repeated.status, 0, repeated.stderr);
  const rows = repeated.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { iterator: string; line: string; timestamp: string });
  assert.ok(
    rows.every((r) => r.iterator === 'list_tasks' && typeof r.timestamp === 'string'),
    'each line names its iterator',
  );
  assert.equal(rows.filter((r) => r.line === 'PID COMM').length, 2, 'two snapshots');
  assert.equal(rows.filter((r) => r.line === `${sleeper.pid} sleep`).length, 2);
  assert.match(repeated.stderr, /printed 2 iterator snapshots in /);
});

test('a section this libbpf does not know yet is refused before loading, naming the libbpf release it needs', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const dir = tempDir(t);
  // fsession/ came with libbpf 1.7: ecc knows it, the libbpf here (1.1 to 1.5) does not.
  const source = sourceWith(dir, ['fsession/do_unlinkat']);
  const compiled = ecc([source, '-o', dir]);
  assert.equal(compiled.status, 0, compiled.stderr);
  const run = runTool(ecliPath, ['run', path.join(dir, 'package.json')]);
  assert.equal(run.status, 11, run.stderr);
  assert.match(run.stderr, /^ecli: error: program prog0: SEC\("fsession\/do_unlinkat"\) needs libbpf 1\.7 or newer, and ecli loaded libbpf 1\.\d \(\S+\)$/m);
  assert.doesNotMatch(run.stderr, /ksym|BTF/);
});

test('ECLI_LIBBPF loads the libbpf it names: ecli -v says which release and file, and the iterator runs on libbpf 1.1', (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const old = libbpf11(t);
  if (old === undefined) return;
  const out = tempDir(t);
  assert.equal(ecc([path.join(fixtures, 'tasks.bpf.c'), '-o', out]).status, 0);
  const run = runTool(ecliPath, ['run', '-v', path.join(out, 'package.json')], { env: { ECLI_LIBBPF: old.library } });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(run.stderr.includes(`ecli: libbpf 1.1 (${old.library})\n`), run.stderr.slice(0, 2000));
  assert.match(run.stdout, /^PID COMM\n/);
  const missing = runTool(ecliPath, ['run', path.join(out, 'package.json')], { env: { ECLI_LIBBPF: path.join(out, 'no-such-libbpf.so.1') } });
  assert.equal(missing.status, 11);
  assert.match(missing.stderr, /^ecli: error: ECLI_LIBBPF=\S+no-such-libbpf\.so\.1 cannot be loaded: /m);
});

test('ecli names the closest tracepoint when a package attaches to one the kernel lacks (#28.7)', (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const dir = tempDir(t);
  // Built for another kernel, as the opt-out allows: ecli is the one to say what is wrong here.
  const compiled = ecc([sourceWith(dir, ['tp/syscalls/sys_enter_opnat']), '-o', dir, '-a', '-Wno-unknown-tracepoint']);
  assert.equal(compiled.status, 0, compiled.stderr);
  const run = runTool(ecliPath, ['run', path.join(dir, 'package.json')]);
  assert.equal(run.status, 8, run.stderr);
  assert.match(
    run.stderr,
    /^ecli: error: cannot attach program prog0 \(tp\/syscalls\/sys_enter_opnat\): tracepoint syscalls\/sys_enter_opnat does not exist on this kernel \(did you mean SEC\("tp\/syscalls\/sys_enter_openat"\)\?\)$/m,
  );
});

test('a plain SEC("tc") program without @tcopts gets a TCX link on libbpf 1.1 and on 1.4 alike', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['unshare', 'nsenter', 'ip'])) return;
  const dir = tempDir(t);
  // libbpf 1.4's bpf_program__attach_tcx takes the attach type from the section, which `tc` leaves 0 (EINVAL).
  const source = path.join(dir, 'plain_tc.bpf.c');
  writeFileSync(
    source,
    '#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\nSEC("tc")\nint pass_all(struct __sk_buff *skb) { return 0; }\nchar LICENSE[] SEC("license") = "GPL";\n',
  );
  assert.equal(ecc([source, '-o', dir]).status, 0);
  const netns = await privateNetns(t);
  const old = libbpf11(t);
  for (const env of [{}, ...(old === undefined ? [] : [{ ECLI_LIBBPF: old.library }])]) {
    const run = netns.run(ecliPath, ['run', '--duration', '300ms', path.join(dir, 'package.json')], { env });
    assert.equal(run.status, 0, `${JSON.stringify(env)}\n${run.stderr}`);
    assert.match(run.stderr, /1 program attached/);
  }
});

test('a source declaring a kfunc its own way compiles without vmlinux.h’s kfunc prototypes; one redefining a kernel type is told so', async (t) => {
  if (!haveToolchain(t)) return;
  const vmlinux = await ensureVmlinuxHeader();
  const kfunc = /^extern \w[^;(]*\b(bpf_\w+)\((.*)\) __weak __ksym;$/m.exec(readFileSync(vmlinux.path, 'utf8'));
  if (kfunc === null) return skipUnlessCi(t, 'this bpftool writes no kfunc prototypes into vmlinux.h (bpftool < 7.4)');
  const dir = tempDir(t);
  // The same kfunc, declared as an older header would: returning long instead of what the kernel says.
  const own = sourceWith(dir, ['tp/syscalls/sys_enter_getppid'], `extern long ${kfunc[1]}(${kfunc[2]}) __ksym __weak;\n`);
  const compiled = ecc([own, '-o', dir]);
  assert.equal(compiled.status, 0, compiled.stderr);
  assert.match(compiled.stderr, new RegExp(`declares the kfuncs ${kfunc[1]} otherwise than vmlinux\\.h: compiling again with -DBPF_NO_KFUNC_PROTOTYPES`));

  const redefined = sourceWith(dir, ['tp/syscalls/sys_enter_getppid'], 'struct bpf_iter_num { int mine; };\n');
  const refused = ecc([redefined, '-o', dir]);
  assert.equal(refused.status, 10, refused.stderr);
  assert.match(refused.stderr, /^hint: bpf_iter_num is defined both by the source's headers and by this kernel's vmlinux\.h /m);
  assert.doesNotMatch(refused.stderr, /fix the errors above/);
});

test('kernel values of a feature this kernel lacks (sched_ext on a kernel without it) are named as such, not as errors to fix', (t) => {
  if (!haveToolchain(t)) return;
  const dir = tempDir(t);
  // A family of enum values no kernel has, standing in for SCX_* on a kernel built without sched_ext.
  const source = sourceWith(dir, [], 'SEC("tp/syscalls/sys_enter_getppid")\nint p(void *ctx) { return ECLITEST_FEATURE_ON + ECLITEST_FEATURE_OFF; }\n');
  const run = ecc([source, '-o', dir]);
  assert.equal(run.status, 10, run.stderr);
  assert.match(
    run.stderr,
    /^hint: ECLITEST_FEATURE_ON, ECLITEST_FEATURE_OFF: this kernel's BTF \(vmlinux\.h\) has no ECLITEST_\* names at all, so it was built without the feature they belong to; /m,
  );
});
