/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __OPENSNOOP_H
#define __OPENSNOOP_H

#define TASK_COMM_LEN 16
#define NAME_MAX 255

struct event {
	unsigned long long ts;
	int pid;
	int uid;
	int ret;
	int flags;
	/// The task's cgroup (bpf_get_current_cgroup_id()): ecli finds its container from it,
	/// even after the process exited. Plain text shows the container with --fields +container.
	/// @display "hidden"
	__u64 cgroup_id;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
};

#endif /* __OPENSNOOP_H */
