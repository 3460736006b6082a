// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "execsnoop-full.h"

#define ARGC_COUNT_LIMIT 128
#define ALL_UIDS 4294967295U
#define MAX_CGROUP_LEVELS 32
/* Reading a cut argument's rest in steps of this size finds where the next one starts... */
#define SKIP_LEN 4096
/* ...within MAX_ARG_STRLEN (32 pages), the longest argument the kernel accepts. */
#define SKIP_STEPS 33

/// @description "Only trace this user ID (4294967295 = every user)"
/// @cmdarg {"long": "uid"}
const volatile unsigned int targ_uid = ALL_UIDS;

/// @description "Only trace children of this parent process ID (0 = every parent)"
/// @cmdarg {"long": "ppid"}
const volatile int targ_ppid = 0;

/// @description "Only show exec calls that failed (default: show every call with its retval)"
/// @cmdarg {"long": "failed-only"}
const volatile bool targ_failed_only = false;

/// @description "Only trace tasks in this cgroup v2 or below it, by ID (the directory's inode number; 0 = every cgroup)"
/// @cmdarg {"long": "cgroup"}
const volatile unsigned long long targ_cgroup_id = 0;

/// @description "Arguments to capture, at most 20"
/// @cmdarg {"long": "max-args"}
const volatile int max_args = MAX_ARGS;

/// @description "Characters kept of each argument, at most 127"
/// @cmdarg {"long": "max-arg-len"}
const volatile int max_arg_len = ARG_LEN - 1;

/* an exec call in flight: the caller's pointers and the event being built */
struct exec_call {
	const char *filename;
	const char *const *argv;
	struct event event;
};

/* too big for the BPF stack: entries of `execs` start as a copy of this */
static const struct exec_call empty_call = {};

/* calls in flight, per thread, from syscall entry to exit */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct exec_call);
} execs SEC(".maps");

/* events lost: ring buffer full, or no room in `execs` */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, __u64);
} drops SEC(".maps");

/* where the rest of a cut argument is read, to be skipped */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, char[SKIP_LEN]);
} skip_buffer SEC(".maps");

/* 16 MiB: ~5,800 events, so a burst outlasts a busy reader */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} rb SEC(".maps");

static __always_inline void count_drop(void)
{
	u32 zero = 0;
	__u64 *dropped = bpf_map_lookup_elem(&drops, &zero);

	if (dropped)
		__sync_fetch_and_add(dropped, 1);
}

/* Bytes read per argument: max_arg_len characters and the NUL, within the array. */
static __always_inline u32 arg_read_size(void)
{
	int len = max_arg_len;

	if (len < 1)
		len = 1;
	if (len > ARG_LEN - 1)
		len = ARG_LEN - 1;
	return len + 1;
}

static __always_inline int count_args(const char *const *argv)
{
	const char *arg;
	int i;

	for (i = 0; i < ARGC_COUNT_LIMIT; i++) {
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
	}
	return i;
}

/*
 * Failed call: the strings are still in the caller's memory. They may not be
 * paged in, so this is best effort (the file name is: the kernel has copied
 * it already). Strings are not read at syscall entry for the same reason.
 */
static __always_inline void read_args_from_caller(struct exec_call *call)
{
	struct event *e = &call->event;
	u32 size = arg_read_size();
	const char *arg;
	int i;

	bpf_probe_read_user_str(e->filename, sizeof(e->filename), call->filename);
	e->argc = count_args(call->argv);
	for (i = 0; i < MAX_ARGS; i++) {
		if (i >= max_args || i >= e->argc)
			break;
		if (bpf_probe_read_user(&arg, sizeof(arg), &call->argv[i]) || !arg)
			break;
		bpf_probe_read_user_str(e->argv[i], size, arg);
	}
}

/* Where the argument at `p`, of which `size` - 1 characters were read, ends; 0 if not found. */
static __always_inline unsigned long skip_rest(unsigned long p, u32 size)
{
	u32 zero = 0;
	char *rest = bpf_map_lookup_elem(&skip_buffer, &zero);
	long n;
	int i;

	if (!rest)
		return 0;
	p += size - 1;
	for (i = 0; i < SKIP_STEPS; i++) {
		n = bpf_probe_read_user_str(rest, SKIP_LEN, (const void *)p);
		if (n <= 0)
			return 0;
		if (n < SKIP_LEN)
			return p + n;
		p += SKIP_LEN - 1;
	}
	return 0;
}

/*
 * Successful call: the kernel has copied the arguments, NUL-separated, into
 * the new image's stack between mm->arg_start and mm->arg_end, where they are
 * certainly paged in.
 */
