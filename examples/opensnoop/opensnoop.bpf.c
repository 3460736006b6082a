// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "opensnoop.h"

/// @description "Process ID to trace (0 = every process)"
/// @cmdarg {"short": "p", "long": "pid"}
const volatile pid_t pid_target = 0;

/// @description "User ID to trace (-1 = every user)"
/// @cmdarg {"short": "u", "long": "uid"}
const volatile int uid_target = -1;

/// @description "Only show opens that failed"
/// @cmdarg {"default": false, "long": "failed"}
const volatile bool targ_failed = false;

/* What sys_enter_openat saw, kept until the matching sys_exit_openat. */
struct open_start {
	const char *fname_ptr;
	struct event event;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct open_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	u32 tid = (u32)id;
	u32 uid = (u32)bpf_get_current_uid_gid();
	struct open_start st = {};

	if (pid_target && pid_target != tgid)
		return 0;
	if (uid_target != -1 && (u32)uid_target != uid)
		return 0;

	/* openat(int dfd, const char *filename, int flags, umode_t mode) */
	st.fname_ptr = (const char *)ctx->args[1];
	st.event.pid = tgid;
	st.event.uid = uid;
	st.event.flags = (int)ctx->args[2];
	st.event.cgroup_id = bpf_get_current_cgroup_id();
	/* a name that is not paged in yet is read again at exit */
	if (bpf_probe_read_user_str(st.event.fname, sizeof(st.event.fname), st.fname_ptr) < 0)
		st.event.fname[0] = '\0';

	bpf_map_update_elem(&start, &tid, &st, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int trace_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct open_start *st;
	int ret = (int)ctx->ret;

	st = bpf_map_lookup_elem(&start, &tid);
	if (!st)
		return 0;
	if (targ_failed && ret >= 0)
		goto cleanup;

	st->event.ts = bpf_ktime_get_ns();
	st->event.ret = ret;
	bpf_get_current_comm(&st->event.comm, sizeof(st->event.comm));
	if (st->event.fname[0] == '\0')
		bpf_probe_read_user_str(st->event.fname, sizeof(st->event.fname), st->fname_ptr);

	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &st->event, sizeof(st->event));
cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

/// @brief Trace openat() calls: who opened which file, with which flags, and the result
char LICENSE[] SEC("license") = "GPL";
