// SPDX-License-Identifier: GPL-2.0
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "hardirqs.h"

#define MAX_ENTRIES 256

/*
 * The `infos` map is keyed by the handler's name (irqaction::name). This struct stays out of
 * hardirqs.h: the runner names a sampled map's value columns after the first exported struct,
 * which must be `struct info`.
 */
struct irq_key {
	char name[IRQ_NAME_LEN];
};

/// @description "Measure handler time in nanoseconds instead of microseconds"
const volatile bool targ_ns = false;

/* handler entry time; hard IRQs do not nest on one CPU, so one slot per CPU is enough */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

/// @sample {"interval": 1000, "type": "log2_hist", "unit": "usecs"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct irq_key);
	__type(value, struct info);
} infos SEC(".maps");

static __always_inline u32 log2_u64(u64 v)
{
	u32 r = 0;

	/* bounded: at most 63 iterations */
	while (v > 1 && r < 63) {
		v >>= 1;
		r++;
	}
	return r;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(irq_handler_entry, int irq, struct irqaction *action)
{
	u32 zero = 0;
	u64 *tsp = bpf_map_lookup_elem(&start, &zero);

	if (tsp)
		*tsp = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(irq_handler_exit, int irq, struct irqaction *action, int ret)
{
	struct irq_key key = {};
	struct info zero_info = {};
	struct info *info;
	u32 zero = 0, slot;
	u64 *tsp, delta;

	tsp = bpf_map_lookup_elem(&start, &zero);
	if (!tsp || !*tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	*tsp = 0;
	if (!targ_ns)
		delta /= 1000;

	bpf_probe_read_kernel_str(key.name, sizeof(key.name), BPF_CORE_READ(action, name));
	info = bpf_map_lookup_elem(&infos, &key);
	if (!info) {
		bpf_map_update_elem(&infos, &key, &zero_info, BPF_NOEXIST);
		info = bpf_map_lookup_elem(&infos, &key);
		if (!info)
			return 0;
	}

	slot = log2_u64(delta);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&info->count, 1);
	__sync_fetch_and_add(&info->slots[slot], 1);
	return 0;
}

/// @brief Summarize hard IRQ handler time as a log2 histogram per handler name
char LICENSE[] SEC("license") = "GPL";
