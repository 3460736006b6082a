// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The benchmark's reference consumer: a plain C program over libbpf (no skeleton) that runs a
 * rate package's BPF object and prints each record as the JSON line `ecli run -j` prints.
 *   consumer OBJECT.bpf.o ringbuf|perf PID [PERF_PAGES]
 * Prints "attached" on stderr once attached; on SIGINT/SIGTERM drains the buffer and prints
 * "lost N kernel_drops M" on stderr (N from the perf buffer's lost callback, M from the
 * program's drop counter).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

struct rate_event {
	__u64 seq;
	__u32 pid;
	__u32 cpu;
	char comm[16];
};

static volatile sig_atomic_t exiting;
static unsigned long long lost;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

/* comm as a JSON string body: the escapes serde_json uses */
static void print_comm(const char *comm, size_t size)
{
	for (size_t i = 0; i < size && comm[i]; i++) {
		unsigned char c = comm[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
}

static void print_event(const void *data, size_t size)
{
	const struct rate_event *e = data;

	if (size < sizeof(*e))
		return;
	fputs("{\"comm\":\"", stdout);
	print_comm(e->comm, sizeof(e->comm));
	printf("\",\"cpu\":%u,\"pid\":%u,\"seq\":%llu}\n", e->cpu, e->pid, (unsigned long long)e->seq);
}

static int on_ring_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	print_event(data, size);
	return 0;
}

static void on_perf_record(void *ctx, int cpu, void *data, __u32 size)
{
	(void)ctx;
	(void)cpu;
	print_event(data, size);
}

static void on_perf_lost(void *ctx, int cpu, __u64 count)
{
	(void)ctx;
	(void)cpu;
	lost += count;
}

/* Sets `const volatile int name` in .rodata, found through the object's BTF like a skeleton would. */
static int set_rodata_int(struct bpf_object *obj, const char *name, int value)
{
	struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	const void *initial;
	char image[4096];
	size_t size;
	int id, i;

	if (!rodata || !btf)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return id;
	sec = btf__type_by_id(btf, id);
	initial = bpf_map__initial_value(rodata, &size);
	if (!initial || size > sizeof(image))
		return -E2BIG;
	memcpy(image, initial, size);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);
		if (strcmp(btf__name_by_offset(btf, var->name_off), name) == 0 && vs->offset + sizeof(int) <= size) {
			memcpy(image + vs->offset, &value, sizeof(int));
			return bpf_map__set_initial_value(rodata, image, size);
		}
	}
	return -ENOENT;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	struct bpf_object *obj;
	struct bpf_program *prog;
	__u64 drops = 0;
	__u32 drops_key = 1;
	int ringbuf, err, events_fd;

	if (argc < 4) {
		fprintf(stderr, "usage: consumer OBJECT.bpf.o ringbuf|perf PID [PERF_PAGES]\n");
		return 2;
	}
	ringbuf = strcmp(argv[2], "ringbuf") == 0;
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "consumer: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = set_rodata_int(obj, "target_tgid", atoi(argv[3]));
	if (!err)
		err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "consumer: cannot load %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "consumer: cannot attach %s: %s\n", bpf_program__name(prog), strerror(errno));
			return 1;
		}
	}
	events_fd = bpf_object__find_map_fd_by_name(obj, "events");
	if (ringbuf)
		rb = ring_buffer__new(events_fd, on_ring_record, NULL, NULL);
	else
		pb = perf_buffer__new(events_fd, argc > 4 ? atoi(argv[4]) : 64, on_perf_record, on_perf_lost, NULL, NULL);
	if (!rb && !pb) {
		fprintf(stderr, "consumer: cannot read the events map: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "attached\n");

	while (!exiting) {
		err = rb ? ring_buffer__poll(rb, 100) : perf_buffer__poll(pb, 100);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "consumer: poll failed: %s\n", strerror(-err));
			break;
		}
	}
	if (rb)
		ring_buffer__consume(rb);
	else
		perf_buffer__consume(pb);
	fflush(stdout);
	bpf_map_lookup_elem(bpf_object__find_map_fd_by_name(obj, "rate_counters"), &drops_key, &drops);
	fprintf(stderr, "lost %llu kernel_drops %llu\n", lost, (unsigned long long)drops);
	ring_buffer__free(rb);
	perf_buffer__free(pb);
	bpf_object__close(obj);
	return 0;
}
