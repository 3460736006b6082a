// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark exec storm: WORKERS processes each spawn PATH (and wait for it) until COUNT execs
 * are done in total, as fast as they can or paced to RATE execs per second overall. The
 * argument strings live in this process's memory (posix_spawn shares it with the child until
 * the exec), so tracers that read them at syscall entry find them paged in.
 * Prints "done EXECS FAILURES NANOSECONDS".
 *   exec-gen COUNT RATE WORKERS PATH
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

extern char **environ;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Runs this worker's share; the exit status is the number of failed spawns (capped). */
static int worker(long long share, long long rate, char *path)
{
	char arg0[256], arg1[] = "bench";
	char *args[] = { arg0, arg1, NULL };
	long long start = now_ns(), i;
	int failures = 0, status;
	pid_t pid;

	snprintf(arg0, sizeof(arg0), "%s", path);
	for (i = 0; i < share; i++) {
		if (rate > 0) {
			long long left = start + i * 1000000000LL / rate - now_ns();
			if (left > 0) {
				struct timespec ts = { left / 1000000000LL, left % 1000000000LL };
				nanosleep(&ts, NULL);
			}
		}
		if (posix_spawn(&pid, arg0, NULL, NULL, args, environ) != 0 || waitpid(pid, &status, 0) < 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failures++;
	}
	return failures > 255 ? 255 : failures;
}

int main(int argc, char **argv)
{
	long long count, rate, start, failures = 0;
	int workers, i, status;

	if (argc < 5) {
		fprintf(stderr, "usage: exec-gen COUNT RATE WORKERS PATH\n");
		return 2;
	}
	count = atoll(argv[1]);
	rate = atoll(argv[2]);
	workers = atoi(argv[3]);
	if (workers < 1)
		workers = 1;
	start = now_ns();
	for (i = 0; i < workers; i++) {
		long long share = count / workers + (i < count % workers);
		pid_t pid = fork();
		if (pid == 0)
			_exit(worker(share, rate / workers, argv[4]));
		if (pid < 0)
			failures += share;
	}
	while (wait(&status) > 0)
		if (WIFEXITED(status))
			failures += WEXITSTATUS(status);
	printf("done %lld %lld %lld\n", count - failures, failures, now_ns() - start);
	return 0;
}
