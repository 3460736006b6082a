// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Runs a command and reports what it cost, for the benchmark:
 *   rusage REPORT COMMAND [ARGS...]
 * REPORT gets "pid PID" as soon as the command is started, and at its end
 * "utime_us U stime_us S maxrss_kb M status W" (ru_* of the command and all its threads;
 * W is the raw wait status). SIGINT, SIGTERM and SIGHUP are passed on to the command.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

static volatile pid_t child;

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct rusage ru;
	FILE *report;
	int status;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage REPORT COMMAND [ARGS...]\n");
		return 2;
	}
	report = fopen(argv[1], "w");
	if (!report) {
		perror(argv[1]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	child = fork();
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (child < 0) {
		perror("fork");
		return 2;
	}
	fprintf(report, "pid %d\n", (int)child);
	fflush(report);
	while (wait4(child, &status, 0, &ru) < 0)
		;
	fprintf(report, "utime_us %lld stime_us %lld maxrss_kb %ld status %d\n",
		(long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
		(long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss, status);
	fclose(report);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
