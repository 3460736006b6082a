// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/// @description "Only report write() calls of this process ID (0 = every process)"
/// @cmdarg {"short": "p", "long": "pid"}
const volatile int pid_filter = 0;

SEC("tp/syscalls/sys_enter_write")
int handle_write(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (pid_filter && pid != pid_filter)
		return 0;
	bpf_printk("BPF triggered from PID %d.\n", pid);
	return 0;
}

/// @brief Print a line to trace_pipe for every write() call; read it from /sys/kernel/tracing/trace_pipe
char LICENSE[] SEC("license") = "GPL";
