// SPDX-License-Identifier: MIT
/*
 * bootstrap: prints process execs and exits, with each process's run time. A wasm-bpf guest:
 *   ecli run bootstrap.wasm [-d MIN_DURATION_MS]
 * With -d only exits of processes that ran at least that long are printed (the limit is set
 * in the BPF object's .rodata before it is loaded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "libbpf-wasm.h"
#include "bootstrap.skel.h"
#include "bootstrap.h"

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	const struct bootstrap_event *e = (const struct bootstrap_event *)data;
	if (size < sizeof(*e))
		return 0;
	char when[16];
	time_t now = time(NULL);
	strftime(when, sizeof(when), "%H:%M:%S", gmtime(&now));
	if (e->exit_event)
		printf("%-8s %-5s %-16.16s %-7d %-7d [%u] (%llums)\n", when, "EXIT", e->comm, e->pid, e->ppid, e->exit_code,
		       e->duration_ns / 1000000);
	else
		printf("%-8s %-5s %-16.16s %-7d %-7d %s\n", when, "EXEC", e->comm, e->pid, e->ppid, e->filename);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long min_duration_ms = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			min_duration_ms = strtoull(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: %s [-d MIN_DURATION_MS]\n", argv[0]);
			return 2;
		}
	}
	struct bootstrap_bpf *skel = bootstrap_bpf__open();
	if (skel == NULL) {
		fprintf(stderr, "bootstrap: cannot open the BPF skeleton\n");
		return 1;
	}
	skel->rodata->min_duration_ns = min_duration_ms * 1000000ULL;
	int err = bootstrap_bpf__load(skel);
	if (err == 0)
		err = bootstrap_bpf__attach(skel);
	struct bpf_buffer *events = err == 0 ? bpf_buffer__open(skel->maps.events, on_event, NULL) : NULL;
	if (events == NULL) {
		fprintf(stderr, "bootstrap: cannot load and attach the BPF object (%d)\n", err);
		bootstrap_bpf__destroy(skel);
		return 1;
	}
	printf("%-8s %-5s %-16s %-7s %-7s %s\n", "TIME", "EVENT", "COMM", "PID", "PPID", "FILENAME/EXIT CODE");
	fflush(stdout);
	for (;;) {
		err = bpf_buffer__poll(events, 100);
		if (err < 0) {
			fprintf(stderr, "bootstrap: polling failed (%d)\n", err);
			break;
		}
		/* output to a pipe is buffered: written when the buffer fills, and once events pause */
		if (err == 0)
			fflush(stdout);
	}
	bpf_buffer__free(events);
	bootstrap_bpf__destroy(skel);
	return 1;
}
