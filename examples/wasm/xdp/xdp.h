/* SPDX-License-Identifier: MIT */
/* What xdp.bpf.c counts and xdp.c reads. */
#ifndef XDP_H
#define XDP_H

struct xdp_stats {
	unsigned long long packets;
	unsigned long long bytes;
};

#endif /* XDP_H */
