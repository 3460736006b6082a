/**
 * A small package for run-control tests: one ring buffer event `{pid, seq}` per getppid() call
 * of the process given with `--pid`. Quiet unless that process calls getppid, and as busy as
 * it likes when it does (`for (;;) process.ppid;`).
 */
import type { TestContext } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eccCompile } from './ecli-process.js';
import { tempDir } from './examples.js';

const HEADER = `#ifndef __CALLS_H
#define __CALLS_H
struct call {
	__u32 pid;
	__u64 seq;
};
#endif
`;

const SOURCE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "calls.h"

const volatile __u32 pid = 0;
__u64 next_seq = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} rb SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct call *e;

	if ((bpf_get_current_pid_tgid() >> 32) != pid)
		return 0;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->seq = __sync_fetch_and_add(&next_seq, 1);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;

/** Its program's name, as the kernel keeps it. */
export const GETPPID_PROGRAM = 'on_getppid';

/** Compiles the package with ./ecc into a temporary folder; returns its package.json. */
export function compileGetppidCalls(t: TestContext): string {
  const dir = tempDir(t, 'ecli-calls-');
  writeFileSync(join(dir, 'calls.bpf.c'), SOURCE);
  writeFileSync(join(dir, 'calls.h'), HEADER);
  return eccCompile(join(dir, 'calls.bpf.c'), join(dir, 'calls.h'), dir);
}
