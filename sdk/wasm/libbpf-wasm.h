/* SPDX-License-Identifier: MIT */
/*
 * libbpf-wasm.h — the guest side of the wasm-bpf host ABI, part of ecli-ts.
 *
 * A wasm-bpf program is user space compiled to wasm32-wasi. It reaches the kernel only through
 * the six functions of the host module "wasm_bpf" declared below, which `ecli run module.wasm`
 * provides. On top of them this header offers the part of libbpf's API that BPF skeletons and
 * libbpf-tools-style programs use, so that such a program builds for Wasm mostly unchanged:
 *
 *   skel = prog_bpf__open();             from the skeleton `ecc --wasm-skeleton` writes
 *   skel->rodata->option = 1;            before load: patched into the embedded object
 *   prog_bpf__load(skel);                the host checks, loads and verifies the object
 *   prog_bpf__attach(skel);              every program, by its section (or a target, below)
 *   buf = bpf_buffer__open(skel->maps.events, on_event, ctx);
 *   while (bpf_buffer__poll(buf, 100) >= 0) ;
 *   prog_bpf__destroy(skel);             detaches and unloads everything
 *
 * Build: clang --target=wasm32-wasi -O2 -Wl,--export-table prog.c -o prog.wasm
 * (--export-table exports __indirect_function_table, through which the host calls back).
 *
 * Return values follow libbpf: 0 or a count on success, a negative errno on failure. The errno
 * is Linux's, as the kernel and libbpf return it, whose numbers are not those of wasi-libc's
 * <errno.h>: compare with the BPF_E* constants below (bpf_map_get_next_key(...) == -BPF_ENOENT).
 */
#ifndef LIBBPF_WASM_H
#define LIBBPF_WASM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The host ABI ------------------------------------------------------------------------ */

/* A BPF object loaded by the host; 0 means none. */
typedef uint64_t bpf_object_skel;

#define LIBBPF_WASM_HOST(fn) __attribute__((import_module("wasm_bpf"), import_name(#fn)))

/* Checks, opens and loads the ELF object at obj_buf; returns its handle, or 0 (the host says why
 * on ecli's stderr). */
LIBBPF_WASM_HOST(wasm_load_bpf_object)
bpf_object_skel wasm_load_bpf_object(const void *obj_buf, int obj_buf_sz);

/* Attaches the program named `name`. attach_target NULL: by its section, as libbpf does.
 * Otherwise a cgroup path for a "sockops" program, an interface name for an "xdp" one (other
 * sections ignore the target). 0 or a negative errno. */
LIBBPF_WASM_HOST(wasm_attach_bpf_program)
int wasm_attach_bpf_program(bpf_object_skel obj, const char *name, const char *attach_target);

/* The fd of the object's map `name`, or a negative errno. */
LIBBPF_WASM_HOST(wasm_bpf_map_fd_by_name)
int wasm_bpf_map_fd_by_name(bpf_object_skel obj, const char *name);

/* One map operation (cmd: enum bpf_cmd below). key, value and next_key must each hold the map's
 * key or value size (per-CPU maps: a value per possible CPU, each rounded up to 8 bytes). */
LIBBPF_WASM_HOST(wasm_bpf_map_operate)
int wasm_bpf_map_operate(int fd, int cmd, void *key, void *value, void *next_key, uint64_t flags);

/* Waits up to timeout_ms for records of the ring buffer or perf event array `fd`; copies each
 * into data (at most max_size bytes) and calls the function at index sample_func of the
 * indirect function table as sample_func(ctx, data, size). Returns the number of records, the
 * first non-zero return of the callback, or a negative errno. */
LIBBPF_WASM_HOST(wasm_bpf_buffer_poll)
int wasm_bpf_buffer_poll(bpf_object_skel obj, int fd, int32_t sample_func, uint32_t ctx, char *data, int max_size,
                         int timeout_ms);

/* Detaches the object's programs and unloads it. 0, or a negative errno. */
LIBBPF_WASM_HOST(wasm_close_bpf_object)
int wasm_close_bpf_object(bpf_object_skel obj);

#undef LIBBPF_WASM_HOST

/* ---- Kernel constants the API below takes and returns ---------------------------------------- */

