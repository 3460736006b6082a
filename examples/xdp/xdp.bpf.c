// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdp.h"

/* key used for frames too short to hold an Ethernet header */
#define RUNT_FRAME 0

/// @sample {"interval": 1000, "type": "default_kv"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct counter);
} counts SEC(".maps");

/// @ifindex 1
/// @flags 0
/// @xdpopts {"old_prog_fd": 0}
SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u64 len = data_end - data;
	struct counter *c, fresh = {};
	__u32 key = RUNT_FRAME;

	if ((void *)(eth + 1) <= data_end)
		key = bpf_ntohs(eth->h_proto);

	c = bpf_map_lookup_elem(&counts, &key);
	if (!c) {
		bpf_map_update_elem(&counts, &key, &fresh, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&counts, &key);
		if (!c)
			return XDP_PASS;
	}
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, len);

	bpf_printk("xdp: packet size %llu, ethertype 0x%04x", len, key);
	return XDP_PASS;
}

/// @brief Count packets and bytes per ethertype with XDP (attached to lo by default); every packet passes
char LICENSE[] SEC("license") = "GPL";
