// SPDX-License-Identifier: MIT
/*
 * A test guest that drives the host ABI through its edge cases, one per mode:
 *   probe events              prints "polling", then "exec <pid> <ppid>" per execve (perf event array) until stopped
 *   probe maps                map element operations on hash, array and per-CPU maps; "maps ok"
 *   probe sockops CGROUP      sockops program on CGROUP; prints the operation counts until stopped
 *   probe callback-stop       the sample callback returns -7: poll returns it
 *   probe bad-fd              map operation on an fd that is not the guest's map
 *   probe wild-key | wild-name | wild-object | wild-buffer | percpu-short | wild-callback
 *                             host calls with pointers, lengths or indexes outside the guest's memory or table
 *   probe trap | spin | sleep | exit N | return N
 *                             after loading and attaching: trap, spin without host calls, sleep,
 *                             exit(N), or return N without closing anything
 * and, without BPF:
 *   probe read PATH           prints the first line of the file PATH, or why it cannot open it
 *   probe stdin               prints "reading stdin", then the first line of its stdin
 *   probe print-controls      writes text with control characters to stdout
 *   probe grow MIB            allocates MIB MiB and says whether it got them
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libbpf-wasm.h"
#include "probe.skel.h"
#include "probe.h"

static struct probe_bpf *skel;

static char *memory_end(void)
{
	return (char *)(__builtin_wasm_memory_size(0) * 65536);
}

static void load(void)
{
	skel = probe_bpf__open_and_load();
	if (skel == NULL) {
		fprintf(stderr, "probe: cannot load\n");
		exit(1);
	}
}

static void attach_execve(void)
{
	int err = wasm_attach_bpf_program(skel->skeleton->obj, "probe_execve", NULL);
	if (err != 0) {
		fprintf(stderr, "probe: cannot attach (%d)\n", err);
		exit(1);
	}
	printf("attached\n");
	fflush(stdout);
}

static int print_exec(void *ctx, void *data, size_t size)
{
	(void)ctx;
	const struct probe_event *e = (const struct probe_event *)data;
	if (size >= sizeof(*e))
		printf("exec %d %d\n", e->pid, e->ppid);
	return 0;
}

static int stop_at_first(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return -7;
}

static int check(const char *what, int got, int expected)
{
	if (got == expected)
		return 0;
	printf("maps: %s returned %d, expected %d\n", what, got, expected);
	return 1;
}

static int maps(void)
{
	int bad = 0;
	int counts = bpf_map__fd(skel->maps.counts), slots = bpf_map__fd(skel->maps.slots);
	int percpu = bpf_map__fd(skel->maps.percpu);
	unsigned int key = 7, next = 0;
	unsigned long long value = 42, read = 0;
	bad |= check("update", bpf_map_update_elem(counts, &key, &value, BPF_NOEXIST), 0);
	bad |= check("update BPF_NOEXIST again", bpf_map_update_elem(counts, &key, &value, BPF_NOEXIST), -BPF_EEXIST);
	bad |= check("lookup", bpf_map_lookup_elem(counts, &key, &read), 0);
	bad |= check("the value looked up", (int)read, 42);
	bad |= check("get_next_key NULL", bpf_map_get_next_key(counts, NULL, &next), 0);
	bad |= check("the first key", (int)next, 7);
	bad |= check("get_next_key after the last", bpf_map_get_next_key(counts, &key, &next), -BPF_ENOENT);
	bad |= check("delete", bpf_map_delete_elem(counts, &key), 0);
	bad |= check("lookup deleted", bpf_map_lookup_elem(counts, &key, &read), -BPF_ENOENT);
	key = 3;
	value = 9;
	bad |= check("array update", bpf_map_update_elem(slots, &key, &value, BPF_ANY), 0);
	bad |= check("array lookup", bpf_map_lookup_elem(slots, &key, &read), 0);
	bad |= check("the array value", (int)read, 9);
	key = 4;
	bad |= check("array lookup out of range", bpf_map_lookup_elem(slots, &key, &read), -BPF_ENOENT);
	key = 0;
	unsigned long long per_cpu[1024];
	bad |= check("per-CPU lookup", bpf_map_lookup_elem(percpu, &key, per_cpu), 0);
	bad |= check("unknown command", wasm_bpf_map_operate(counts, 99, &key, &value, NULL, 0), -BPF_EINVAL);
	bad |= check("unknown map name", wasm_bpf_map_fd_by_name(skel->skeleton->obj, "no_such_map"), -BPF_ENOENT);
	bad |= check("unknown object", wasm_bpf_map_fd_by_name(12345, "counts"), -BPF_EINVAL);
	bad |= check("internal map by the skeleton's name", wasm_bpf_map_fd_by_name(skel->skeleton->obj, "probe_bp.bss") >= 0, 1);
	printf(bad ? "maps failed\n" : "maps ok\n");
	return bad;
}

static int sockops(const char *cgroup)
{
	int err = wasm_attach_bpf_program(skel->skeleton->obj, "probe_sockops", cgroup);
	if (err != 0) {
		fprintf(stderr, "probe: cannot attach to %s (%d)\n", cgroup, err);
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	int fd = bpf_map__fd(skel->maps.counts);
	for (;;) {
		usleep(200000);
		unsigned int key, next;
		unsigned long long count;
		unsigned long long total = 0;
		int more = bpf_map_get_next_key(fd, NULL, &next);
		while (more == 0) {
			if (bpf_map_lookup_elem(fd, &next, &count) == 0)
				total += count;
			key = next;
			more = bpf_map_get_next_key(fd, &key, &next);
		}
		printf("sockops %llu\n", total);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	unsigned long long value = 0;
	unsigned int key = 0;
	if (strcmp(mode, "wild-object") == 0)
		return wasm_load_bpf_object(memory_end() - 100, 1000) == 0;
	if (strcmp(mode, "read") == 0 && argc > 2) {
		FILE *file = fopen(argv[2], "r");
		char line[256];
		if (file == NULL) {
			printf("cannot open %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		printf("read: %s", fgets(line, sizeof(line), file) ? line : "(empty)\n");
		fclose(file);
		return 0;
	}
	if (strcmp(mode, "stdin") == 0) {
		char line[256];
		printf("reading stdin\n");
		fflush(stdout);
		printf("stdin: %s", fgets(line, sizeof(line), stdin) ? line : "(end)\n");
		return 0;
	}
	if (strcmp(mode, "print-controls") == 0) {
		printf("red\x1b[31m bell\a tab\t cr\r end\n");
		fprintf(stderr, "stderr\x1b]0;title\a\n");
		return 0;
	}
	if (strcmp(mode, "grow") == 0 && argc > 2) {
		size_t bytes = (size_t)atoi(argv[2]) << 20;
		char *block = malloc(bytes);
		if (block == NULL) {
			printf("grow: malloc of %s MiB failed\n", argv[2]);
			return 1;
		}
		memset(block, 1, bytes);
		/* the block is read, so that the compiler keeps the allocation */
		printf("grow: got %s MiB (last byte %d)\n", argv[2], block[bytes - 1]);
		return 0;
	}
	load();
	if (strcmp(mode, "maps") == 0)
		return maps();
	if (strcmp(mode, "sockops") == 0 && argc > 2)
		return sockops(argv[2]);
	if (strcmp(mode, "bad-fd") == 0) {
		printf("bad-fd %d\n", wasm_bpf_map_operate(1, BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
		return 0;
	}
	if (strcmp(mode, "wild-key") == 0)
		return wasm_bpf_map_operate(bpf_map__fd(skel->maps.counts), BPF_MAP_LOOKUP_ELEM, memory_end() - 2, &value, NULL, 0);
	if (strcmp(mode, "percpu-short") == 0)
		return wasm_bpf_map_operate(bpf_map__fd(skel->maps.percpu), BPF_MAP_LOOKUP_ELEM, &key, memory_end() - 8, NULL, 0);
	if (strcmp(mode, "wild-name") == 0) {
		memory_end()[-1] = 'x';
		return wasm_attach_bpf_program(skel->skeleton->obj, memory_end() - 1, NULL);
	}
	attach_execve();
	int fd = bpf_map__fd(skel->maps.events);
	if (strcmp(mode, "wild-buffer") == 0)
		return wasm_bpf_buffer_poll(skel->skeleton->obj, fd, (int32_t)(intptr_t)print_exec, 0, memory_end() - 10, 4096, 100);
	if (strcmp(mode, "wild-callback") == 0)
		return wasm_bpf_buffer_poll(skel->skeleton->obj, fd, 1 << 30, 0, (char *)&value, sizeof(value), 100);
	if (strcmp(mode, "events") == 0) {
		struct bpf_buffer *buffer = bpf_buffer__open(skel->maps.events, print_exec, NULL);
		/* A perf event array's buffer is made at the first poll: events before it are lost. */
		bpf_buffer__poll(buffer, 1);
		printf("polling\n");
		fflush(stdout);
		for (;;) {
			int n = bpf_buffer__poll(buffer, 100);
			if (n < 0) {
				fprintf(stderr, "probe: poll failed (%d)\n", n);
				return 1;
			}
			if (n > 0)
				fflush(stdout);
		}
	}
	if (strcmp(mode, "callback-stop") == 0) {
		struct bpf_buffer *buffer = bpf_buffer__open(skel->maps.events, stop_at_first, NULL);
		int n = bpf_buffer__poll(buffer, 1);
		printf("polling\n");
		fflush(stdout);
		while (n == 0)
			n = bpf_buffer__poll(buffer, 100);
		printf("poll returned %d\n", n);
		return 0;
	}
	if (strcmp(mode, "trap") == 0)
		__builtin_trap();
	if (strcmp(mode, "spin") == 0) {
		volatile unsigned long long spins = 0;
		for (;;)
			spins++;
	}
	if (strcmp(mode, "sleep") == 0) {
		sleep(1000);
		return 0;
	}
	if (strcmp(mode, "exit") == 0 && argc > 2)
		exit(atoi(argv[2]));
	if (strcmp(mode, "return") == 0 && argc > 2)
		return atoi(argv[2]);
	fprintf(stderr, "probe: unknown mode %s\n", mode);
	return 2;
}
