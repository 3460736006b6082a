/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __PERF_EVENT_H
#define __PERF_EVENT_H

#define TASK_COMM_LEN 16

/* CPU samples taken while a process was running (key: its PID) */
struct samples {
	__u64 count;
	char comm[TASK_COMM_LEN];
};

#endif /* __PERF_EVENT_H */
