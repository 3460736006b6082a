/**
 * The loader against the real kernel (root): fixtures compiled by the reference ecc, plus
 * small programs compiled here with clang. Kernel-capability expectations are probed, so the
 * same tests hold on kernels that allow what this one refuses.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { ensureVmlinuxHeader } from '../../src/compiler/vmlinux.js';
import { findExecutable } from '../../src/compiler/process.js';
import { EcliError } from '../../src/errors.js';
import { PerfBufferReader, RingBufferReader } from '../../src/loader/buffers.js';
import { type AttachMeta, type LoadedObject, OpenedObject } from '../../src/loader/object.js';
import { ensureTracefs, hasKprobes, probeTrampolines } from '../../src/loader/probe.js';
import { TracePipeReader } from '../../src/loader/trace-pipe.js';
import { native } from '../../src/loader/ffi/libbpf.js';
import { resolvePerfEvent } from '../../src/model/perf-event.js';
import { haveRoot, repoRoot, skipUnlessCi } from '../helpers/env.js';
import { fixtureElf, readFixturePackage } from '../helpers/fixtures.js';

interface Fixture {
  elf: Uint8Array;
  objName: string;
  progs: (AttachMeta & { name: string })[];
}

function fixture(name: string): Fixture {
  const pkg = readFixturePackage(name);
  return {
    elf: fixtureElf(pkg),
    objName: pkg.meta.bpf_skel.obj_name,
    progs: pkg.meta.bpf_skel.progs ?? [],
  };
}

/** Opens, loads and attaches every program with its meta; closes when the test ends. */
function run(t: TestContext, elf: Uint8Array, objName: string, progs: (AttachMeta & { name: string })[] = [], warn?: (m: string) => void): LoadedObject {
  const object = load(t, OpenedObject.open(elf, { objectName: objName, ...(warn ? { warn } : {}) }));
  for (const program of object.programs) {
    object.attach(program, progs.find((p) => p.name === program.name) ?? {});
  }
  return object;
}

/** Loads `opened`; both are closed when the test ends. */
function load(t: TestContext, opened: OpenedObject): LoadedObject {
  t.after(() => opened.close());
  const object = opened.load();
  t.after(() => object.close());
  return object;
}

const int32At = (bytes: Uint8Array, offset: number) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(offset, true);
const u64At = (bytes: Uint8Array, offset: number) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, true);

/** Polls until `done()` or the deadline. */
function pollUntil(reader: { poll(ms: number): number }, done: () => boolean, deadlineMs = 3000): void {
  const start = Date.now();
  while (!done() && Date.now() - start < deadlineMs) reader.poll(50);
}

function spawnTrue(count: number): number[] {
  return Array.from({ length: count }, () => spawnSync('/bin/true').pid!);
}

/** Program ids the kernel lists under the given names (bpftool shows at most 15 characters). */
function kernelProgramIds(names: string[]): Set<number> {
  const short = new Set(names.map((name) => name.slice(0, 15)));
  const list = JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as { id: number; name?: string }[];
  return new Set(list.filter((p) => p.name !== undefined && short.has(p.name)).map((p) => p.id));
}

let buildDir: string | undefined;
let includeDir: string | undefined;

before(async () => {
  if (process.getuid?.() !== 0) return;
  ensureTracefs();
  if (!findExecutable(['clang']) || !findExecutable(['bpftool'])) return;
  includeDir = (await ensureVmlinuxHeader()).dir;
  buildDir = mkdtempSync(path.join(tmpdir(), 'loader-test-'));
});