/* Linux errno values, as host calls return them (negated). */
#define BPF_EPERM 1
#define BPF_ENOENT 2
#define BPF_E2BIG 7
#define BPF_EBADF 9
#define BPF_ENOMEM 12
#define BPF_EFAULT 14
#define BPF_EBUSY 16
#define BPF_EEXIST 17
#define BPF_ENODEV 19
#define BPF_EINVAL 22
#define BPF_ENAMETOOLONG 36
#define BPF_EOPNOTSUPP 95

enum bpf_cmd {
    BPF_MAP_LOOKUP_ELEM = 1,
    BPF_MAP_UPDATE_ELEM = 2,
    BPF_MAP_DELETE_ELEM = 3,
    BPF_MAP_GET_NEXT_KEY = 4,
};

/* Flags of BPF_MAP_UPDATE_ELEM. */
enum {
    BPF_ANY = 0,
    BPF_NOEXIST = 1,
    BPF_EXIST = 2,
    BPF_F_LOCK = 4,
};

enum bpf_map_type {
    BPF_MAP_TYPE_UNSPEC = 0,
    BPF_MAP_TYPE_HASH = 1,
    BPF_MAP_TYPE_ARRAY = 2,
    BPF_MAP_TYPE_PROG_ARRAY = 3,
    BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4,
    BPF_MAP_TYPE_PERCPU_HASH = 5,
    BPF_MAP_TYPE_PERCPU_ARRAY = 6,
    BPF_MAP_TYPE_STACK_TRACE = 7,
    BPF_MAP_TYPE_CGROUP_ARRAY = 8,
    BPF_MAP_TYPE_LRU_HASH = 9,
    BPF_MAP_TYPE_LRU_PERCPU_HASH = 10,
    BPF_MAP_TYPE_LPM_TRIE = 11,
    BPF_MAP_TYPE_RINGBUF = 27,
};

/* ---- Maps and programs -------------------------------------------------------------------- */

struct bpf_object;
struct bpf_object_open_opts;

struct bpf_map {
    bpf_object_skel obj;
    const char *name;
};

#ifndef LIBBPF_WASM_TARGET_MAX
#define LIBBPF_WASM_TARGET_MAX 128
#endif

struct bpf_program {
    bpf_object_skel obj;
    const char *name;
    /* Empty: attach by section. See wasm_attach_bpf_program. */
    char attach_target[LIBBPF_WASM_TARGET_MAX];
    /* Cleared by bpf_program__set_autoload(prog, false): attach skips the program. */
    bool autoattach;
};

static inline int bpf_map__fd(const struct bpf_map *map)
{
    return wasm_bpf_map_fd_by_name(map->obj, map->name);
}

static inline const char *bpf_map__name(const struct bpf_map *map)
{
    return map->name;
}

static inline const char *bpf_program__name(const struct bpf_program *prog)
{
    return prog->name;
}

/* The target of attach for programs whose section names none: a cgroup path ("sockops"), an
 * interface name ("xdp"). -BPF_ENAMETOOLONG when it does not fit. */
static inline int bpf_set_prog_attach_target(struct bpf_program *prog, const char *target)
{
    size_t length = target == NULL ? 0 : strlen(target);
    if (length >= sizeof(prog->attach_target))
        return -BPF_ENAMETOOLONG;
    memcpy(prog->attach_target, target == NULL ? "" : target, length + 1);
    return 0;
}

static inline int bpf_program__set_autoload(struct bpf_program *prog, bool autoload)
{
    prog->autoattach = autoload;
    return 0;
}

/* ---- Map elements (libbpf's bpf.h names) --------------------------------------------------- */

static inline int bpf_map_lookup_elem_flags(int fd, const void *key, void *value, uint64_t flags)
{
    return wasm_bpf_map_operate(fd, BPF_MAP_LOOKUP_ELEM, (void *)key, value, NULL, flags);
}

static inline int bpf_map_lookup_elem(int fd, const void *key, void *value)
{
    return bpf_map_lookup_elem_flags(fd, key, value, 0);
}

static inline int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)
{
    return wasm_bpf_map_operate(fd, BPF_MAP_UPDATE_ELEM, (void *)key, (void *)value, NULL, flags);
}

static inline int bpf_map_delete_elem_flags(int fd, const void *key, uint64_t flags)
{
    return wasm_bpf_map_operate(fd, BPF_MAP_DELETE_ELEM, (void *)key, NULL, NULL, flags);
}

static inline int bpf_map_delete_elem(int fd, const void *key)
{
    return bpf_map_delete_elem_flags(fd, key, 0);
}

