/* SPDX-License-Identifier: MIT */
/* The event bootstrap.bpf.c sends and bootstrap.c prints: plain C types of the same size in BPF and wasm32. */
#ifndef BOOTSTRAP_H
#define BOOTSTRAP_H

#define BOOTSTRAP_COMM_LEN 16
#define BOOTSTRAP_FILENAME_LEN 127

struct bootstrap_event {
	int pid;
	int ppid;
	unsigned int exit_code;
	/* 1 for a process's exit, 0 for an exec */
	unsigned int exit_event;
	unsigned long long duration_ns;
	char comm[BOOTSTRAP_COMM_LEN];
	char filename[BOOTSTRAP_FILENAME_LEN + 1];
};

#endif /* BOOTSTRAP_H */