after(() => {
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

/** Compiles BPF C (a file, or source text) with clang; undefined (test skipped) without a toolchain. */
function compile(t: TestContext, name: string, source: { file: string } | { text: string }): Uint8Array | undefined {
  if (!buildDir || !includeDir) {
    skipUnlessCi(t, 'needs clang and bpftool to compile BPF programs');
    return undefined;
  }
  const input = 'file' in source ? source.file : path.join(buildDir, `${name}.bpf.c`);
  if ('text' in source) writeFileSync(input, source.text);
  const output = path.join(buildDir, `${name}.bpf.o`);
  execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', `-I${includeDir}`, '-c', input, '-o', output]);
  return readFileSync(output);
}

const HEADERS = '#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\n';
const LICENSE = 'char LICENSE[] SEC("license") = "GPL";\n';

test('bootstrap (ecc fixture): exec events arrive through the ring buffer, and close() unloads', (t) => {
  if (!haveRoot(t)) return;
  const { elf, objName, progs } = fixture('bootstrap.json');
  const names = ['handle_exec', 'handle_exit'];
  const before = kernelProgramIds(names);
  const opened = OpenedObject.open(elf, { objectName: objName });
  assert.deepEqual(
    opened.programs.map((p) => [p.name, p.sectionName, p.kind]),
    [
      ['handle_exec', 'tp/sched/sched_process_exec', 'tracepoint'],
      ['handle_exit', 'tp/sched/sched_process_exit', 'tracepoint'],
    ],
  );
  const object = load(t, opened);
  for (const program of object.programs)
    object.attach(
      program,
      progs.find((p) => p.name === program.name),
    );
  const ours = [...kernelProgramIds(names)].filter((id) => !before.has(id));
  assert.equal(ours.length, 2, 'bpftool does not list the loaded programs');

  const rb = object.findMap('rb')!;
  assert.equal(rb.typeName, 'ringbuf');
  const records: Uint8Array[] = [];
  const reader = new RingBufferReader(rb, { onRecord: (data, offset, length) => records.push(Buffer.from(data.subarray(offset, offset + length))) });
  const pids = spawnTrue(3);
  pollUntil(reader, () => pids.every((pid) => records.some((r) => int32At(r, 0) === pid)));
  reader.close();
  object.close();

  assert.ok(records.every((r) => r.length === 176));
  for (const pid of pids)
    assert.ok(
      records.some((r) => int32At(r, 0) === pid),
      `no record for pid ${pid}`,
    );
  const left = kernelProgramIds(names);
  assert.deepEqual(
    ours.filter((id) => left.has(id)),
    [],
    'programs left in the kernel after close()',
  );
});

test('execsnoop (examples/): exec events arrive through the perf buffer', (t) => {
  if (!haveRoot(t)) return;
  const elf = compile(t, 'execsnoop', { file: path.join(repoRoot, 'examples/execsnoop/execsnoop.bpf.c') });
  if (!elf) return;
  const object = run(t, elf, 'execsnoop_bpf');
  const events = object.findMap('events')!;
  assert.equal(events.typeName, 'perf_event_array');
  const records: { data: Uint8Array; cpu: number }[] = [];
  const reader = new PerfBufferReader(events, {
    pages: 64,
    onRecord: (data, offset, length, cpu) => records.push({ data: Buffer.from(data.subarray(offset, offset + length)), cpu }),
  });
  t.after(() => reader.close());
  const pids = spawnTrue(3);
  pollUntil(reader, () => pids.every((pid) => records.some((r) => int32At(r.data, 0) === pid)));
  for (const pid of pids) {
    const record = records.find((r) => int32At(r.data, 0) === pid);
    assert.ok(record, `no record for pid ${pid}`);
    assert.equal(record.data.length, 36);
    assert.equal(int32At(record.data, 4), process.pid); // ppid
  }
});

test('a callback that throws fails the poll with its own error', (t) => {
  if (!haveRoot(t)) return;
  const { elf, objName, progs } = fixture('bootstrap.json');
  const object = run(t, elf, objName, progs);
  const reader = new RingBufferReader(object.findMap('rb')!, {
    onRecord: () => {
      throw new Error('decoder broke');
    },
  });
  t.after(() => reader.close());
  spawnTrue(1);
  assert.throws(() => pollUntil(reader, () => false, 2000), { message: 'decoder broke' });
});

test('xdp (ecc fixture): attached to lo while open, gone after close()', (t) => {
  if (!haveRoot(t)) return;
  const { elf, objName, progs } = fixture('simple_prog_5_xdp.json');
  const object = run(t, elf, objName, progs);
  assert.match(execFileSync('ip', ['link', 'show', 'lo'], { encoding: 'utf8' }), /xdp/);
  object.close();
  assert.doesNotMatch(execFileSync('ip', ['link', 'show', 'lo'], { encoding: 'utf8' }), /xdp/);
});

test('tc (ecc fixture): a bpf filter on lo ingress while open, gone (with its qdisc) after close()', (t) => {
  if (!haveRoot(t)) return;
  const qdiscs = () => execFileSync('tc', ['qdisc', 'show', 'dev', 'lo'], { encoding: 'utf8' });
  const filters = () => execFileSync('tc', ['filter', 'show', 'dev', 'lo', 'ingress'], { encoding: 'utf8' });
  const qdiscsBefore = qdiscs();
  const { elf, objName, progs } = fixture('simple_prog_6_tc.json');
  const object = run(t, elf, objName, progs);
  assert.match(filters(), /bpf/);
  assert.match(filters(), /tc_ingress/);
  object.close();
  assert.doesNotMatch(filters(), /bpf/);
  assert.equal(qdiscs(), qdiscsBefore);
});

test('runqlat (ecc fixture): the hists hash map can be walked after some scheduling', async (t) => {
  if (!haveRoot(t)) return;
  const { elf, objName, progs } = fixture('runqlat.json');
  const object = run(t, elf, objName, progs);
  spawnTrue(5);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const hists = object.findMap('hists')!;
  assert.equal(hists.typeName, 'hash');
  assert.equal(hists.valueSize, 26 * 4 + 16);
  assert.ok(hists.btfValueTypeId > 0);
  const entries = hists.entries();
  assert.ok(entries.length >= 1);
  for (const [key, value] of entries) {
    assert.equal(key.length, 4);
    assert.equal(value.length, hists.valueSize);
  }
  const samples = entries.reduce((sum, [, value]) => {
    for (let slot = 0; slot < 26; slot++) sum += new DataView(value.buffer, value.byteOffset).getUint32(slot * 4, true);
    return sum;
  }, 0);
  assert.ok(samples > 0, 'no run-queue latency samples');
  assert.deepEqual(hists.lookup(new Uint8Array([0x78, 0x56, 0x34, 0x12])), undefined);
});

test('maps: lookup, keys, entries, delete and clear on hash, array and per-CPU maps', (t) => {
  if (!haveRoot(t)) return;
  const elf = compile(t, 'maps', {
    text: `${HEADERS}
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, u32); __type(value, u64); } counts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, u32); __type(value, u64); } slots SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u32); } per_cpu SEC(".maps");
const volatile int target_tgid = 0;
u64 calls = 0;
SEC("tp/syscalls/sys_enter_getppid")
int count_getppid(void *ctx) {
  if ((bpf_get_current_pid_tgid() >> 32) != target_tgid) return 0;
  u32 key = calls++ % 3; u64 one = 1, *v = bpf_map_lookup_elem(&counts, &key);
  if (v) __sync_fetch_and_add(v, 1); else bpf_map_update_elem(&counts, &key, &one, BPF_ANY);
  u32 zero = 0; u64 *s = bpf_map_lookup_elem(&slots, &zero); if (s) *s += 1;
  u32 *p = bpf_map_lookup_elem(&per_cpu, &zero); if (p) *p += 1;
  return 0;
}
${LICENSE}`,
  });
  if (!elf) return;
  const opened = OpenedObject.open(elf, { objectName: 'maps_bpf' });
  const rodata = opened.maps.find((m) => m.name.endsWith('.rodata'))!;
  const image = rodata.readInitialValue()!;
  new DataView(image.buffer, image.byteOffset).setInt32(0, process.pid, true);
  rodata.setInitialValue(image);
  assert.throws(() => rodata.setInitialValue(new Uint8Array(image.length + 1)), { code: 'BTF_INVALID' });
  assert.equal(int32At(rodata.readInitialValue()!, 0), process.pid);
  const object = load(t, opened);
  object.attach(object.findProgram('count_getppid')!);

  for (let i = 0; i < 9; i++) void process.ppid; // each read is a getppid(2)
  const key = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
  const counts = object.findMap('counts')!;
  assert.deepEqual(
    counts
      .keys()
      .map((k) => int32At(k, 0))
      .sort(),
    [0, 1, 2],
  );
  assert.deepEqual(
    counts
      .entries()
      .map(([k, v]) => [int32At(k, 0), u64At(v, 0)])
      .sort(),
    [
      [0, 3n],
      [1, 3n],
      [2, 3n],
    ],
  );
  assert.equal(counts.lookup(key(7)), undefined);
  assert.equal(counts.delete(key(1)), true);
  assert.equal(counts.delete(key(1)), false);
  assert.deepEqual(
    counts
      .take()
      .map(([k]) => int32At(k, 0))
      .sort(),
    [0, 2],
  );
  assert.deepEqual(counts.keys(), []);

  const slots = object.findMap('slots')!;
  assert.equal(u64At(slots.lookup(key(0))!, 0), 9n);
  assert.equal(slots.keys().length, 4);
  assert.equal(u64At(slots.take().find(([k]) => int32At(k, 0) === 0)![1], 0), 9n);
  assert.equal(u64At(slots.lookup(key(0))!, 0), 0n);

  const perCpu = object.findMap('per_cpu')!;
  assert.equal(perCpu.perCpu, true);
  const value = perCpu.lookup(key(0))!;
  const cpus = value.length / 8; // u32 values are padded to 8 bytes per possible CPU
  assert.ok(Number.isInteger(cpus) && cpus >= 1);
  let total = 0;
  for (let cpu = 0; cpu < cpus; cpu++) total += int32At(value, cpu * 8);
  assert.equal(total, 9);
});

test('entries() and take() read hash, array and per-CPU maps in batches, the same entries as key by key; an LPM trie (no batch reads) key by key', (t) => {
  if (!haveRoot(t)) return;
  const elf = compile(t, 'batches', {
    text: `${HEADERS}
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10000); __type(key, u32); __type(value, u64); } many SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 5000); __type(key, u32); __type(value, u32); } wide SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 64); __type(key, u64); __type(value, u32); } per_cpu SEC(".maps");
struct lpm_key { u32 prefixlen; u32 addr; };
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 64); __type(key, struct lpm_key); __type(value, u64); __uint(map_flags, BPF_F_NO_PREALLOC); } trie SEC(".maps");
SEC("tp/syscalls/sys_enter_getppid")
int touch(void *ctx) { return 0; }
${LICENSE}`,
  });
  if (!elf) return;
  const object = load(t, OpenedObject.open(elf, { objectName: 'batches_bpf' }));
  const { libbpf } = native();
  const fill = (name: string, count: number, key: (i: number) => Uint8Array, value: (i: number) => Uint8Array) => {
    const map = object.findMap(name)!;
    for (let i = 0; i < count; i++) assert.equal(libbpf.bpf_map_update_elem(map.fd, key(i), value(i), 0), 0, `${name}[${i}]`);
    return map;
  };
  const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
  const u64 = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
  const cpus = libbpf.libbpf_num_possible_cpus();
  const maps = [
    // More entries than one batch (4096) of the hash map.
    fill('many', 10_000, u32, (i) => u64(i * 3)),
    fill('wide', 17, u32, (i) => u32(i + 100)),
    fill('per_cpu', 40, u64, (i) => new Uint8Array(new Uint32Array(cpus * 2).fill(i).buffer)),
    fill('trie', 10, (i) => new Uint8Array(new Uint32Array([32, i]).buffer), u64),
  ];
  const hex = (entries: Array<readonly [Uint8Array, Uint8Array | undefined]>) =>
    entries.map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v ?? []).toString('hex')}`).sort();
  for (const map of maps) {
    const read = map.entries();
    const oneByOne = map.keys().map((k) => [k, map.lookup(k)] as const);
    assert.equal(read.length, { many: 10_000, wide: 5000, per_cpu: 40, trie: 10 }[map.name], map.name);
    assert.deepEqual(hex(read), hex(oneByOne), map.name);
    // take() (clear_map) gives the same entries and leaves nothing behind: hash maps by
    // BPF_MAP_LOOKUP_AND_DELETE_BATCH, the trie key by key, the array zeroed.
    assert.deepEqual(hex(map.take()), hex(read), `${map.name}: take`);
    if (map.name === 'wide') assert.ok(map.entries().every(([, v]) => v.every((byte) => byte === 0)));
    else assert.deepEqual(map.keys(), [], `${map.name}: empty after take`);
  }
});

test('fentry: loads where the kernel allows trampolines, a KERNEL_UNSUPPORTED naming the program where not', (t) => {
  if (!haveRoot(t)) return;
  const elf = compile(t, 'fentry', {
    text: `${HEADERS}
SEC("fentry/do_unlinkat")
int BPF_PROG(trace_unlinkat, int dfd, struct filename *name) {
  bpf_printk("unlinkat %d", dfd);
  return 0;
}
${LICENSE}`,
  });
  if (!elf) return;
  const probe = probeTrampolines();
  const opened = OpenedObject.open(elf, { objectName: 'fentry_bpf' });
  t.after(() => opened.close());
  if (probe === 'allowed') {
    const object = load(t, opened);
    object.attach(object.findProgram('trace_unlinkat')!);
    return;
  }
  assert.throws(
    () => opened.load(),
    (error: unknown) =>
      error instanceof EcliError &&
      error.code === 'KERNEL_UNSUPPORTED' &&
      error.message.startsWith('program trace_unlinkat (fentry/do_unlinkat): ') &&
      error.message.includes('trampoline') &&
      !error.message.includes('ulimit'),
  );
});

test('kprobe: attaches where the kernel has kprobes, a KERNEL_UNSUPPORTED naming kprobes where not', (t) => {
  if (!haveRoot(t)) return;
  const elf = compile(t, 'kprobe', {
    text: `${HEADERS}
SEC("kprobe/do_unlinkat")
int BPF_KPROBE(probe_unlinkat, int dfd) {
  bpf_printk("unlinkat %d", dfd);
  return 0;
}
${LICENSE}`,
  });
  if (!elf) return;
  const object = load(t, OpenedObject.open(elf, { objectName: 'kprobe_bpf' }));
  const program = object.findProgram('probe_unlinkat')!;
  if (hasKprobes()) {
    object.attach(program);
    return;
  }
  assert.throws(() => object.attach(program), {
    code: 'KERNEL_UNSUPPORTED',
    message: 'program probe_unlinkat (kprobe/do_unlinkat): this kernel has no kprobe support (CONFIG_KPROBES is not set)',
  });
});

test('a verifier rejection is a LOAD_FAILED quoting the verifier, with the full log as detail', (t) => {
  if (!haveRoot(t)) return;
  const elf = compile(t, 'bad', {
    text: `${HEADERS}
SEC("tp/syscalls/sys_enter_getppid")
int read_user_pointer(struct trace_event_raw_sys_enter *ctx) {
  int *p = (int *)(long)ctx->args[0];
  return *p;
}
${LICENSE}`,
  });
  if (!elf) return;
  const opened = OpenedObject.open(elf, { objectName: 'bad_bpf' });
  t.after(() => opened.close());
  assert.throws(
    () => opened.load(),
    (error: unknown) =>
      error instanceof EcliError &&
      error.code === 'LOAD_FAILED' &&
      /^program read_user_pointer \(tp\/syscalls\/sys_enter_getppid\): the verifier rejected it \(EACCES\): R1 invalid mem access 'scalar' at \S+:\d+ `[^`]+`$/.test(
        error.message,
      ) &&
      (error.detail ?? '').includes('processed'),
  );
});

