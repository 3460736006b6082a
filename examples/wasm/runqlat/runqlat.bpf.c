// SPDX-License-Identifier: GPL-2.0
/* Run-queue latency: how long runnable tasks wait for a CPU, as log2 histograms. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "runqlat.h"

#define TASK_RUNNING 0

/* Set by the guest before load. */
const volatile bool targ_per_process = false;
const volatile bool targ_ms = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, unsigned int);
	__type(value, unsigned long long);
} enqueued SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, unsigned int);
	__type(value, struct runqlat_hist);
} hists SEC(".maps");

static __always_inline unsigned int log2_slot(unsigned long long v)
{
	unsigned int slot = 0;
	for (int i = 0; i < RUNQLAT_SLOTS - 1 && v > 1; i++) {
		v >>= 1;
		slot++;
	}
	return slot;
}

static __always_inline void enqueue(unsigned int tid)
{
	if (tid == 0)
		return;
	unsigned long long now = bpf_ktime_get_ns();
	bpf_map_update_elem(&enqueued, &tid, &now, BPF_ANY);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	enqueue(BPF_CORE_READ(p, pid));
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(on_wakeup_new, struct task_struct *p)
{
	enqueue(BPF_CORE_READ(p, pid));
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (BPF_CORE_READ(prev, __state) == TASK_RUNNING)
		enqueue(BPF_CORE_READ(prev, pid));

	unsigned int tid = BPF_CORE_READ(next, pid);
	unsigned long long *start = bpf_map_lookup_elem(&enqueued, &tid);
	if (!start)
		return 0;
	long long delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&enqueued, &tid);
	if (delta < 0)
		return 0;

	unsigned int key = targ_per_process ? BPF_CORE_READ(next, tgid) : RUNQLAT_ALL_TASKS;
	struct runqlat_hist *hist = bpf_map_lookup_elem(&hists, &key);
	if (!hist) {
		struct runqlat_hist zero = {};
		bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST);
		hist = bpf_map_lookup_elem(&hists, &key);
		if (!hist)
			return 0;
		if (targ_per_process)
			BPF_CORE_READ_STR_INTO(&hist->comm, next, comm);
	}
	unsigned long long value = (unsigned long long)delta / (targ_ms ? 1000000 : 1000);
	__sync_fetch_and_add(&hist->slots[log2_slot(value)], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
