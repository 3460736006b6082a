// SPDX-License-Identifier: GPL-2.0
/* Counts the packets and bytes an interface receives; every packet passes. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "xdp.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, unsigned int);
	__type(value, struct xdp_stats);
} stats SEC(".maps");

SEC("xdp")
int xdp_stats(struct xdp_md *ctx)
{
	unsigned int key = 0;
	struct xdp_stats *s = bpf_map_lookup_elem(&stats, &key);
	if (s) {
		__sync_fetch_and_add(&s->packets, 1);
		__sync_fetch_and_add(&s->bytes, ctx->data_end - ctx->data);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
