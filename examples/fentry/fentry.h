/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __FENTRY_H
#define __FENTRY_H

#define TASK_COMM_LEN 16
#define FILENAME_LEN 64

/* one entry to (is_exit = 0) or return from (is_exit = 1) do_unlinkat() */
struct event {
	int pid;
	int ret;
	int is_exit;
	char comm[TASK_COMM_LEN];
	char filename[FILENAME_LEN];
};

#endif /* __FENTRY_H */
