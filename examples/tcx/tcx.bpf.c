// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tcx.h"

/// @sample {"interval": 1000, "type": "default_kv"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct counter);
} counts SEC(".maps");

/// @tcx {"interface": "lo"}
SEC("tcx/ingress")
int tcx_count(struct __sk_buff *skb)
{
	struct counter *c, fresh = {};
	__u32 key = bpf_ntohs(skb->protocol);

	c = bpf_map_lookup_elem(&counts, &key);
	if (!c) {
		bpf_map_update_elem(&counts, &key, &fresh, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&counts, &key);
		if (!c)
			return TCX_NEXT;
	}
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, skb->len);
	/* TCX_NEXT hands the packet to the next program of the chain, or lets it pass */
	return TCX_NEXT;
}

/// @brief Count packets and bytes per ethertype with a TCX ingress link (on lo by default)
char LICENSE[] SEC("license") = "GPL";
