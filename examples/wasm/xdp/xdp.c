// SPDX-License-Identifier: MIT
/*
 * xdp: attaches an XDP program to a network interface and prints, every INTERVAL_MS, how many
 * packets and bytes it has received. A wasm-bpf guest whose program needs an attach target:
 *   ecli run xdp.wasm INTERFACE [INTERVAL_MS [COUNT]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "libbpf-wasm.h"
#include "xdp.skel.h"
#include "xdp.h"

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s INTERFACE [INTERVAL_MS [COUNT]]\n", argv[0]);
		return 2;
	}
	long interval_ms = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
	long count = argc > 3 ? strtol(argv[3], NULL, 10) : -1;
	if (interval_ms <= 0)
		interval_ms = 1000;

	struct xdp_bpf *skel = xdp_bpf__open_and_load();
	if (skel == NULL) {
		fprintf(stderr, "xdp: cannot load the BPF object\n");
		return 1;
	}
	int err = bpf_set_prog_attach_target(skel->progs.xdp_stats, argv[1]);
	if (err == 0)
		err = xdp_bpf__attach(skel);
	if (err != 0) {
		fprintf(stderr, "xdp: cannot attach to %s (%d)\n", argv[1], err);
		xdp_bpf__destroy(skel);
		return 1;
	}
	int fd = bpf_map__fd(skel->maps.stats);
	printf("counting packets on %s\n", argv[1]);
	fflush(stdout);
	struct timespec pause = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };
	while (count != 0) {
		nanosleep(&pause, NULL);
		unsigned int key = 0;
		struct xdp_stats s;
		err = bpf_map_lookup_elem(fd, &key, &s);
		if (err != 0) {
			fprintf(stderr, "xdp: cannot read the counters (%d)\n", err);
			break;
		}
		printf("packets %llu bytes %llu\n", s.packets, s.bytes);
		fflush(stdout);
		if (count > 0)
			count--;
	}
	xdp_bpf__destroy(skel);
	return err != 0;
}
