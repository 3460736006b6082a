// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>
#include "usdt.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

/*
 * usdt/<binary>:<provider>:<name>. libbpf finds the probe in the binary's
 * .note.stapsdt notes when attaching, so the section names a fixed absolute
 * path: build target.c there first (see target.c).
 */
SEC("usdt//tmp/ecli-usdt-target:ecli:request")
int BPF_USDT(on_request, int id, const char *path, long size)
{
	struct usdt_request *r;

	r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r)
		return 0;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->id = id;
	r->size = size;
	bpf_probe_read_user_str(r->path, sizeof(r->path), path);
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/// @brief Report each firing of the USDT probe ecli:request in /tmp/ecli-usdt-target, with its arguments
char LICENSE[] SEC("license") = "GPL";
