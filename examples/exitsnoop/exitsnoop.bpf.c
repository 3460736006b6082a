// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "exitsnoop.h"

/// @description "Only report processes that lived at least this many nanoseconds"
const volatile unsigned long long min_duration_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

SEC("tp/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32;
	u32 tid = (u32)id;
	u64 duration_ns;
	struct event *e;

	/* a thread that is not the group leader leaves the process running */
	if (pid != tid)
		return 0;

	duration_ns = bpf_ktime_get_ns() - BPF_CORE_READ(task, start_time);
	if (duration_ns < min_duration_ns)
		return 0;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;

	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	/* task->exit_code holds the wait status: the exit status is in bits 8..15 */
	e->exit_code = (BPF_CORE_READ(task, exit_code) >> 8) & 0xff;
	e->duration_ns = duration_ns;
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(&e->comm, sizeof(e->comm));

	bpf_ringbuf_submit(e, 0);
	return 0;
}

/// @brief Trace process exits: pid, parent pid, exit status and lifetime
char LICENSE[] SEC("license") = "GPL";
