// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A busy test program for the profile example: spins in spin_in_user (user
 * time) and calls getppid in a loop (kernel time) for a few seconds.
 *   cc -O1 -g -fno-omit-frame-pointer -o busy busy.c
 * Usage: ./busy [seconds]
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long sink;

/* not inlined, so the user frames name it */
__attribute__((noinline)) void spin_in_user(void)
{
	for (unsigned long i = 0; i < 2000000; i++)
		sink += i;
}

__attribute__((noinline)) void spin_in_kernel(void)
{
	for (int i = 0; i < 20000; i++)
		sink += getppid();
}

int main(int argc, char **argv)
{
	time_t end = time(NULL) + (argc > 1 ? atoi(argv[1]) : 3);

	while (time(NULL) < end) {
		spin_in_user();
		spin_in_kernel();
	}
	return 0;
}
