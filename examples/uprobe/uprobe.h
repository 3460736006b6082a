/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __UPROBE_H
#define __UPROBE_H

#define TASK_COMM_LEN 16

/* one completed call of uprobe_target_add(a, b) */
struct event {
	int pid;
	int a;
	int b;
	int ret;
	char comm[TASK_COMM_LEN];
};

#endif /* __UPROBE_H */
