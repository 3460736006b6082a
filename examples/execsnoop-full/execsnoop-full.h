/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __EXECSNOOP_FULL_H
#define __EXECSNOOP_FULL_H

#define TASK_COMM_LEN 16
#define FILENAME_LEN 256
#define MAX_ARGS 20
#define ARG_LEN 128

enum exec_syscall {
	EXECVE = 0,
	EXECVEAT = 1,
};

/* one finished execve()/execveat() call */
struct event {
	int pid;
	int ppid;
	unsigned int uid;
	int retval;                 /* 0, or a negative errno */
	enum exec_syscall syscall;
	int argc;                   /* argument count (of a failed call: counted up to 128) */
	__u64 dropped_before;       /* events lost (ring buffer or table full) before this one */
	/// The task's cgroup (bpf_get_current_cgroup_id()): ecli finds its container from it,
	/// even after the process exited. Plain text shows the container with --fields +container.
	/// @display "hidden"
	__u64 cgroup_id;
	char comm[TASK_COMM_LEN];   /* task name after the call */
	char filename[FILENAME_LEN];
	/// The first max_args arguments, each cut to max_arg_len characters.
	/// Plain text shows them as one shell-quoted command line.
	/// @display "args"
	char argv[MAX_ARGS][ARG_LEN];
};

#endif /* __EXECSNOOP_FULL_H */