test('attach failures name the missing tracepoint, binary or function', (t) => {
  if (!haveRoot(t)) return;
  const elf = compile(t, 'targets', {
    text: `${HEADERS}
SEC("tp/sched/no_such_tracepoint") int on_nothing(void *ctx) { return 0; }
SEC("uprobe//no/such/binary:main") int BPF_KPROBE(on_no_binary) { return 0; }
SEC("uretprobe//bin/sh:no_such_function") int BPF_KRETPROBE(on_no_function) { return 0; }
${LICENSE}`,
  });
  if (!elf) return;
  const object = load(t, OpenedObject.open(elf, { objectName: 'targets_bpf' }));
  assert.throws(() => object.attach(object.findProgram('on_nothing')!), {
    code: 'ATTACH_FAILED',
    message: 'cannot attach program on_nothing (tp/sched/no_such_tracepoint): tracepoint sched/no_such_tracepoint does not exist on this kernel',
  });
  assert.throws(() => object.attach(object.findProgram('on_no_binary')!), {
    code: 'ATTACH_FAILED',
    message: 'cannot attach program on_no_binary (uprobe//no/such/binary:main): /no/such/binary does not exist',
  });
  assert.throws(() => object.attach(object.findProgram('on_no_function')!), {
    code: 'ATTACH_FAILED',
    message: /^cannot attach program on_no_function \(uretprobe\/\/bin\/sh:no_such_function\): cannot probe no_such_function in \/bin\/sh: /,
  });
});