static __always_inline void read_args_from_new_image(struct event *e, struct task_struct *task)
{
	unsigned long p = task->mm->arg_start;
	unsigned long end = task->mm->arg_end;
	u32 size = arg_read_size();
	long n;
	int i;

	for (i = 0; i < MAX_ARGS; i++) {
		if (i >= max_args || p >= end)
			break;
		n = bpf_probe_read_user_str(e->argv[i], size, (const void *)p);
		if (n <= 0)
			break;
		/* a full read may have cut the argument: find where the next one starts */
		p = n < size ? p + n : skip_rest(p, size);
		if (!p)
			break;
	}
}

static __always_inline void emit(struct event *e)
{
	__u64 *dropped;
	u32 zero = 0;

	dropped = bpf_map_lookup_elem(&drops, &zero);
	if (!dropped)
		return;
	e->dropped_before = *dropped;
	if (bpf_ringbuf_output(&rb, e, sizeof(*e), 0))
		__sync_fetch_and_add(dropped, 1);
}

/* In the target cgroup v2 or one of its descendants. */
static __always_inline bool in_target_cgroup(void)
{
	__u64 id;
	int level;

	for (level = 0; level < MAX_CGROUP_LEVELS; level++) {
		id = bpf_get_current_ancestor_cgroup_id(level);
		if (id == targ_cgroup_id)
			return true;
		if (!id)
			break;
	}
	return false;
}

static __always_inline int enter_exec(enum exec_syscall syscall, const char *filename,
				      const char *const *argv)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	u32 uid = (u32)bpf_get_current_uid_gid();
	struct task_struct *task;
	struct exec_call *call;
	int ppid;

	if (targ_uid != ALL_UIDS && uid != targ_uid)
		return 0;
	if (targ_cgroup_id && !in_target_cgroup())
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (targ_ppid && ppid != targ_ppid)
		return 0;

	if (bpf_map_update_elem(&execs, &tid, &empty_call, BPF_ANY)) {
		count_drop();
		return 0;
	}
	call = bpf_map_lookup_elem(&execs, &tid);
	if (!call)
		return 0;
	call->filename = filename;
	call->argv = argv;
	call->event.pid = id >> 32;
	call->event.ppid = ppid;
	call->event.uid = uid;
	call->event.syscall = syscall;
	call->event.cgroup_id = bpf_get_current_cgroup_id();
	return 0;
}

static __always_inline int exit_exec(long ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct exec_call *call;

	call = bpf_map_lookup_elem(&execs, &tid);
	if (!call)
		return 0;
	if (targ_failed_only && ret >= 0)
		goto cleanup;
	/* a successful call had its strings read at sched_process_exec */
	if (ret < 0)
		read_args_from_caller(call);
	call->event.retval = ret;
	bpf_get_current_comm(&call->event.comm, sizeof(call->event.comm));
	emit(&call->event);
cleanup:
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}

/* execve(const char *filename, const char *const argv[], const char *const envp[]) */
SEC("tracepoint/syscalls/sys_enter_execve")
int handle_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return enter_exec(EXECVE, (const char *)ctx->args[0], (const char *const *)ctx->args[1]);
}

/* execveat(int dfd, const char *filename, const char *const argv[], const char *const envp[], int flags) */
SEC("tracepoint/syscalls/sys_enter_execveat")
int handle_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return enter_exec(EXECVEAT, (const char *)ctx->args[1], (const char *const *)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int handle_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return exit_exec(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int handle_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return exit_exec(ctx->ret);
}

/*
 * The new image is in place: take the file name and argument count from the
 * kernel's binprm (a script's count includes its interpreter) and the
 * arguments from the new stack. A thread other than the group leader that
 * execs takes over the leader's PID, so the syscall returns under another
 * TID: move the entry there.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_sched_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	u32 old_tid = old_pid;
	u32 new_tid = p->pid;
	struct exec_call *call;

	call = bpf_map_lookup_elem(&execs, &old_tid);
	if (!call)
		return 0;
	if (targ_failed_only) {
		bpf_map_delete_elem(&execs, &old_tid);
		return 0;
	}
	bpf_probe_read_kernel_str(call->event.filename, sizeof(call->event.filename), bprm->filename);
	call->event.argc = bprm->argc;
	read_args_from_new_image(&call->event, p);

	if (old_tid != new_tid) {
		if (bpf_map_update_elem(&execs, &new_tid, call, BPF_ANY))
			count_drop();
		bpf_map_delete_elem(&execs, &old_tid);
	}
	return 0;
}

/// @brief Trace exec calls with their result, file name and arguments
/// @version 1.0.0
/// @details Every execve()/execveat() call is reported when it returns, with retval 0 or the negative errno of a failure; dropped_before counts the events lost so far.
char LICENSE[] SEC("license") = "GPL";
