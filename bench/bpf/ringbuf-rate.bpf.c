// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* High-rate event source for the benchmark: one ring buffer record per getppid() of one process. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "rate-event.h"

/// @description "Only record calls by this process ID"
/// @cmdarg {"long": "pid"}
const volatile int target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* [COUNTER_SEQ] next sequence number, [COUNTER_DROPS] records that did not fit */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} rate_counters SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	u32 seq_key = COUNTER_SEQ, drops_key = COUNTER_DROPS;
	struct rate_event *e;
	u64 *seq, *drops;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	seq = bpf_map_lookup_elem(&rate_counters, &seq_key);
	drops = bpf_map_lookup_elem(&rate_counters, &drops_key);
	if (!seq || !drops)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(seq, 1);
		__sync_fetch_and_add(drops, 1);
		return 0;
	}
	e->seq = __sync_fetch_and_add(seq, 1);
	e->pid = target_tgid;
	e->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
