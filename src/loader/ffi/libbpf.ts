/**
 * koffi bindings to the system libbpf (1.x) and the few libc calls the loader needs. The only
 * module that imports koffi. koffi and the libraries load on first use (koffi alone costs
 * ~10 ms), so commands that never touch the kernel do not pay for them. C symbols keep their libbpf
 * names; pointer-returning libbpf calls come back as a PointerResult carrying the errno read
 * immediately after the call.
 */
import { createRequire } from 'node:module';
import type { LibraryHandle } from 'koffi';
import { EcliError } from '../../errors.js';
import { startupMark } from '../../startup-mark.js';
import { OLDEST_LIBBPF, releaseAtLeast } from '../../model/section-defs.js';
import type { Libbpf, LibbpfIdentity, Native, OpenOpts, Pointer, PointerResult, TcHook, TcOpts, TcxOpts } from './native.js';
import { syscallNumbers } from './syscalls.js';

type Koffi = typeof import('koffi');

const LIBBPF_SONAME = 'libbpf.so.1';
const LIBC_SONAME = 'libc.so.6';
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const POLLIN = 1;
const POLLERR = 8;
const POLLHUP = 16;
const IF_NAMESIZE = 16;
const MAP_FAILED = (1n << 64n) - 1n;

/** Struct sizes of libbpf 1.1.2's headers (bpf_tcx_opts: 1.3's), checked against koffi's layout when loading. */
const EXPECTED_SIZES = { bpf_object_open_opts: 80, bpf_tc_hook: 24, bpf_tc_opts: 32, bpf_xdp_attach_opts: 16, bpf_tcx_opts: 32 };
/** Names another libbpf.so.1 to load by path instead of the system's (another release, e.g. to test with). */
const LIBBPF_PATH_VARIABLE = 'ECLI_LIBBPF';

type NativeFunction = ReturnType<LibraryHandle['func']>;

let cached: Native | undefined;

/**
 * The bindings to the system's libbpf and libc, loaded on first use: what the loader's classes
 * use unless they are handed another Native (tests hand in a fake).
 */
export function native(): Native {
  if (cached === undefined) {
    cached = loadNative();
    startupMark('ffi');
  }
  return cached;
}

function loadKoffi(): Koffi {
  try {
    return createRequire(import.meta.url)('koffi') as Koffi;
  } catch (error) {
    throw new EcliError('TOOL_MISSING', `koffi cannot be loaded: ${(error as Error).message.split('\n')[0]}`, {
      hint: 'reinstall the dependencies with npm install (its native part is an optional dependency: do not use --omit=optional)',
      cause: error,
    });
  }
}