test('perf_event: samples on every CPU, with the software fallback where there is no PMU', (t) => {
  if (!haveRoot(t)) return;
  const elf = compile(t, 'sample', {
    text: `${HEADERS}
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u64); } samples SEC(".maps");
SEC("perf_event")
int on_sample(void *ctx) {
  u32 zero = 0; u64 *n = bpf_map_lookup_elem(&samples, &zero);
  if (n) __sync_fetch_and_add(n, 1);
  return 0;
}
${LICENSE}`,
  });
  if (!elf) return;
  const hasPmu = existsSync('/sys/bus/event_source/devices/cpu');
  const warnings: string[] = [];
  const object = run(t, elf, 'sample_bpf', [], (message) => warnings.push(message));
  assert.equal(warnings.length, hasPmu ? 0 : 1);
  if (!hasPmu) assert.match(warnings[0]!, /^program on_sample \(perf_event\): .*no CPU PMU.*cpu-clock/);
  const start = Date.now();
  while (Date.now() - start < 300); // keep a CPU busy for the sampler
  assert.ok(u64At(object.findMap('samples')!.lookup(new Uint8Array(4))!, 0) > 0n, 'no samples');

  if (!hasPmu) {
    const explicit = load(t, OpenedObject.open(elf, { objectName: 'sample_bpf' }));
    assert.throws(() => explicit.attach(explicit.findProgram('on_sample')!, { perfEvent: resolvePerfEvent({ type: 'hardware' }, 'on_sample') }), {
      code: 'KERNEL_UNSUPPORTED',
      message:
        'program on_sample (perf_event): this machine has no hardware perf events (no CPU PMU); use "perf_event": {"type": "software", "config": "cpu-clock"}',
    });
  }
});

