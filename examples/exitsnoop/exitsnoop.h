/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __EXITSNOOP_H
#define __EXITSNOOP_H

#define TASK_COMM_LEN 16

/* One record per exiting process (thread exits are not reported). */
struct event {
	int pid;
	int ppid;
	unsigned exit_code;
	unsigned long long duration_ns;
	/// The task's cgroup (bpf_get_current_cgroup_id()): ecli finds its container from it,
	/// even after the process exited. Plain text shows the container with --fields +container.
	/// @display "hidden"
	__u64 cgroup_id;
	char comm[TASK_COMM_LEN];
};

#endif /* __EXITSNOOP_H */
