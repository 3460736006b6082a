// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "fentry.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

static __always_inline void emit(struct filename *name, int ret, int is_exit)
{
	struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e)
		return;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = ret;
	e->is_exit = is_exit;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(name, name));
	bpf_ringbuf_submit(e, 0);
}

/* int do_unlinkat(int dfd, struct filename *name) */
SEC("fentry/do_unlinkat")
int BPF_PROG(do_unlinkat, int dfd, struct filename *name)
{
	emit(name, 0, 0);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(do_unlinkat_exit, int dfd, struct filename *name, long ret)
{
	emit(name, (int)ret, 1);
	return 0;
}

/// @brief Trace file deletions (do_unlinkat) with fentry/fexit: who removed which file, and the result
char LICENSE[] SEC("license") = "GPL";
