/**
 * Multiple-export mode (docs/eunomia-spec.md §2.4) with real BPF: a package with two ring buffers, one fed
 * on exec and one on exit, whose hand-edited meta exports each through its own export_config.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Btf } from '../../src/btf/btf.js';
import { BtfKind } from '../../src/btf/types.js';
import { findSection, parseElf } from '../../src/elf/elf.js';
import { jsonOf, startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { eccCompile, ecliPath, runTool } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { haveToolchain, tempDir, uniqueToken } from '../helpers/examples.js';

const HEADER = `#ifndef MX_H
#define MX_H
struct event_exec {
  int pid;
  char comm[16];
};
struct event_exit {
  int pid;
  int exit_code;
};
#endif
`;

const SOURCE = `#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "mx.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} rb_exec SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} rb_exit SEC(".maps");

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
  struct event_exec *e = bpf_ringbuf_reserve(&rb_exec, sizeof(*e), 0);
  if (!e)
    return 0;
  e->pid = bpf_get_current_pid_tgid() >> 32;
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  bpf_ringbuf_submit(e, 0);
  return 0;
}

SEC("tp/sched/sched_process_exit")
int handle_exit(void *ctx)
{
  __u64 id = bpf_get_current_pid_tgid();
  if ((__u32)id != id >> 32)
    return 0; /* a thread exiting, not the process */
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct event_exit *e = bpf_ringbuf_reserve(&rb_exit, sizeof(*e), 0);
  if (!e)
    return 0;
  e->pid = id >> 32;
  e->exit_code = (BPF_CORE_READ(task, exit_code) >> 8) & 0xff;
  bpf_ringbuf_submit(e, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;

interface Compiled {
  dir: string;
  pkg: {
    meta: {
      enable_multiple_export_types?: boolean;
      export_types: { name: string; type_id: number }[];
      bpf_skel: { maps: { name: string; export_config?: unknown }[] };
    };
  };
  /** Type ids of the object's BTF. */
  ids: { event_exec: number; event_exit: number; int: number };
  /** A copy of /bin/sh with a unique name that fits in comm. */
  shell: string;
}

function compile(t: TestContext): Compiled {
  const dir = tempDir(t, 'ecli-mx-');
  writeFileSync(path.join(dir, 'mx.h'), HEADER);
  writeFileSync(path.join(dir, 'mx.bpf.c'), SOURCE);
  const out = path.join(dir, 'out');
  const pkg = JSON.parse(readFileSync(eccCompile(path.join(dir, 'mx.bpf.c'), path.join(dir, 'mx.h'), out), 'utf8')) as Compiled['pkg'];
  const typeId = (name: string): number => {
    const t = pkg.meta.export_types.find((e) => e.name === name);
    assert.ok(t, `export_types lists ${name}`);
    return t.type_id;
  };
  const btf = Btf.parse(findSection(parseElf(new Uint8Array(readFileSync(path.join(out, 'mx.bpf.o')))), '.BTF')!.data);
  const exit = btf.type(typeId('event_exit'));
  assert.equal(exit.kind, BtfKind.Struct);
  const pidType = exit.members[0]!.type;
  assert.equal(btf.typeName(pidType), 'int');
  const shell = path.join(dir, `mx${uniqueToken()}`.slice(0, 15));
  copyFileSync('/bin/sh', shell);
  return { dir, pkg, ids: { event_exec: typeId('event_exec'), event_exit: typeId('event_exit'), int: pidType }, shell };
}

/** Writes the package with multiple-export mode on and `configs` as the ring buffers' export_config. */
function withExports(c: Compiled, name: string, configs: Record<string, unknown>): string {
  const pkg = structuredClone(c.pkg);
  pkg.meta.enable_multiple_export_types = true;
  for (const map of pkg.meta.bpf_skel.maps) {
    if (map.name in configs) map.export_config = configs[map.name];
  }
  const file = path.join(c.dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(pkg));
  return file;
}

/** Runs `shell -c 'exit 3'`: one exec and one exit with status 3. */
function execAndExit3(shell: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(shell, ['-c', 'exit 3'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 3 ? resolve(child.pid!) : reject(new Error(`${shell} exited ${code}`))));
  });
}

test('multiple-export mode: both ring buffers print their own struct', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const c = compile(t);
  const file = withExports(c, 'both', { rb_exec: { btf_type_id: c.ids.event_exec }, rb_exit: { btf_type_id: c.ids.event_exit } });
  const running = await startEcliFor(t, ['run', '-j', '--time', 'none', file]);
  const pid = await execAndExit3(c.shell);
  const exec = await running.waitForLine((l) => jsonOf(l)?.pid === pid && 'comm' in jsonOf(l)!);
  assert.equal(exec, `{"comm":${JSON.stringify(path.basename(c.shell))},"pid":${pid}}`);
  const exit = await running.waitForLine((l) => jsonOf(l)?.pid === pid && 'exit_code' in jsonOf(l)!);
  assert.equal(exit, `{"exit_code":3,"pid":${pid}}`);
  const ours = await stopAndCheckUnloaded(running);
  assert.equal(ours.length, 2, `ecli held programs ${ours.join(', ')}`);
});

test('multiple-export mode: custom_members print only the members listed', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const c = compile(t);
  const file = withExports(c, 'custom', {
    rb_exec: { btf_type_id: c.ids.event_exec },
    rb_exit: { custom_members: [{ name: 'pid', offset: 0, btf_type_id: c.ids.int }] },
  });
  const running = await startEcliFor(t, ['run', '-j', '--time', 'none', file]);
  const pid = await execAndExit3(c.shell);
  await running.waitForLine((l) => jsonOf(l)?.pid === pid && 'comm' in jsonOf(l)!);
  await running.waitForLine((l) => l === `{"pid":${pid}}`);
  const ours = running.lines.filter((l) => jsonOf(l)?.pid === pid);
  assert.deepEqual(ours.map((l) => Object.keys(jsonOf(l)!)).sort(), [['comm', 'pid'], ['pid']], ours.join('\n'));
  assert.ok(
    running.lines.every((l) => ['comm,pid', 'pid'].includes(Object.keys(jsonOf(l) ?? {}).join(','))),
    'every row is an exec row or a pid-only exit row',
  );
  await stopAndCheckUnloaded(running);
});

test('multiple-export mode: overlapping custom_members exit 4 before attaching', (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const c = compile(t);
  const file = withExports(c, 'overlap', {
    rb_exec: { btf_type_id: c.ids.event_exec },
    rb_exit: {
      custom_members: [
        { name: 'pid', offset: 0, btf_type_id: c.ids.int },
        { name: 'code', offset: 2, btf_type_id: c.ids.int },
      ],
    },
  });
  const result = runTool(ecliPath, ['run', '-j', file]);
  assert.equal(result.status, 4, result.stderr);
  assert.match(result.stderr, /export_config of map "rb_exit": field `code` overlapped with other fields \(offset 2 is inside `pid`, which ends at 4\)/);
  assert.doesNotMatch(result.stderr, /attached/);
  assert.equal(result.stdout, '');
});
