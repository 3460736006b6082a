// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark event source: calls getppid() COUNT times, as fast as it can or paced to RATE
 * calls per second. Prints "ready PID" and waits for a line on stdin first, so that a tracer
 * filtering on this PID can attach before the first call; prints "done COUNT NANOSECONDS".
 *   rate-gen COUNT [RATE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long count, rate, start, i;
	char line[16];

	if (argc < 2) {
		fprintf(stderr, "usage: rate-gen COUNT [RATE]\n");
		return 2;
	}
	count = atoll(argv[1]);
	rate = argc > 2 ? atoll(argv[2]) : 0;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;

	start = now_ns();
	if (rate <= 0) {
		for (i = 0; i < count; i++)
			syscall(SYS_getppid);
	} else {
		/* bursts of 1/1000 s worth of calls, each burst started on schedule */
		long long burst = rate / 1000 > 0 ? rate / 1000 : 1;
		for (i = 0; i < count;) {
			long long due = start + i * 1000000000LL / rate;
			long long left = due - now_ns();
			if (left > 0) {
				struct timespec ts = { left / 1000000000LL, left % 1000000000LL };
				nanosleep(&ts, NULL);
			}
			for (long long j = 0; j < burst && i < count; j++, i++)
				syscall(SYS_getppid);
		}
	}
	printf("done %lld %lld\n", count, now_ns() - start);
	return 0;
}
