/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __SIGSNOOP_H
#define __SIGSNOOP_H

#define TASK_COMM_LEN 16

struct event {
	unsigned int pid;
	unsigned int tpid;
	int sig;
	int ret;
	/// The task's cgroup (bpf_get_current_cgroup_id()): ecli finds its container from it,
	/// even after the process exited. Plain text shows the container with --fields +container.
	/// @display "hidden"
	__u64 cgroup_id;
	char comm[TASK_COMM_LEN];
};

#endif /* __SIGSNOOP_H */
