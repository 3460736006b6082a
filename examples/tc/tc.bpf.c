// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tc.h"

/* TC_ACT_* are macros in linux/pkt_cls.h, so vmlinux.h lacks them */
#ifndef TC_ACT_OK
#define TC_ACT_OK 0
#endif

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

/// @tchook {"ifindex": 1, "attach_point": "BPF_TC_INGRESS"}
/// @tcopts {"handle": 1, "priority": 1}
SEC("tc")
int tc_ingress(struct __sk_buff *ctx)
{
	struct pkt *p;

	bpf_printk("tc: ifindex %u, packet length %u", ctx->ifindex, ctx->len);

	p = bpf_ringbuf_reserve(&rb, sizeof(*p), 0);
	if (!p)
		return TC_ACT_OK;
	p->ifindex = ctx->ifindex;
	p->len = ctx->len;
	p->protocol = bpf_ntohs(ctx->protocol);
	bpf_ringbuf_submit(p, 0);
	return TC_ACT_OK;
}

/// @brief Report every packet entering an interface through a TC ingress filter (lo by default)
char LICENSE[] SEC("license") = "GPL";
