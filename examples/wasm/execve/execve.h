/* SPDX-License-Identifier: MIT */
/* The event execve.bpf.c sends and execve.c prints: plain C types of the same size in BPF and wasm32. */
#ifndef EXECVE_H
#define EXECVE_H

#define EXECVE_COMM_LEN 16
#define EXECVE_FILENAME_LEN 128
/* the arguments after argv[0]: at most this many, each cut to EXECVE_ARG_LEN bytes with its NUL */
#define EXECVE_MAX_ARGS 4
#define EXECVE_ARG_LEN 32

struct execve_event {
	int pid;
	int ppid;
	unsigned int uid;
	unsigned int args_count;
	char comm[EXECVE_COMM_LEN];
	char filename[EXECVE_FILENAME_LEN];
	char args[EXECVE_MAX_ARGS][EXECVE_ARG_LEN];
};

#endif /* EXECVE_H */
