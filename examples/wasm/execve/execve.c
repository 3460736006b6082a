// SPDX-License-Identifier: MIT
/*
 * execve: prints every execve(2) on the system, one line each: the caller's pid, its parent,
 * uid and name, the program and its arguments. A wasm-bpf guest: run it with
 * `ecli run execve.wasm [-n COUNT]`; with -n it returns after COUNT events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libbpf-wasm.h"
#include "execve.skel.h"
#include "execve.h"

static long remaining = -1;

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	const struct execve_event *e = (const struct execve_event *)data;
	if (size < sizeof(*e)) {
		fprintf(stderr, "execve: a record of %zu bytes is too short\n", size);
		return 0;
	}
	printf("%-7d %-7d %-5u %-16.16s %.*s", e->pid, e->ppid, e->uid, e->comm, EXECVE_FILENAME_LEN, e->filename);
	for (unsigned int i = 0; i < e->args_count && i < EXECVE_MAX_ARGS; i++)
		printf(" %.*s", EXECVE_ARG_LEN, e->args[i]);
	putchar('\n');
	if (remaining > 0)
		remaining--;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "-n") == 0) {
		remaining = strtol(argv[2], NULL, 10);
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [-n COUNT]\n", argv[0]);
		return 2;
	}
	struct execve_bpf *skel = execve_bpf__open_and_load();
	if (skel == NULL) {
		fprintf(stderr, "execve: cannot load the BPF object\n");
		return 1;
	}
	int err = execve_bpf__attach(skel);
	struct bpf_buffer *events = err == 0 ? bpf_buffer__open(skel->maps.events, on_event, NULL) : NULL;
	if (events == NULL) {
		fprintf(stderr, "execve: cannot attach (%d)\n", err);
		execve_bpf__destroy(skel);
		return 1;
	}
	printf("%-7s %-7s %-5s %-16s %s\n", "PID", "PPID", "UID", "COMM", "PROGRAM ARGS");
	fflush(stdout);
	while (remaining != 0) {
		err = bpf_buffer__poll(events, 100);
		if (err < 0) {
			fprintf(stderr, "execve: polling failed (%d)\n", err);
			break;
		}
		/* output to a pipe is buffered: written when the buffer fills, and once events pause */
		if (err == 0)
			fflush(stdout);
	}
	fflush(stdout);
	bpf_buffer__free(events);
	execve_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