function loadNative(): Native {
  // Refused before anything is loaded: the wrong numbers would reach other system calls.
  const SYS = syscallNumbers(process.arch);
  const koffi = loadKoffi();
  const { lib, identity } = loadLibbpf(koffi, process.env[LIBBPF_PATH_VARIABLE]);
  const libc = koffi.load(LIBC_SONAME);
  const types = declareTypes(koffi);
  /** A function the library may lack (added by a later release): undefined then. */
  const optional = (declaration: string): NativeFunction | undefined => {
    try {
      return lib.func(declaration);
    } catch {
      return undefined;
    }
  };
  const attachTcx = optional('bpf_link *bpf_program__attach_tcx(bpf_program *prog, int ifindex, const bpf_tcx_opts *opts)');

  const withErrno =
    (fn: NativeFunction) =>
    (...args: unknown[]): PointerResult => {
      const ptr = fn(...args) as Pointer | null;
      if (ptr !== null) return { ptr, errno: 0 };
      // libbpf 1.x sets errno on NULL; a 0 here would be a libbpf bug, reported as EINVAL.
      return { ptr: null, errno: koffi.errno() || 22 };
    };

  const sized = <T extends object>(struct: keyof typeof EXPECTED_SIZES, fields: T) => ({ ...fields, sz: EXPECTED_SIZES[struct] });
  const tcHook = (hook: TcHook) => sized('bpf_tc_hook', { parent: 0, ...hook });
  const tcOpts = (opts: TcOpts) => sized('bpf_tc_opts', opts);
  const xdpOpts = (opts: { old_prog_fd: number }) => sized('bpf_xdp_attach_opts', opts);
  // koffi copies an _Inout_ struct back into the object it was given: that object is ours, so
  // the values libbpf wrote are copied on into the caller's.
  const withWrittenBack = (opts: TcOpts, call: (struct: TcOpts & { sz: number }) => number): number => {
    const struct = tcOpts(opts);
    const result = call(struct);
    Object.assign(opts, { prog_id: struct.prog_id, handle: struct.handle, priority: struct.priority });
    return result;
  };
  const openMem = withErrno(lib.func('bpf_object *bpf_object__open_mem(void *buf, size_t size, const bpf_object_open_opts *opts)'));
  const xdpAttach = lib.func('int bpf_xdp_attach(int ifindex, int prog_fd, uint32_t flags, const bpf_xdp_attach_opts *opts)');
  const xdpDetach = lib.func('int bpf_xdp_detach(int ifindex, uint32_t flags, const bpf_xdp_attach_opts *opts)');
  const tcHookCreate = lib.func('int bpf_tc_hook_create(bpf_tc_hook *hook)');
  const tcHookDestroy = lib.func('int bpf_tc_hook_destroy(bpf_tc_hook *hook)');
  const tcAttach = lib.func('int bpf_tc_attach(const bpf_tc_hook *hook, _Inout_ bpf_tc_opts *opts)');
  const tcDetach = lib.func('int bpf_tc_detach(const bpf_tc_hook *hook, const bpf_tc_opts *opts)');
  const attachIter = withErrno(lib.func('bpf_link *bpf_program__attach_iter(bpf_program *prog, void *opts)'));
  const insnCount = lib.func('size_t bpf_program__insn_cnt(bpf_program *prog)');

  const libbpf: Libbpf = {
    libbpf_set_print: lib.func('void *libbpf_set_print(void *fn)'),
    libbpf_num_possible_cpus: lib.func('int libbpf_num_possible_cpus(void)'),

    bpf_object__open_mem: (buf: Pointer, size: number, opts: OpenOpts) => openMem(buf, size, sized('bpf_object_open_opts', opts)),
    bpf_object__load: lib.func('int bpf_object__load(bpf_object *obj)'),
    bpf_object__close: lib.func('void bpf_object__close(bpf_object *obj)'),
    bpf_object__next_map: lib.func('bpf_map *bpf_object__next_map(bpf_object *obj, bpf_map *prev)'),
    bpf_object__next_program: lib.func('bpf_program *bpf_object__next_program(bpf_object *obj, bpf_program *prev)'),

    bpf_map__name: lib.func('const char *bpf_map__name(bpf_map *map)'),
    bpf_map__type: lib.func('int bpf_map__type(bpf_map *map)'),
    bpf_map__key_size: lib.func('uint32_t bpf_map__key_size(bpf_map *map)'),
    bpf_map__value_size: lib.func('uint32_t bpf_map__value_size(bpf_map *map)'),
    bpf_map__max_entries: lib.func('uint32_t bpf_map__max_entries(bpf_map *map)'),
    bpf_map__btf_key_type_id: lib.func('uint32_t bpf_map__btf_key_type_id(bpf_map *map)'),
    bpf_map__btf_value_type_id: lib.func('uint32_t bpf_map__btf_value_type_id(bpf_map *map)'),
    bpf_map__fd: lib.func('int bpf_map__fd(bpf_map *map)'),
    bpf_map__set_initial_value: lib.func('int bpf_map__set_initial_value(bpf_map *map, const uint8_t *data, size_t size)'),

    bpf_program__name: lib.func('const char *bpf_program__name(bpf_program *prog)'),
    bpf_program__section_name: lib.func('const char *bpf_program__section_name(bpf_program *prog)'),
    bpf_program__fd: lib.func('int bpf_program__fd(bpf_program *prog)'),
    bpf_program__insns: lib.func('const void *bpf_program__insns(bpf_program *prog)'),
    bpf_program__insn_cnt: (prog: Pointer) => Number(insnCount(prog)),
    bpf_program__attach: withErrno(lib.func('bpf_link *bpf_program__attach(bpf_program *prog)')),
    bpf_program__attach_xdp: withErrno(lib.func('bpf_link *bpf_program__attach_xdp(bpf_program *prog, int ifindex)')),
    bpf_program__attach_cgroup: withErrno(lib.func('bpf_link *bpf_program__attach_cgroup(bpf_program *prog, int cgroup_fd)')),
    bpf_program__attach_perf_event: withErrno(lib.func('bpf_link *bpf_program__attach_perf_event(bpf_program *prog, int pfd)')),
    ...(attachTcx === undefined
      ? {}
      : {
          bpf_program__attach_tcx: (prog: Pointer, ifindex: number, opts: TcxOpts) =>
            withErrno(attachTcx)(prog, ifindex, sized('bpf_tcx_opts', { relative_fd: 0, expected_revision: 0, ...opts })),
        }),
    bpf_program__attach_iter: (prog: Pointer) => attachIter(prog, null),
    bpf_link__fd: lib.func('int bpf_link__fd(bpf_link *link)'),
    bpf_iter_create: lib.func('int bpf_iter_create(int link_fd)'),
    bpf_map__set_value_size: lib.func('int bpf_map__set_value_size(bpf_map *map, uint32_t size)'),
    bpf_map__set_max_entries: lib.func('int bpf_map__set_max_entries(bpf_map *map, uint32_t max_entries)'),
    bpf_program__set_type: lib.func('int bpf_program__set_type(bpf_program *prog, int type)'),
    bpf_program__set_expected_attach_type: lib.func('int bpf_program__set_expected_attach_type(bpf_program *prog, int type)'),
    bpf_link__destroy: lib.func('int bpf_link__destroy(bpf_link *link)'),

    bpf_xdp_attach: (ifindex: number, progFd: number, flags: number, opts: { old_prog_fd: number }) => xdpAttach(ifindex, progFd, flags, xdpOpts(opts)),
    bpf_xdp_detach: (ifindex: number, flags: number, opts: { old_prog_fd: number }) => xdpDetach(ifindex, flags, xdpOpts(opts)),
    bpf_tc_hook_create: (hook: TcHook) => tcHookCreate(tcHook(hook)),
    bpf_tc_hook_destroy: (hook: TcHook) => tcHookDestroy(tcHook(hook)),
    bpf_tc_attach: (hook: TcHook, opts: TcOpts) => withWrittenBack(opts, (struct) => tcAttach(tcHook(hook), struct)),
    bpf_tc_detach: (hook: TcHook, opts: TcOpts) => tcDetach(tcHook(hook), tcOpts(opts)),

    bpf_map_lookup_elem: lib.func('int bpf_map_lookup_elem(int fd, const uint8_t *key, _Out_ uint8_t *value)'),
    bpf_map_lookup_elem_flags: lib.func('int bpf_map_lookup_elem_flags(int fd, const uint8_t *key, _Out_ uint8_t *value, uint64_t flags)'),
    bpf_map_get_next_key: lib.func('int bpf_map_get_next_key(int fd, const uint8_t *key, _Out_ uint8_t *next_key)'),
    bpf_map_lookup_batch: lib.func(
      'int bpf_map_lookup_batch(int fd, uint8_t *in_batch, _Out_ uint8_t *out_batch, _Out_ uint8_t *keys, _Out_ uint8_t *values, _Inout_ uint32_t *count, void *opts)',
    ),
    bpf_map_lookup_and_delete_batch: lib.func(
      'int bpf_map_lookup_and_delete_batch(int fd, uint8_t *in_batch, _Out_ uint8_t *out_batch, _Out_ uint8_t *keys, _Out_ uint8_t *values, _Inout_ uint32_t *count, void *opts)',
    ),
    bpf_map_delete_elem: lib.func('int bpf_map_delete_elem(int fd, const uint8_t *key)'),
    bpf_map_delete_elem_flags: lib.func('int bpf_map_delete_elem_flags(int fd, const uint8_t *key, uint64_t flags)'),
    bpf_map_update_elem: lib.func('int bpf_map_update_elem(int fd, const uint8_t *key, const uint8_t *value, uint64_t flags)'),
    bpf_prog_get_fd_by_id: lib.func('int bpf_prog_get_fd_by_id(uint32_t id)'),
    bpf_obj_get_info_by_fd: lib.func('int bpf_obj_get_info_by_fd(int bpf_fd, _Inout_ uint8_t *info, _Inout_ uint32_t *info_len)'),

    perf_buffer__new: withErrno(lib.func('perf_buffer *perf_buffer__new(int map_fd, size_t page_cnt, void *sample_cb, void *lost_cb, void *ctx, void *opts)')),
    perf_buffer__poll: lib.func('int perf_buffer__poll(perf_buffer *pb, int timeout_ms)'),
    perf_buffer__free: lib.func('void perf_buffer__free(perf_buffer *pb)'),
  } as unknown as Libbpf;

  const initialValue = lib.func('void *bpf_map__initial_value(bpf_map *map, _Out_ size_t *psize)');
  const syscall = libc.func('long syscall(long number, ...)');
  const closeFd = libc.func('int close(int fd)');
  const exitNow = libc.func('void _exit(int status)');
  const ifNameToIndex = libc.func('unsigned int if_nametoindex(const char *name)');
  const socketFd = libc.func('int socket(int domain, int type, int protocol)');
  const sendBytes = libc.func('long send(int fd, const uint8_t *buf, size_t len, int flags)');
  const recvBytes = libc.func('long recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)');
  const indexToName = libc.func('void *if_indextoname(unsigned int ifindex, _Out_ uint8_t *ifname)');
  const vasprintf = libc.func('int vasprintf(_Out_ void **strp, void *fmt, void *ap)');
  const memcpy = libc.func('void *memcpy(_Out_ uint8_t *dst, void *src, size_t n)');
  const cfree = libc.func('void free(void *ptr)');
  const mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)');
  const munmap = libc.func('int munmap(void *addr, size_t length)');
  const getpagesize = libc.func('int getpagesize(void)');
  const pollFds = libc.func('int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)');

  const readBytes = libc.func('long read(int fd, _Out_ uint8_t *buf, size_t count)');

  return {
    libbpf,
    libbpfIdentity: identity,
    mapInitialValue(map) {
      const size = [0];
      const ptr = initialValue(map, size) as Pointer | null;
      if (ptr === null) return undefined;
      const bytes = new Uint8Array(Number(size[0]));
      if (bytes.length > 0) memcpy(bytes, ptr, bytes.length);
      return bytes;
    },
    perfEventOpen(attr, pid, cpu, groupFd, flags) {
      const fd = Number(syscall(SYS.perfEventOpen, 'void *', attr, 'int', pid, 'int', cpu, 'int', groupFd, 'unsigned long', flags));
      return fd >= 0 ? fd : -koffi.errno();
    },
    bpf(cmd, attr) {
      const result = Number(syscall(SYS.bpf, 'int', cmd, 'void *', attr, 'unsigned int', attr.length));
      return result >= 0 ? result : -(koffi.errno() || 22);
    },
    interfaceIndex: (name) => ifNameToIndex(name) as number,
    close: (fd) => closeFd(fd) as number,
    exitProcess(status): never {
      exitNow(status);
      throw new EcliError('INTERNAL', '_exit returned');
    },
    socket(domain, type, protocol) {
      const fd = socketFd(domain, type, protocol) as number;
      return fd >= 0 ? fd : -(koffi.errno() || 22);
    },
    send(fd, data) {
      const sent = Number(sendBytes(fd, data, data.length, 0));
      return sent >= 0 ? sent : -(koffi.errno() || 22);
    },
    recv(fd, target) {
      const received = Number(recvBytes(fd, target, target.length, 0));
      return received >= 0 ? received : -(koffi.errno() || 22);
    },
    read(fd, target) {
      const count = Number(readBytes(fd, target, target.length));
      return count >= 0 ? count : -(koffi.errno() || 22);
    },
    interfaceName(ifindex) {
      const name = new Uint8Array(IF_NAMESIZE);
      if (indexToName(ifindex, name) === null) return undefined;
      return Buffer.from(name.subarray(0, name.indexOf(0) < 0 ? IF_NAMESIZE : name.indexOf(0))).toString();
    },
    formatVaList(fmt, ap) {
      const out: (Pointer | null)[] = [null];
      const n = vasprintf(out, fmt, ap) as number;
      const ptr = out[0];
      if (n < 0 || ptr === null || ptr === undefined) return '';
      try {
        return koffi.decode.string(ptr, n);
      } finally {
        cfree(ptr);
      }
    },
    copyInto(target, ptr, size) {
      memcpy(target, ptr, size);
    },
    allocCopy(bytes) {
      const ptr = koffi.alloc('uint8_t', Math.max(1, bytes.length)) as Pointer;
      new Uint8Array(koffi.view(ptr, bytes.length)).set(bytes);
      return ptr;
    },
    free: (ptr) => koffi.free(ptr),
    pageSize: getpagesize() as number,
    mapShared(fd, length, offset, writable) {
      const ptr = mmap(null, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, offset) as Pointer;
      return ptr === MAP_FAILED ? { ptr: null, errno: koffi.errno() || 22 } : { ptr, errno: 0 };
    },
    unmap(ptr, length) {
      munmap(ptr, length);
    },
    waitReadable(fd, timeoutMs) {
      const pollfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
      pollfd.writeInt32LE(fd, 0);
      pollfd.writeInt16LE(POLLIN, 4);
      const result = pollFds(pollfd, 1, timeoutMs) as number;
      return result < 0 ? -(koffi.errno() || 22) : result;
    },
    hungUp(fd) {
      const pollfd = Buffer.alloc(8);
      pollfd.writeInt32LE(fd, 0); // events 0: POLLERR and POLLHUP are always reported
      if ((pollFds(pollfd, 1, 0) as number) <= 0) return false;
      return (pollfd.readInt16LE(6) & (POLLERR | POLLHUP)) !== 0;
    },
    view: (ptr, length) => koffi.view(ptr, length),
    registerPrintCallback: (fn) => koffi.register(fn, koffi.pointer(types.printFn)),
    registerPerfSampleCallback: (fn) => koffi.register(fn, koffi.pointer(types.perfSampleFn)),
    registerPerfLostCallback: (fn) => koffi.register(fn, koffi.pointer(types.perfLostFn)),
    unregisterCallback: (callback) => koffi.unregister(callback),
  };
}

