// SPDX-License-Identifier: GPL-2.0
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "runqlat.h"

#define MAX_ENTRIES 10240
#define TASK_RUNNING 0
#define ALL_TASKS_KEY ((u32)-1)

/// @description "Keep one histogram per process (key = TGID)"
const volatile bool targ_per_process = false;

/// @description "Keep one histogram per thread (key = TID)"
const volatile bool targ_per_thread = false;

/// @description "Measure in milliseconds instead of microseconds"
const volatile bool targ_ms = false;

/// @description "Only trace this process ID (0 = every process)"
/// @cmdarg {"short": "p", "long": "pid"}
const volatile pid_t targ_tgid = 0;

/* enqueue timestamp per TID */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

/// @sample {"interval": 1000, "type": "log2_hist", "unit": "usecs"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct hist);
} hists SEC(".maps");

/* kernels before 5.14 named task_struct::__state "state" */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
}

static __always_inline u32 log2_u32(u32 v)
{
	u32 r, shift;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline u32 log2_u64(u64 v)
{
	u32 hi = v >> 32;

	return hi ? log2_u32(hi) + 32 : log2_u32((u32)v);
}

static __always_inline void record_enqueue(u32 tgid, u32 tid)
{
	u64 ts;

	if (!tid)
		return;
	if (targ_tgid && (u32)targ_tgid != tgid)
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(handle_sched_wakeup, struct task_struct *p)
{
	record_enqueue(BPF_CORE_READ(p, tgid), BPF_CORE_READ(p, pid));
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(handle_sched_wakeup_new, struct task_struct *p)
{
	record_enqueue(BPF_CORE_READ(p, tgid), BPF_CORE_READ(p, pid));
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(handle_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct hist *histp;
	struct hist zero = {};
	u64 *tsp, delta;
	u32 tid, key, slot;

	/* a task preempted while runnable goes straight back on the run queue */
	if (task_state(prev) == TASK_RUNNING)
		record_enqueue(BPF_CORE_READ(prev, tgid), BPF_CORE_READ(prev, pid));

	tid = BPF_CORE_READ(next, pid);
	tsp = bpf_map_lookup_elem(&start, &tid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &tid);
	if ((s64)delta < 0)
		return 0;

	if (targ_per_process)
		key = BPF_CORE_READ(next, tgid);
	else if (targ_per_thread)
		key = tid;
	else
		key = ALL_TASKS_KEY;

	histp = bpf_map_lookup_elem(&hists, &key);
	if (!histp) {
		bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST);
		histp = bpf_map_lookup_elem(&hists, &key);
		if (!histp)
			return 0;
		if (key != ALL_TASKS_KEY)
			bpf_probe_read_kernel_str(histp->comm, sizeof(histp->comm), next->comm);
	}

	delta /= targ_ms ? 1000000 : 1000;
	slot = log2_u64(delta);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&histp->slots[slot], 1);
	return 0;
}

/// @brief Summarize run-queue (scheduler) latency as a log2 histogram
/// @details Each second the histogram of how long runnable tasks waited for a CPU is printed; use --targ_per_process or --targ_per_thread for one histogram per process or thread.
char LICENSE[] SEC("license") = "GPL";
