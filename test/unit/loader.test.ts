import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachKindOf, attachTargetOf, tracepointOf, uprobeTargetOf, usesTrampoline } from '../../src/model/attach-kind.js';
import { describeErrno, errnoName } from '../../src/loader/ffi/errno.js';
import { parseElf } from '../../src/elf/elf.js';
import { btfNeedsOf } from '../../src/model/btf-needs.js';
import { encodePerfEventAttr, resolvePerfEvent } from '../../src/model/perf-event.js';
import { parseCpuList } from '../../src/loader/probe.js';

import { fixtureElf, readFixturePackage } from '../helpers/fixtures.js';

test('section names map to libbpf attach kinds', () => {
  const cases: [string, string][] = [
    ['tp/sched/sched_process_exec', 'tracepoint'],
    ['tracepoint/syscalls/sys_enter_execve', 'tracepoint'],
    ['raw_tp/sched_switch', 'raw_tracepoint'],
    ['raw_tracepoint.w/sched_switch', 'raw_tracepoint'],
    ['tp_btf/sched_wakeup', 'tp_btf'],
    ['fentry/do_unlinkat', 'fentry'],
    ['fentry.s/do_unlinkat', 'fentry'],
    ['fexit/do_unlinkat', 'fexit'],
    ['fmod_ret/security_file_open', 'fmod_ret'],
    ['lsm/socket_connect', 'lsm'],
    ['lsm.s/file_open', 'lsm'],
    ['kprobe/do_unlinkat', 'kprobe'],
    ['kprobe', 'kprobe'],
    ['ksyscall/kill', 'kprobe'],
    ['kretprobe/do_unlinkat', 'kretprobe'],
    ['kretsyscall/kill', 'kretprobe'],
    ['uprobe//bin/bash:readline', 'uprobe'],
    ['uretprobe//bin/bash:readline', 'uretprobe'],
    ['usdt/libc.so.6:libc:setjmp', 'usdt'],
    ['xdp', 'xdp'],
    ['xdp.frags', 'xdp'],
    ['tc', 'tc'],
    ['classifier', 'tc'],
    ['tcx/ingress', 'tcx'],
    ['perf_event', 'perf_event'],
    ['iter/task', 'iter'],
    ['socket', 'other'],
    ['cgroup_skb/ingress', 'other'],
    ['tpx/a/b', 'other'],
    ['constructor', 'other'],
  ];
  for (const [section, kind] of cases) assert.equal(attachKindOf(section), kind, section);
});

test('only fentry, fexit, fmod_ret and lsm use trampolines', () => {
  assert.deepEqual((['fentry', 'fexit', 'fmod_ret', 'lsm', 'tp_btf', 'tracepoint', 'kprobe', 'raw_tracepoint'] as const).filter(usesTrampoline), [
    'fentry',
    'fexit',
    'fmod_ret',
    'lsm',
  ]);
});

test('tracepoint and uprobe targets are read from the section', () => {
  assert.deepEqual(tracepointOf('tp/sched/sched_process_exec'), { category: 'sched', name: 'sched_process_exec' });
  assert.deepEqual(tracepointOf('tracepoint/syscalls/sys_enter_openat'), { category: 'syscalls', name: 'sys_enter_openat' });
  assert.equal(tracepointOf('tp/sched'), undefined);
  assert.equal(tracepointOf('raw_tp/sched_switch'), undefined);
  assert.deepEqual(uprobeTargetOf('uretprobe//bin/bash:readline'), { binary: '/bin/bash', func: 'readline' });
  assert.deepEqual(uprobeTargetOf('uprobe/./target:add+0x10'), { binary: './target', func: 'add+0x10' });
  assert.deepEqual(uprobeTargetOf('uprobe.s/libc.so.6:malloc'), { binary: 'libc.so.6', func: 'malloc' });
  assert.equal(uprobeTargetOf('uprobe'), undefined);
});

test('errno numbers get their names, either sign', () => {
  assert.equal(errnoName(95), 'EOPNOTSUPP');
  assert.equal(errnoName(-2), 'ENOENT');
  assert.equal(errnoName(1), 'EPERM');
  assert.equal(errnoName(7), 'E2BIG');
  assert.equal(errnoName(524), 'ENOTSUPP');
  assert.equal(errnoName(110), 'ETIMEDOUT'); // not in the table: from node's list
  assert.equal(errnoName(4242), 'errno 4242');
  assert.equal(describeErrno(-13), 'EACCES (permission denied)');
  assert.equal(describeErrno(4242), 'errno 4242');
});