/**
 * The system's libbpf.so.1, or the one ECLI_LIBBPF names, with its release. A library older
 * than ecli supports is refused here, before anything uses it.
 */
function loadLibbpf(koffi: Koffi, path: string | undefined): { lib: LibraryHandle; identity: LibbpfIdentity } {
  const library = path === undefined || path === '' ? LIBBPF_SONAME : path;
  let lib: LibraryHandle;
  try {
    lib = koffi.load(library);
  } catch (error) {
    throw path === undefined || path === ''
      ? new EcliError('TOOL_MISSING', `${LIBBPF_SONAME} not found`, { hint: 'apt-get install libbpf1 (or run make setup)', cause: error })
      : new EcliError('TOOL_MISSING', `${LIBBPF_PATH_VARIABLE}=${path} cannot be loaded: ${(error as Error).message.split('\n')[0]}`, {
          hint: `point ${LIBBPF_PATH_VARIABLE} at a libbpf.so.1, or unset it to use the system's`,
          cause: error,
        });
  }
  let version: { major: number; minor: number };
  try {
    version = { major: lib.func('uint32_t libbpf_major_version(void)')() as number, minor: lib.func('uint32_t libbpf_minor_version(void)')() as number };
  } catch (error) {
    throw new EcliError('TOOL_MISSING', `${library} is older than libbpf 1.0: it has no libbpf_major_version()`, {
      hint: 'install libbpf 1.1 or newer (apt-get install libbpf1, or run make setup)',
      cause: error,
    });
  }
  if (!releaseAtLeast(version, OLDEST_LIBBPF)) {
    throw new EcliError(
      'TOOL_MISSING',
      `${library} is libbpf ${version.major}.${version.minor}; ecli needs libbpf ${OLDEST_LIBBPF.major}.${OLDEST_LIBBPF.minor} or newer`,
      {
        hint: 'install a newer libbpf1 (make setup installs 1.4 from Debian bookworm-backports)',
      },
    );
  }
  return { lib, identity: { ...version, library } };
}

