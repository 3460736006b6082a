// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sigsnoop.h"

/// @description "Only trace signals sent by this process ID (0 = every process)"
/// @cmdarg {"short": "p", "long": "pid"}
const volatile pid_t filtered_pid = 0;

/// @description "Only trace this signal number (0 = every signal)"
/// @cmdarg {"short": "s", "long": "signal"}
const volatile int target_signal = 0;

/// @description "Only show signals that could not be sent"
/// @cmdarg {"default": false, "long": "failed"}
const volatile bool failed_only = false;

/* the half-built event of a kill/tkill/tgkill call in flight, per thread */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct event);
} values SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

static __always_inline int probe_entry(pid_t tpid, int sig)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32;
	u32 tid = (u32)id;
	struct event event = {};

	if (filtered_pid && pid != (u32)filtered_pid)
		return 0;
	if (target_signal && sig != target_signal)
		return 0;

	event.pid = pid;
	event.tpid = tpid;
	event.sig = sig;
	event.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(event.comm, sizeof(event.comm));
	bpf_map_update_elem(&values, &tid, &event, BPF_ANY);
	return 0;
}

static __always_inline int probe_exit(void *ctx, int ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct event *event;

	event = bpf_map_lookup_elem(&values, &tid);
	if (!event)
		return 0;
	if (failed_only && ret >= 0)
		goto cleanup;

	event->ret = ret;
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, event, sizeof(*event));
cleanup:
	bpf_map_delete_elem(&values, &tid);
	return 0;
}

/* kill(pid_t pid, int sig) */
SEC("tracepoint/syscalls/sys_enter_kill")
int kill_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry((pid_t)ctx->args[0], (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int kill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx, (int)ctx->ret);
}

/* tkill(pid_t tid, int sig) */
SEC("tracepoint/syscalls/sys_enter_tkill")
int tkill_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry((pid_t)ctx->args[0], (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int tkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx, (int)ctx->ret);
}

/* tgkill(pid_t tgid, pid_t tid, int sig): report the target thread */
SEC("tracepoint/syscalls/sys_enter_tgkill")
int tgkill_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry((pid_t)ctx->args[1], (int)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int tgkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx, (int)ctx->ret);
}

/// @brief Trace signals sent with kill(), tkill() and tgkill()
char LICENSE[] SEC("license") = "GPL";
