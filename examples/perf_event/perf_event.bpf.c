// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "perf_event.h"

/// @description "Also count samples that hit the idle task (PID 0)"
const volatile bool include_idle = false;

/// @sample {"interval": 1000, "type": "default_kv"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct samples);
} counts SEC(".maps");

/// @perf_event {"type": "software", "config": "cpu-clock", "sample_freq": 49}
SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct samples *s, fresh = {};

	if (!pid && !include_idle)
		return 0;

	s = bpf_map_lookup_elem(&counts, &pid);
	if (!s) {
		bpf_get_current_comm(&fresh.comm, sizeof(fresh.comm));
		bpf_map_update_elem(&counts, &pid, &fresh, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&counts, &pid);
		if (!s)
			return 0;
	}
	__sync_fetch_and_add(&s->count, 1);
	return 0;
}

/// @brief Sample running processes on every CPU (software cpu-clock, 49 Hz) and count samples per PID
char LICENSE[] SEC("license") = "GPL";
