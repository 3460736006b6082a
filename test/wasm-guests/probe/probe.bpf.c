// SPDX-License-Identifier: GPL-2.0
/* The BPF side of the probe guest (test/wasm-guests/probe/probe.c): maps of each kind the ABI
 * handles, a perf event array fed by execve(2), and a sockops program for cgroup attachment. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "probe.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, unsigned int);
	__type(value, unsigned long long);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, unsigned int);
	__type(value, unsigned long long);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, unsigned int);
	__type(value, unsigned long long);
} percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(unsigned int));
	__uint(value_size, sizeof(unsigned int));
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_execve")
int probe_execve(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct probe_event e = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.ppid = BPF_CORE_READ(task, real_parent, tgid),
	};
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

/* counts[op] += 1 for each socket operation in the cgroup it is attached to */
SEC("sockops")
int probe_sockops(struct bpf_sock_ops *skops)
{
	unsigned int op = skops->op;
	unsigned long long one = 1, *count = bpf_map_lookup_elem(&counts, &op);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counts, &op, &one, BPF_NOEXIST);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
