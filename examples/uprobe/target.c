// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test target for the uprobe example. Build it where the probe sections point:
 *   cc -O0 -g -o /tmp/ecli-uprobe-target target.c
 * Usage: /tmp/ecli-uprobe-target [calls] [delay_ms]
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

volatile int result;

/* exported and never inlined, so the probe finds it in the symbol table */
__attribute__((noinline)) int uprobe_target_add(int a, int b)
{
	return a + b;
}

int main(int argc, char **argv)
{
	int calls = argc > 1 ? atoi(argv[1]) : 1;
	int delay_ms = argc > 2 ? atoi(argv[2]) : 0;

	for (int i = 0; i < calls; i++) {
		result = uprobe_target_add(i, 2 * i);
		if (delay_ms > 0)
			usleep(delay_ms * 1000);
	}
	printf("%d\n", result);
	return 0;
}
