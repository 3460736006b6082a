/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __EXECSNOOP_FULL_H
#define __EXECSNOOP_FULL_H

#define TASK_COMM_LEN 16
#define FILENAME_LEN 256
#define MAX_ARGS 16
#define ARG_LEN 64

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
	__u64 dropped_before;       /* events lost to a full ring buffer before this one */
	char comm[TASK_COMM_LEN];   /* task name after the call */
	char filename[FILENAME_LEN];
	char argv[MAX_ARGS][ARG_LEN]; /* the first max_args arguments */
};

#endif /* __EXECSNOOP_FULL_H */