test('CPU lists parse like the kernel writes them', () => {
  assert.deepEqual(parseCpuList('0-1\n'), [0, 1]);
  assert.deepEqual(parseCpuList('0'), [0]);
  assert.deepEqual(parseCpuList('0-2,5,7-8'), [0, 1, 2, 5, 7, 8]);
  assert.throws(() => parseCpuList('zero'), { code: 'INTERNAL' });
});

test('perf_event meta: defaults, inferred types and bad values', () => {
  assert.deepEqual(resolvePerfEvent(undefined, 'p'), {
    type: 'hardware',
    config: 'cpu-cycles',
    sample: 49,
    freq: true,
    explicit: false,
  });
  assert.deepEqual(resolvePerfEvent({ config: 'task-clock', sample_period: 1000 }, 'p'), {
    type: 'software',
    config: 'task-clock',
    sample: 1000,
    freq: false,
    explicit: true,
  });
  assert.equal(resolvePerfEvent({ type: 'software' }, 'p').config, 'cpu-clock');
  assert.equal(resolvePerfEvent({ type: 'hardware' }, 'p').explicit, true);
  assert.throws(() => resolvePerfEvent({ config: 'cycles-of-doom' }, 'on_sample'), {
    code: 'PACKAGE_INVALID',
    message: /program on_sample: perf_event config "cycles-of-doom" is not a hardware event/,
  });
  assert.throws(() => resolvePerfEvent({ type: 'software', config: 'instructions' }, 'p'), { code: 'PACKAGE_INVALID' });
  assert.throws(() => resolvePerfEvent({ sample_freq: 10, sample_period: 10 }, 'p'), { code: 'PACKAGE_INVALID' });
  assert.throws(() => resolvePerfEvent({ sample_freq: 0 }, 'p'), { code: 'PACKAGE_INVALID' });
});

test('perf_event_attr bytes follow linux/perf_event.h', () => {
  const freq = encodePerfEventAttr(resolvePerfEvent({ type: 'software', config: 'task-clock', sample_freq: 99 }, 'p'));
  assert.equal(freq.length, 128);
  assert.equal(freq.readUInt32LE(0), 1); // PERF_TYPE_SOFTWARE
  assert.equal(freq.readUInt32LE(4), 128);
  assert.equal(freq.readBigUInt64LE(8), 1n); // PERF_COUNT_SW_TASK_CLOCK
  assert.equal(freq.readBigUInt64LE(16), 99n);
  assert.equal(freq.readBigUInt64LE(40), 1n << 10n); // the freq bit
  const period = encodePerfEventAttr(resolvePerfEvent({ config: 'instructions', sample_period: 100000 }, 'p'));
  assert.equal(period.readUInt32LE(0), 0); // PERF_TYPE_HARDWARE
  assert.equal(period.readBigUInt64LE(8), 1n);
  assert.equal(period.readBigUInt64LE(16), 100000n);
  assert.equal(period.readBigUInt64LE(40), 0n);
});

test('kernel BTF is needed for CO-RE relocations and BTF-attached programs', () => {
  const needs = (name: string, section: string) => {
    return btfNeedsOf(parseElf(fixtureElf(readFixturePackage(name))), [{ name: 'p', section }]);
  };
  assert.deepEqual(needs('bootstrap.json', 'tp/sched/sched_process_exec'), { kernelBtf: true, reasons: ['CO-RE relocations'] });
  assert.equal(needs('simple_prog_5_xdp.json', 'xdp').kernelBtf, true); // it has CO-RE relocations
  assert.deepEqual(needs('minimal_printk.json', 'tp/syscalls/sys_enter_write'), { kernelBtf: false, reasons: [] });
  assert.deepEqual(needs('minimal_printk.json', 'fentry/do_unlinkat'), { kernelBtf: true, reasons: ['fentry program p'] });
});

test('the attach target is what follows the first slash of the section', () => {
  assert.equal(attachTargetOf('tp/sched/sched_process_exec'), 'sched/sched_process_exec');
  assert.equal(attachTargetOf('uprobe//bin/bash:readline'), '/bin/bash:readline');
  assert.equal(attachTargetOf('xdp'), '');
});
