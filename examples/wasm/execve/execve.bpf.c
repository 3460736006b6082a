// SPDX-License-Identifier: GPL-2.0
/* Every execve(2) on the system: who called it, the program and its first arguments. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "execve.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_execve")
int trace_execve(struct trace_event_raw_sys_enter *ctx)
{
	struct execve_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	const char *const *argv = (const char *const *)ctx->args[1];

	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (unsigned int)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const char *)ctx->args[0]) < 0)
		e->filename[0] = 0;

	/* reserved ring buffer memory holds older records: every slot is cleared first */
	for (int i = 0; i < EXECVE_MAX_ARGS; i++)
		e->args[i][0] = 0;
	unsigned int count = 0;
	for (int i = 0; i < EXECVE_MAX_ARGS; i++) {
		const char *arg = NULL;
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i + 1]) != 0 || arg == NULL)
			break;
		if (bpf_probe_read_user_str(e->args[i], EXECVE_ARG_LEN, arg) < 0)
			e->args[i][0] = 0;
		count++;
	}
	e->args_count = count;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
