// SPDX-License-Identifier: MIT
/*
 * runqlat: how long runnable tasks wait for a CPU, as a log2 histogram per interval. A wasm-bpf
 * guest that reads its BPF map from user space (wasm_bpf_map_operate):
 *   ecli run runqlat.wasm [-m] [-P] [INTERVAL [COUNT]]
 * -m: milliseconds instead of microseconds; -P: a histogram per process. With COUNT it returns
 * after that many intervals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libbpf-wasm.h"
#include "runqlat.skel.h"
#include "runqlat.h"

static void print_histogram(const struct runqlat_hist *hist, const char *unit)
{
	int last = -1;
	unsigned int max = 0;
	for (int i = 0; i < RUNQLAT_SLOTS; i++) {
		if (hist->slots[i] > 0)
			last = i;
		if (hist->slots[i] > max)
			max = hist->slots[i];
	}
	printf("%24s : %-10s distribution\n", unit, "count");
	for (int i = 0; i <= last; i++) {
		unsigned long long low = i == 0 ? 0 : 1ULL << i;
		unsigned long long high = (1ULL << (i + 1)) - 1;
		int stars = max == 0 ? 0 : (int)((unsigned long long)hist->slots[i] * 40 / max);
		char bar[41];
		memset(bar, '*', (size_t)stars);
		bar[stars] = 0;
		printf("%10llu -> %-10llu : %-10u |%-40s|\n", low, high, hist->slots[i], bar);
	}
}

/* Prints every histogram of the map, then empties it. -1 when the map cannot be read. */
static int print_and_clear(int fd, const char *unit, int per_process)
{
	unsigned int key, next;
	struct runqlat_hist hist;
	int err = bpf_map_get_next_key(fd, NULL, &next);
	while (err == 0) {
		if (bpf_map_lookup_elem(fd, &next, &hist) == 0) {
			if (per_process)
				printf("\npid = %u %.*s\n", next, RUNQLAT_COMM_LEN, hist.comm);
			print_histogram(&hist, unit);
		}
		key = next;
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	if (err != -BPF_ENOENT) {
		fprintf(stderr, "runqlat: cannot read the histograms (%d)\n", err);
		return -1;
	}
	while (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		err = bpf_map_delete_elem(fd, &next);
		if (err != 0) {
			fprintf(stderr, "runqlat: cannot clear the histograms (%d)\n", err);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int per_process = 0, milliseconds = 0;
	long interval = 1, count = -1;
	int positional = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-P") == 0)
			per_process = 1;
		else if (strcmp(argv[i], "-m") == 0)
			milliseconds = 1;
		else if (argv[i][0] >= '0' && argv[i][0] <= '9' && positional == 0 && ++positional)
			interval = strtol(argv[i], NULL, 10);
		else if (argv[i][0] >= '0' && argv[i][0] <= '9' && positional == 1 && ++positional)
			count = strtol(argv[i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [-m] [-P] [INTERVAL [COUNT]]\n", argv[0]);
			return 2;
		}
	}
	if (interval <= 0)
		interval = 1;

	struct runqlat_bpf *skel = runqlat_bpf__open();
	if (skel == NULL) {
		fprintf(stderr, "runqlat: cannot open the BPF skeleton\n");
		return 1;
	}
	skel->rodata->targ_per_process = per_process;
	skel->rodata->targ_ms = milliseconds;
	int err = runqlat_bpf__load(skel);
	if (err == 0)
		err = runqlat_bpf__attach(skel);
	if (err != 0) {
		fprintf(stderr, "runqlat: cannot load and attach the BPF object (%d)\n", err);
		runqlat_bpf__destroy(skel);
		return 1;
	}
	int fd = bpf_map__fd(skel->maps.hists);
	printf("Tracing run queue latency... Hit Ctrl-C to end.\n");
	fflush(stdout);
	while (count != 0) {
		sleep((unsigned int)interval);
		printf("\n");
		err = print_and_clear(fd, milliseconds ? "msecs" : "usecs", per_process);
		fflush(stdout);
		if (err != 0)
			break;
		if (count > 0)
			count--;
	}
	runqlat_bpf__destroy(skel);
	return err != 0;
}