function declareTypes(koffi: Koffi) {
  for (const name of ['bpf_object', 'bpf_map', 'bpf_program', 'bpf_link', 'perf_buffer']) {
    koffi.opaque(name);
  }
  const structs = {
    bpf_object_open_opts: koffi.struct('bpf_object_open_opts', {
      sz: 'size_t',
      object_name: 'const char *',
      relaxed_maps: 'bool',
      pin_root_path: 'const char *',
      reserved: 'uint64_t', // the removed attach_prog_fd slot
      kconfig: 'const char *',
      btf_custom_path: 'const char *',
      kernel_log_buf: 'void *',
      kernel_log_size: 'size_t',
      kernel_log_level: 'uint32_t',
    }),
    bpf_tc_hook: koffi.struct('bpf_tc_hook', { sz: 'size_t', ifindex: 'int', attach_point: 'int', parent: 'uint32_t' }),
    bpf_tc_opts: koffi.struct('bpf_tc_opts', {
      sz: 'size_t',
      prog_fd: 'int',
      flags: 'uint32_t',
      prog_id: 'uint32_t',
      handle: 'uint32_t',
      priority: 'uint32_t',
    }),
    bpf_xdp_attach_opts: koffi.struct('bpf_xdp_attach_opts', { sz: 'size_t', old_prog_fd: 'int' }),
    bpf_tcx_opts: koffi.struct('bpf_tcx_opts', {
      sz: 'size_t',
      flags: 'uint32_t',
      relative_fd: 'uint32_t',
      relative_id: 'uint32_t',
      expected_revision: 'uint64_t',
    }),
  };
  for (const [name, expected] of Object.entries(EXPECTED_SIZES)) {
    const actual = koffi.sizeof(structs[name as keyof typeof structs]);
    if (actual !== expected) {
      throw new EcliError('INTERNAL', `struct ${name} is ${actual} bytes in the bindings but ${expected} in libbpf's headers`);
    }
  }
  return {
    printFn: koffi.proto('int libbpf_print_fn(int level, void *fmt, void *ap)'),
    perfSampleFn: koffi.proto('void perf_buffer_sample_fn(void *ctx, int cpu, void *data, uint32_t size)'),
    perfLostFn: koffi.proto('void perf_buffer_lost_fn(void *ctx, int cpu, uint64_t count)'),
  };
}
