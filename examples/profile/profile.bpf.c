// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "profile.h"

/// @description "Only sample this process ID (0 = every process but the idle task)"
/// @cmdarg {"short": "p", "long": "pid"}
const volatile __u32 targ_pid = 0;

/// @intepreter {"stack_trace": {}}
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/// @perf_event {"type": "software", "config": "cpu-clock", "sample_freq": 49}
SEC("perf_event")
int profile(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct stacktrace_event *event;

	if (!pid || (targ_pid && pid != targ_pid))
		return 0;
	event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
	if (!event)
		return 0;
	event->pid = pid;
	event->cpu_id = bpf_get_smp_processor_id();
	bpf_get_current_comm(event->comm, sizeof(event->comm));
	event->kstack_sz = bpf_get_stack(ctx, event->kstack, sizeof(event->kstack), 0);
	event->ustack_sz = bpf_get_stack(ctx, event->ustack, sizeof(event->ustack), BPF_F_USER_STACK);
	bpf_ringbuf_submit(event, 0);
	return 0;
}

/// @brief Sample the stacks of running processes (software cpu-clock, 49 Hz), printed symbolised
char LICENSE[] SEC("license") = "GPL";
