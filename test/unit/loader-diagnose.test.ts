/** Failure diagnosis from recorded libbpf messages (captured on Linux 6.18 with libbpf 1.1.2). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AttachFacts,
  type LoadFacts,
  type LoadFailure,
  type ProgramIdentity,
  diagnoseAttachFailure,
  diagnoseLoadFailure,
  verifierLogOf,
} from '../../src/loader/diagnose.js';
import { summarizeVerifierLog } from '../../src/loader/verifier-log.js';

const VERIFIER_LOG = [
  '0: R1=ctx() R10=fp0',
  '; int bad_read(struct trace_event_raw_sys_enter *ctx) { int *p = (int *)(long)ctx->args[0]; return *p; } @ bad.bpf.c:4',
  '0: (79) r1 = *(u64 *)(r1 +16)         ; R1=scalar()',
  '1: (61) r0 = *(u32 *)(r1 +0)',
  "R1 invalid mem access 'scalar'",
  'processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
  '',
].join('\n');

const BAD_READ_WARNINGS = [
  "libbpf: prog 'bad_read': BPF program load failed: Permission denied",
  `libbpf: prog 'bad_read': -- BEGIN PROG LOAD LOG --\n${VERIFIER_LOG}-- END PROG LOAD LOG --`,
  "libbpf: prog 'bad_read': failed to load: -13",
  "libbpf: failed to load object 'bad'",
];

const FENTRY_WARNINGS = [
  "libbpf: prog 'do_unlinkat': BPF program load failed: Operation not permitted",
  "libbpf: permission error while running as root; try raising 'ulimit -l'? current value: 8.0 MiB",
  "libbpf: prog 'do_unlinkat': failed to load: -1",
  "libbpf: failed to load object 'fentry'",
];

const program = (name: string, sectionName: string, kind: ProgramIdentity['kind']): ProgramIdentity => ({ name, sectionName, kind });

const rootFacts = (over: Partial<LoadFacts> = {}): LoadFacts => ({
  capabilities: () => ({ euid: 0, effective: 0x1ffffffffffn }),
  trampolines: () => 'refused',
  bpfLsm: () => undefined,
  lockdown: () => 'none',
  ...over,
});

const failure = (over: Partial<LoadFailure>): LoadFailure => ({
  objectName: 'obj',
  error: -1,
  warnings: [],
  programs: [],
  maps: [],
  ...over,
});

test('the verifier summary is the last line before the statistics, and the C line it concerns', () => {
  assert.deepEqual(summarizeVerifierLog(VERIFIER_LOG), {
    line: "R1 invalid mem access 'scalar'",
    source: { code: 'int bad_read(struct trace_event_raw_sys_enter *ctx) { int *p = (int *)(long)ctx->args[0]; return *p; }', location: 'bad.bpf.c:4' },
    lines: 6,
  });
  assert.deepEqual(summarizeVerifierLog('only line\n'), { line: 'only line', source: undefined, lines: 1 });
  // Kernels before 6.x annotate without the location; an empty annotation is no source line.
  assert.deepEqual(summarizeVerifierLog(';  @ x.c:0\n; *v += 1;\n3: (79) r1 = *(u64 *)(r0 +0)\nR0 invalid mem access\n'), {
    line: 'R0 invalid mem access',
    source: { code: '*v += 1;', location: undefined },
    lines: 4,
  });
  assert.equal(verifierLogOf('bad_read', BAD_READ_WARNINGS), VERIFIER_LOG);
  assert.equal(verifierLogOf('other', BAD_READ_WARNINGS), undefined);
});

test('a verifier rejection names the program and keeps the whole log as detail', () => {
  const error = diagnoseLoadFailure(
    failure({
      error: -13,
      warnings: BAD_READ_WARNINGS,
      programs: [program('bad_read', 'tp/syscalls/sys_enter_getppid', 'tracepoint')],
    }),
    rootFacts(),
  );
  assert.equal(error.code, 'LOAD_FAILED');
  assert.equal(
    error.message,
    "program bad_read (tp/syscalls/sys_enter_getppid): the verifier rejected it (EACCES): R1 invalid mem access 'scalar' at bad.bpf.c:4 `int bad_read(struct trace_event_raw_sys_enter *ctx) { int *p = (int *)(long)ctx->args[0]; return *p; }`",
  );
  assert.equal(error.hint, "fix the program and recompile it; rerun with --verbose for the verifier's full log (6 lines)");
  assert.equal(error.detail, VERIFIER_LOG);
});

test('EPERM with an empty log for an fentry program is diagnosed from the trampoline probe', () => {
  const fentry = failure({ error: -1, warnings: FENTRY_WARNINGS, programs: [program('do_unlinkat', 'fentry/do_unlinkat', 'fentry')] });
  const refused = diagnoseLoadFailure(fentry, rootFacts());
  assert.equal(refused.code, 'KERNEL_UNSUPPORTED');
  assert.equal(refused.message, 'program do_unlinkat (fentry/do_unlinkat): this kernel refuses BPF trampolines (fentry/fexit/LSM programs), even for root');
  assert.doesNotMatch(`${refused.message} ${refused.hint} ${refused.detail}`, /ulimit/);

  const allowed = diagnoseLoadFailure(fentry, rootFacts({ trampolines: () => 'allowed' }));
  assert.equal(allowed.code, 'LOAD_FAILED');
  assert.match(allowed.message, /^program do_unlinkat \(fentry\/do_unlinkat\): the kernel refused to load it: EPERM/);
  assert.doesNotMatch(allowed.message, /ulimit/);

  const unprivileged = diagnoseLoadFailure(fentry, rootFacts({ capabilities: () => ({ euid: 1000, effective: 0n }) }));
  assert.equal(unprivileged.code, 'PERMISSION');
  assert.equal(unprivileged.message, 'loading BPF needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); this process (uid 1000) lacks CAP_BPF and CAP_PERFMON');
  assert.equal(unprivileged.hint, 'run it with sudo');
});

test('an lsm program on a kernel without BPF LSM says how to enable it', () => {
  const warnings = FENTRY_WARNINGS.map((w) => w.replaceAll('do_unlinkat', 'restrict_connect'));
  const lsm = failure({ error: -1, warnings, programs: [program('restrict_connect', 'lsm/socket_connect', 'lsm')] });
  const disabled = diagnoseLoadFailure(lsm, rootFacts({ bpfLsm: () => false }));
  assert.equal(disabled.code, 'KERNEL_UNSUPPORTED');
  assert.match(disabled.message, /^program restrict_connect \(lsm\/socket_connect\): BPF LSM is not enabled/);
  assert.match(disabled.hint ?? '', /lsm=.*bpf/);
  assert.match(diagnoseLoadFailure(lsm, rootFacts({ bpfLsm: () => true })).message, /refuses BPF trampolines/);
});

test('map creation failures: ring buffers on old kernels, others as load failures', () => {
  const ringbuf = diagnoseLoadFailure(
    failure({
      error: -22,
      warnings: ["libbpf: map 'rb': failed to create: Invalid argument(-22)", "libbpf: failed to load object 'client_bpf'"],
      maps: [{ name: 'rb', typeName: 'ringbuf' }],
    }),
    rootFacts(),
  );
  assert.equal(ringbuf.code, 'KERNEL_UNSUPPORTED');
  assert.equal(ringbuf.hint, 'ring buffers need Linux 5.8+');
  const hash = diagnoseLoadFailure(
    failure({
      error: -7,
      warnings: ["libbpf: map 'big': failed to create: Argument list too long(-7)"],
      maps: [{ name: 'big', typeName: 'hash' }],
    }),
    rootFacts(),
  );
  assert.equal(hash.code, 'LOAD_FAILED');
  assert.equal(hash.message, 'cannot create map big: Argument list too long(-7)');
});

test('a missing kernel BTF points at BTF_FILE_PATH', () => {
  const error = diagnoseLoadFailure(
    failure({ error: -3, warnings: ['libbpf: failed to find valid kernel BTF', "libbpf: failed to load object 'x'"] }),
    rootFacts(),
  );
  assert.equal(error.code, 'KERNEL_UNSUPPORTED');
  assert.match(error.hint ?? '', /BTF_FILE_PATH/);
});

test('what the kernel lacks from its BTF is named: a struct_ops type, a kfunc; a kfunc declared otherwise is the source', () => {
  // libbpf 1.4.6's messages for the tutorial's struct_ops, lesson 53 and lesson 43 on Linux 6.18.
  const structOps = diagnoseLoadFailure(
    failure({
      objectName: 'struct_ops_bpf',
      error: -22,
      warnings: [
        "libbpf: object 'struct_ops_bpf': failed (-22) to create BPF token from '/sys/fs/bpf', skipping optional step...",
        'libbpf: struct_ops init_kern: struct bpf_testmod_ops is not found in kernel BTF',
        "libbpf: failed to load object 'struct_ops_bpf'",
      ],
    }),
    rootFacts(),
  );
  assert.equal(structOps.code, 'KERNEL_UNSUPPORTED');
  assert.equal(
    structOps.message,
    'cannot load struct_ops_bpf: its struct_ops map implements struct bpf_testmod_ops, which neither the kernel nor a loaded module defines',
  );
  assert.doesNotMatch(`${structOps.message} ${structOps.hint}`, /usable BTF|BTF_FILE_PATH/);
  assert.match(structOps.hint ?? '', /bpf_testmod/);

  const kfunc = diagnoseLoadFailure(
    failure({ objectName: 'egress_pacer_bpf', error: -22, warnings: ["libbpf: extern (func ksym) 'bpf_kfree_skb': not found in kernel or module BTFs"] }),
    rootFacts(),
  );
  assert.equal(kfunc.code, 'KERNEL_UNSUPPORTED');
  assert.equal(kfunc.message, 'cannot load egress_pacer_bpf: this kernel has no kfunc bpf_kfree_skb (in vmlinux or a loaded module)');
  assert.match(kfunc.hint ?? '', /__weak and checks bpf_ksym_exists\(bpf_kfree_skb\)/);

  const prototype = diagnoseLoadFailure(
    failure({ objectName: 'kfunc_bpf', error: -22, warnings: ["libbpf: extern (func ksym) 'bpf_strstr': func_proto [5] incompatible with vmlinux [65228]"] }),
    rootFacts(),
  );
  assert.equal(prototype.code, 'LOAD_FAILED');
  assert.equal(prototype.message, "cannot load kfunc_bpf: the source declares kfunc bpf_strstr with another prototype than this kernel's (vmlinux)");
});

test('an unbounded access in code with 32-bit arithmetic (-mcpu=v3+) says so and how to bound it', () => {
  // Lesson 27's find_possible_addrs: verified when compiled for v2, not for v3 (libbpf 1.4.6, Linux 6.18).
  const log = [
    '; bpf_probe_read(&local_buff, read_size, (void*)buff_addr); @ replace.bpf.c:207',
    '41: (85) call bpf_probe_read#4',
    "R2 unbounded memory access, use 'var &= const' or 'if (var < const)'",
    'processed 48 insns (limit 1000000) max_states_per_insn 0 total_states 3 peak_states 3 mark_read 2',
    '',
  ].join('\n');
  const warnings = [
    "libbpf: prog 'find_possible_addrs': BPF program load failed: Permission denied",
    `libbpf: prog 'find_possible_addrs': -- BEGIN PROG LOAD LOG --\n${log}-- END PROG LOAD LOG --`,
  ];
  const identity = program('find_possible_addrs', 'tp/syscalls/sys_exit_read', 'tracepoint');
  const narrow = diagnoseLoadFailure(failure({ error: -13, warnings, programs: [{ ...identity, narrowArithmetic: true }] }), rootFacts());
  assert.match(narrow.hint ?? '', /computes in 32-bit registers, as clang does for -mcpu=v3 and later.*ecc -a -mcpu=v2/);
  const wide = diagnoseLoadFailure(failure({ error: -13, warnings, programs: [{ ...identity, narrowArithmetic: false }] }), rootFacts());
  assert.doesNotMatch(wide.hint ?? '', /32-bit/);
});

test('a CO-RE relocation that fails is blamed on the BTF that lacks the type, not on the program', () => {
  // Lesson 38's uprobe on a user-space struct, without that program's BTF (libbpf 1.4.6, Linux 6.18).
  const log = [
    '0: R1=ctx() R10=fp0',
    '; int BPF_UPROBE(add_test, struct data *d) @ uprobe.bpf.c:23',
    '0: (79) r6 = *(u64 *)(r1 +112)        ; R1=ctx() R6=scalar()',
    '1: <invalid CO-RE relocation>',
    'failed to resolve CO-RE relocation <byte_off> [17] struct data.a (0:0 @ offset 0)',
    'processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
    '',
  ].join('\n');
  const warnings = [
    "libbpf: prog 'add_test': BPF program load failed: Invalid argument",
    `libbpf: prog 'add_test': -- BEGIN PROG LOAD LOG --\n${log}-- END PROG LOAD LOG --`,
    "libbpf: prog 'add_test': failed to load: -22",
  ];
  const error = diagnoseLoadFailure(
    failure({ error: -22, warnings, programs: [program('add_test', 'uprobe/examples/btf-base:add_test', 'uprobe')] }),
    rootFacts(),
  );
  assert.equal(error.code, 'LOAD_FAILED');
  assert.match(
    error.message,
    /^program add_test \(uprobe\/examples\/btf-base:add_test\): CO-RE cannot relocate struct data\.a at uprobe\.bpf\.c:23 .*: the target BTF \(the kernel's, or BTF_FILE_PATH's\) has no struct data with a member a$/,
  );
  assert.match(error.hint ?? '', /BTF_FILE_PATH=<file>/);
});

const attachFacts = (over: Partial<AttachFacts> = {}): AttachFacts => ({
  kprobes: () => true,
  tracefs: () => '/sys/kernel/tracing',
  tracepointExists: () => true,
  tracepoints: () => ['sched/sched_process_exec', 'sched/sched_process_exit', 'syscalls/sys_enter_openat', 'syscalls/sys_exit_openat'],
  fileExists: () => true,
  ...over,
});

test('kprobe attach failures on a kernel without kprobes', () => {
  const kprobe = program('do_unlinkat', 'kprobe/do_unlinkat', 'kprobe');
  const warnings = [
    "libbpf: failed to add legacy kprobe event for 'do_unlinkat+0x0': No such file or directory",
    "libbpf: prog 'do_unlinkat': failed to create kprobe 'do_unlinkat+0x0' perf event: No such file or directory",
  ];
  const none = diagnoseAttachFailure({ program: kprobe, errno: 2, warnings }, attachFacts({ kprobes: () => false }));
  assert.equal(none.code, 'KERNEL_UNSUPPORTED');
  assert.equal(none.message, 'program do_unlinkat (kprobe/do_unlinkat): this kernel has no kprobe support (CONFIG_KPROBES is not set)');
  const other = diagnoseAttachFailure({ program: kprobe, errno: 2, warnings }, attachFacts());
  assert.equal(other.code, 'ATTACH_FAILED');
  assert.equal(
    other.message,
    "cannot attach program do_unlinkat (kprobe/do_unlinkat): ENOENT: failed to add legacy kprobe event for 'do_unlinkat+0x0': No such file or directory",
  );
});

test('tracepoint attach failures: no tracefs, or no such tracepoint', () => {
  const tp = program('handle_exec', 'tp/sched/sched_process_nope', 'tracepoint');
  const warnings = ["libbpf: failed to determine tracepoint 'sched/sched_process_nope' perf event ID: No such file or directory"];
  const noTracefs = diagnoseAttachFailure({ program: tp, errno: 2, warnings }, attachFacts({ tracefs: () => undefined }));
  assert.equal(noTracefs.code, 'KERNEL_UNSUPPORTED');
  assert.equal(noTracefs.hint, 'mount -t tracefs tracefs /sys/kernel/tracing');
  const missing = diagnoseAttachFailure({ program: tp, errno: 2, warnings }, attachFacts({ tracepointExists: () => false }));
  assert.equal(missing.code, 'ATTACH_FAILED');
  assert.equal(
    missing.message,
    'cannot attach program handle_exec (tp/sched/sched_process_nope): tracepoint sched/sched_process_nope does not exist on this kernel (did you mean SEC("tp/sched/sched_process_exec")?)',
  );
  // #28.7: a misspelt tracepoint gets the closest one, as options and fields do.
  const misspelt = program('handle_open', 'tracepoint/syscalls/sys_enter_opnat', 'tracepoint');
  const suggested = diagnoseAttachFailure({ program: misspelt, errno: 2, warnings }, attachFacts({ tracepointExists: () => false }));
  assert.equal(
    suggested.message,
    'cannot attach program handle_open (tracepoint/syscalls/sys_enter_opnat): tracepoint syscalls/sys_enter_opnat does not exist on this kernel (did you mean SEC("tracepoint/syscalls/sys_enter_openat")?)',
  );
  const unlisted = diagnoseAttachFailure(
    { program: misspelt, errno: 2, warnings },
    attachFacts({ tracepointExists: () => false, tracepoints: () => undefined }),
  );
  assert.doesNotMatch(unlisted.message, /did you mean/);
});

test('uprobe attach failures name the binary and the function', () => {
  const up = program('missing_func', 'uretprobe//bin/bash:no_such_function', 'uretprobe');
  const noSymbol = diagnoseAttachFailure(
    { program: up, errno: 2, warnings: ["libbpf: elf: failed to find symbol 'no_such_function' in '/bin/bash'"] },
    attachFacts(),
  );
  assert.equal(
    noSymbol.message,
    "cannot attach program missing_func (uretprobe//bin/bash:no_such_function): cannot probe no_such_function in /bin/bash: ENOENT: elf: failed to find symbol 'no_such_function' in '/bin/bash'",
  );
  const noBinary = diagnoseAttachFailure({ program: up, errno: 2, warnings: [] }, attachFacts({ fileExists: () => false }));
  assert.equal(noBinary.message, 'cannot attach program missing_func (uretprobe//bin/bash:no_such_function): /bin/bash does not exist');
});

test('sections libbpf cannot auto-attach are named', () => {
  const error = diagnoseAttachFailure({ program: program('on_packet', 'socket', 'other'), errno: 95, warnings: [] }, attachFacts());
  assert.equal(error.code, 'ATTACH_FAILED');
  assert.equal(error.message, 'cannot attach program on_packet (socket): libbpf cannot attach "socket" programs by itself');
});

test('usdt attach failures name the binary, and the probe when the binary lacks it', () => {
  const usdt = program('on_request', 'usdt//tmp/target:ecli:nosuch', 'usdt');
  const noProbe = diagnoseAttachFailure({ program: usdt, errno: 2, warnings: [] }, attachFacts());
  assert.equal(noProbe.message, 'cannot attach program on_request (usdt//tmp/target:ecli:nosuch): /tmp/target has no USDT probe ecli:nosuch');
  assert.match(noProbe.hint ?? '', /readelf -n \/tmp\/target/);
  const noBinary = diagnoseAttachFailure(
    { program: usdt, errno: 2, warnings: ["libbpf: usdt: failed to open ELF binary '/tmp/target': -2"] },
    attachFacts({ fileExists: () => false }),
  );
  assert.equal(noBinary.message, 'cannot attach program on_request (usdt//tmp/target:ecli:nosuch): /tmp/target does not exist');
});

/** A tracepoint program calling bpf_probe_write_user, as Linux 6.18 (lockdown integrity) logs it. */
const WRITE_USER_LOG = [
  '0: R1=ctx() R10=fp0',
  '; bpf_probe_write_user((void *)0x1000, &value, sizeof(value)); @ pwu.bpf.c:7',
  '6: (85) call bpf_probe_write_user#36',
  'program of this type cannot use helper bpf_probe_write_user#36',
  'processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
  '',
].join('\n');

