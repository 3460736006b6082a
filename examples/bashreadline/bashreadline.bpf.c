// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bashreadline.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

/* the probe fires in every process running /bin/bash; readline() returns
 * the line just typed, or NULL at end of input */
SEC("uretprobe//bin/bash:readline")
int BPF_KRETPROBE(printret, const void *ret)
{
	struct str_t data = {};

	if (!ret)
		return 0;

	data.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_probe_read_user_str(&data.str, sizeof(data.str), ret);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &data, sizeof(data));
	return 0;
}

/// @brief Print the command lines typed into bash (uretprobe on /bin/bash:readline)
char LICENSE[] SEC("license") = "GPL";
