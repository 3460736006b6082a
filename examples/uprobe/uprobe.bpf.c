// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "uprobe.h"

/*
 * libbpf resolves the binary in the section name when attaching; a relative
 * path would depend on the runner's working directory, so the probes name a
 * fixed absolute path. Copy the built target.c there first (see target.c).
 */

/// @description "Only trace this process ID (0 = every process)"
/// @cmdarg {"short": "p", "long": "pid"}
const volatile int targ_pid = 0;

/* arguments of the call in flight, per thread, until the function returns */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct event);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

SEC("uprobe//tmp/ecli-uprobe-target:uprobe_target_add")
int BPF_KPROBE(add_entry, int a, int b)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct event e = {};

	if (targ_pid && (u32)targ_pid != id >> 32)
		return 0;
	e.pid = id >> 32;
	e.a = a;
	e.b = b;
	bpf_get_current_comm(&e.comm, sizeof(e.comm));
	bpf_map_update_elem(&calls, &tid, &e, BPF_ANY);
	return 0;
}

SEC("uretprobe//tmp/ecli-uprobe-target:uprobe_target_add")
int BPF_KRETPROBE(add_exit, int ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct event *call, *e;

	call = bpf_map_lookup_elem(&calls, &tid);
	if (!call)
		return 0;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (e) {
		*e = *call;
		e->ret = ret;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

/// @brief Trace calls of uprobe_target_add() in /tmp/ecli-uprobe-target: arguments and result
char LICENSE[] SEC("license") = "GPL";