/* key NULL: the first key. -BPF_ENOENT after the last one. */
static inline int bpf_map_get_next_key(int fd, const void *key, void *next_key)
{
    return wasm_bpf_map_operate(fd, BPF_MAP_GET_NEXT_KEY, (void *)key, NULL, next_key, 0);
}

/* ---- Skeletons ----------------------------------------------------------------------------- */

struct bpf_map_skeleton {
    const char *name;
    struct bpf_map **map;
    /* Where the skeleton's data section pointer (skel->rodata, ...) lives, for internal maps. */
    void **mmaped;
};

struct bpf_prog_skeleton {
    const char *name;
    struct bpf_program **prog;
};

struct bpf_object_skeleton {
    size_t sz;
    const char *name;
    /* The embedded ELF object, writable: skel->rodata points into its .rodata until load. */
    void *data;
    size_t data_sz;
    /* File offsets of .rodata and .bss in data (0: none; .bss has no bytes in the file). */
    size_t rodata_offset;
    size_t bss_offset;

    bpf_object_skel obj;

    int map_cnt;
    int map_skel_sz;
    struct bpf_map_skeleton *maps;

    int prog_cnt;
    int prog_skel_sz;
    struct bpf_prog_skeleton *progs;

    /* File offset of .data in data (0: none): skel->data points there until load. */
    size_t data_offset;
};

static inline bool libbpf_wasm_name_ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcmp(name + n - s, suffix) == 0;
}

static inline struct bpf_map_skeleton *libbpf_wasm_map_skel(const struct bpf_object_skeleton *s, int i)
{
    return (struct bpf_map_skeleton *)((char *)s->maps + (size_t)i * (size_t)s->map_skel_sz);
}

static inline struct bpf_prog_skeleton *libbpf_wasm_prog_skel(const struct bpf_object_skeleton *s, int i)
{
    return (struct bpf_prog_skeleton *)((char *)s->progs + (size_t)i * (size_t)s->prog_skel_sz);
}

/* Allocates the skeleton's maps and programs, and points its .rodata/.data structs into the
 * embedded object. Nothing reaches the host yet. */
static inline int bpf_object__open_skeleton(struct bpf_object_skeleton *s, const struct bpf_object_open_opts *opts)
{
    (void)opts;
    if (s == NULL || s->data == NULL || s->data_sz == 0)
        return -BPF_EINVAL;
    for (int i = 0; i < s->map_cnt; i++) {
        struct bpf_map_skeleton *m = libbpf_wasm_map_skel(s, i);
        struct bpf_map *map = (struct bpf_map *)calloc(1, sizeof(*map));
        if (map == NULL)
            return -BPF_ENOMEM;
        map->name = m->name;
        *m->map = map;
        if (m->mmaped == NULL)
            continue;
        if (s->rodata_offset != 0 && libbpf_wasm_name_ends_with(m->name, ".rodata"))
            *m->mmaped = (char *)s->data + s->rodata_offset;
        else if (s->data_offset != 0 && libbpf_wasm_name_ends_with(m->name, ".data"))
            *m->mmaped = (char *)s->data + s->data_offset;
    }
    for (int i = 0; i < s->prog_cnt; i++) {
        struct bpf_prog_skeleton *p = libbpf_wasm_prog_skel(s, i);
        struct bpf_program *prog = (struct bpf_program *)calloc(1, sizeof(*prog));
        if (prog == NULL)
            return -BPF_ENOMEM;
        prog->name = p->name;
        prog->autoattach = true;
        *p->prog = prog;
    }
    return 0;
}

/* Hands the (patched) object to the host, which loads it. */
static inline int bpf_object__load_skeleton(struct bpf_object_skeleton *s)
{
    if (s == NULL || s->data == NULL || s->data_sz == 0 || s->data_sz > INT32_MAX)
        return -BPF_EINVAL;
    s->obj = wasm_load_bpf_object(s->data, (int)s->data_sz);
    if (s->obj == 0)
        return -BPF_EINVAL;
    for (int i = 0; i < s->map_cnt; i++) {
        struct bpf_map *map = *libbpf_wasm_map_skel(s, i)->map;
        if (map != NULL)
            map->obj = s->obj;
    }
    for (int i = 0; i < s->prog_cnt; i++) {
        struct bpf_program *prog = *libbpf_wasm_prog_skel(s, i)->prog;
        if (prog != NULL)
            prog->obj = s->obj;
    }
    return 0;
}

