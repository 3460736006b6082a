// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test target for the usdt example: fires the USDT probe ecli:request once per
 * request. Build it where the probe section points (needs <sys/sdt.h>, Debian's
 * systemtap-sdt-dev):
 *   cc -O1 -g -o /tmp/ecli-usdt-target target.c
 * Usage: /tmp/ecli-usdt-target [requests] [delay_ms]
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/sdt.h>

int main(int argc, char **argv)
{
	int requests = argc > 1 ? atoi(argv[1]) : 1;
	int delay_ms = argc > 2 ? atoi(argv[2]) : 0;
	char path[32];
	long total = 0;

	for (int i = 0; i < requests; i++) {
		long size = 1000L * (i + 1);

		snprintf(path, sizeof(path), "/request/%d", i);
		/* provider ecli, probe request, three arguments */
		DTRACE_PROBE3(ecli, request, i, path, size);
		total += size;
		if (delay_ms > 0)
			usleep(delay_ms * 1000);
	}
	printf("%ld\n", total);
	return 0;
}