test('trace_pipe: bpf_printk lines from simple_prog_4 stream until close()', async (t) => {
  if (!haveRoot(t)) return;
  const { elf, objName, progs } = fixture('simple_prog_4.json');
  run(t, elf, objName, progs);
  const lines: string[] = [];
  const reader = TracePipeReader.open({ onLine: (line) => lines.push(line) });
  t.after(() => reader.close());
  const start = Date.now();
  while (!lines.some((line) => line.includes('Created 305419896')) && Date.now() - start < 3000) {
    spawnTrue(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  reader.close();
  assert.ok(
    lines.some((line) => line.includes('Created 305419896')),
    `trace_pipe lines: ${lines.slice(-3).join(' | ')}`,
  );
});

test('trace_pipe held by another reader: a RUNTIME error saying so, with how to find that reader', (t) => {
  if (!haveRoot(t)) return;
  const tracefs = ensureTracefs();
  assert.ok(tracefs !== undefined, 'tracefs is mounted');
  const other = TracePipeReader.open({ onLine: () => undefined }, tracefs);
  t.after(() => other.close());
  const pipe = `${tracefs}/trace_pipe`;
  assert.throws(() => TracePipeReader.open({ onLine: () => undefined }, tracefs), {
    code: 'RUNTIME',
    message: `cannot read bpf_printk output: another process is reading ${pipe}, and the kernel allows one reader`,
    hint: `stop that reader (fuser -v ${pipe} names it), then run again`,
  });
});