static inline int bpf_object__attach_skeleton(struct bpf_object_skeleton *s)
{
    for (int i = 0; i < s->prog_cnt; i++) {
        struct bpf_program *prog = *libbpf_wasm_prog_skel(s, i)->prog;
        if (prog == NULL || !prog->autoattach)
            continue;
        int err = wasm_attach_bpf_program(s->obj, prog->name, prog->attach_target[0] ? prog->attach_target : NULL);
        if (err < 0)
            return err;
    }
    return 0;
}

/* Programs stay attached until the object is closed: the ABI has no detach of its own. */
static inline void bpf_object__detach_skeleton(struct bpf_object_skeleton *s)
{
    (void)s;
}

static inline void bpf_object__destroy_skeleton(struct bpf_object_skeleton *s)
{
    if (s == NULL)
        return;
    if (s->obj != 0)
        wasm_close_bpf_object(s->obj);
    for (int i = 0; s->maps != NULL && i < s->map_cnt; i++) {
        struct bpf_map_skeleton *m = libbpf_wasm_map_skel(s, i);
        free(*m->map);
        *m->map = NULL;
    }
    for (int i = 0; s->progs != NULL && i < s->prog_cnt; i++) {
        struct bpf_prog_skeleton *p = libbpf_wasm_prog_skel(s, i);
        free(*p->prog);
        *p->prog = NULL;
    }
    free(s->maps);
    free(s->progs);
    free(s);
}

/* ---- Ring buffers and perf event arrays ----------------------------------------------------- */

typedef int (*bpf_buffer_sample_fn)(void *ctx, void *data, size_t size);

struct bpf_buffer {
    struct bpf_map *events;
    int fd;
    void *ctx;
    bpf_buffer_sample_fn sample_fn;
};

/* The largest record a poll hands to the callback; longer ones are cut to this size. */
#ifndef LIBBPF_WASM_RECORD_MAX
#define LIBBPF_WASM_RECORD_MAX 4096
#endif

/* The default wait of bpf_buffer__poll when timeout_ms <= 0. */
#ifndef LIBBPF_WASM_POLL_TIMEOUT_MS
#define LIBBPF_WASM_POLL_TIMEOUT_MS 100
#endif

/* A buffer over `events` without a callback yet (bpf_buffer__open gives one with). */
static inline struct bpf_buffer *bpf_buffer__new(struct bpf_map *events)
{
    struct bpf_buffer *buffer = (struct bpf_buffer *)calloc(1, sizeof(*buffer));
    if (buffer == NULL)
        return NULL;
    buffer->events = events;
    buffer->fd = -1;
    return buffer;
}

/* A buffer over the ring buffer or perf event array `events` of a loaded object, calling
 * sample_cb(ctx, data, size) for each record. */
static inline struct bpf_buffer *bpf_buffer__open(struct bpf_map *events, bpf_buffer_sample_fn sample_cb, void *ctx)
{
    int fd = bpf_map__fd(events);
    if (fd < 0) {
        errno = -fd;
        return NULL;
    }
    struct bpf_buffer *buffer = bpf_buffer__new(events);
    if (buffer == NULL)
        return NULL;
    buffer->fd = fd;
    buffer->ctx = ctx;
    buffer->sample_fn = sample_cb;
    return buffer;
}

static inline int bpf_buffer__poll(struct bpf_buffer *buffer, int timeout_ms)
{
    static char record[LIBBPF_WASM_RECORD_MAX];
    if (buffer == NULL || buffer->sample_fn == NULL || buffer->fd < 0)
        return -BPF_EINVAL;
    if (timeout_ms <= 0)
        timeout_ms = LIBBPF_WASM_POLL_TIMEOUT_MS;
    /* A function pointer is its index in the indirect function table. */
    return wasm_bpf_buffer_poll(buffer->events->obj, buffer->fd, (int32_t)(intptr_t)buffer->sample_fn,
                                (uint32_t)(uintptr_t)buffer->ctx, record, (int)sizeof(record), timeout_ms);
}

static inline void bpf_buffer__free(struct bpf_buffer *buffer)
{
    free(buffer);
}

#ifdef __cplusplus
}
#endif

#endif /* LIBBPF_WASM_H */