test('a helper the kernel withholds: the lockdown level when it is the reason, else the program type', () => {
  const writeUser = failure({
    error: -22,
    warnings: [
      "libbpf: prog 'write_user': BPF program load failed: Invalid argument",
      `libbpf: prog 'write_user': -- BEGIN PROG LOAD LOG --\n${WRITE_USER_LOG}-- END PROG LOAD LOG --`,
      "libbpf: prog 'write_user': failed to load: -22",
    ],
    programs: [program('write_user', 'tp/syscalls/sys_enter_getppid', 'tracepoint')],
  });
  const locked = diagnoseLoadFailure(writeUser, rootFacts({ lockdown: () => 'integrity' }));
  assert.equal(locked.code, 'KERNEL_UNSUPPORTED');
  assert.equal(
    locked.message,
    'program write_user (tp/syscalls/sys_enter_getppid): this kernel refuses the helper bpf_probe_write_user: its lockdown is "integrity" (/sys/kernel/security/lockdown), which forbids BPF writes to user memory, even for root',
  );
  assert.equal(locked.detail, WRITE_USER_LOG);
  for (const lockdown of [() => 'none' as const, () => undefined]) {
    const notLocked = diagnoseLoadFailure(writeUser, rootFacts({ lockdown }));
    assert.equal(notLocked.code, 'LOAD_FAILED');
    assert.equal(
      notLocked.message,
      'program write_user (tp/syscalls/sys_enter_getppid): the kernel does not let tracepoint programs call the helper bpf_probe_write_user',
    );
  }
});
