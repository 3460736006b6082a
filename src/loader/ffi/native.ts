/**
 * The kernel side as the loader sees it: the libbpf calls and the few libc calls ecli makes,
 * as an interface. `native()` in ./libbpf.ts binds it to the system's libraries through koffi;
 * tests hand the loader a fake (test/helpers/fake-native.ts), so the readers, the map walks and
 * the teardown run without root or a kernel. Types only: importing this loads nothing.
 */

/** A native address. Opaque to callers: only pass it back to the Native that gave it. */
export type Pointer = bigint;

export type PointerResult = { ptr: Pointer; errno: 0 } | { ptr: null; errno: number };

export interface OpenOpts {
  object_name: string;
  btf_custom_path: string | null;
}
export interface TcHook {
  ifindex: number;
  attach_point: number;
}
export interface TcOpts {
  prog_fd: number;
  flags: number;
  prog_id: number;
  handle: number;
  priority: number;
}

/** bpf_tcx_opts (libbpf ≥ 1.3): where in the hook's chain a TCX link goes. */
export interface TcxOpts {
  /** BPF_F_BEFORE / BPF_F_AFTER, or 0 for the end of the chain. */
  flags: number;
  /** The program id the position is relative to (0: the whole chain). */
  relative_id: number;
}

/**
 * Up to `count[0]` entries from the position `inBatch` names (null: the start) into `keys` and
 * `values`; writes the number read into `count[0]` and the next position into `outBatch`.
 * Returns 0, or -errno (-ENOENT once the map's end was reached, with the last entries read).
 */
export type MapBatchCall = (
  fd: number,
  inBatch: Uint8Array | null,
  outBatch: Uint8Array,
  keys: Uint8Array,
  values: Uint8Array,
  count: Uint32Array,
  opts: null,
) => number;

/** The libbpf ecli loaded: its release (libbpf_major_version(), libbpf_minor_version()) and where it came from. */
export interface LibbpfIdentity {
  major: number;
  minor: number;
  /** The soname, or the path ECLI_LIBBPF named. */
  library: string;
}

export interface Libbpf {
  libbpf_set_print(fn: Pointer | null): Pointer | null;
  libbpf_num_possible_cpus(): number;

  bpf_object__open_mem(buf: Pointer, size: number, opts: OpenOpts): PointerResult;
  bpf_object__load(obj: Pointer): number;
  bpf_object__close(obj: Pointer): void;
  bpf_object__next_map(obj: Pointer, prev: Pointer | null): Pointer | null;
  bpf_object__next_program(obj: Pointer, prev: Pointer | null): Pointer | null;

  bpf_map__name(map: Pointer): string;
  bpf_map__type(map: Pointer): number;
  bpf_map__key_size(map: Pointer): number;
  bpf_map__value_size(map: Pointer): number;
  bpf_map__max_entries(map: Pointer): number;
  bpf_map__btf_key_type_id(map: Pointer): number;
  bpf_map__btf_value_type_id(map: Pointer): number;
  bpf_map__fd(map: Pointer): number;
  bpf_map__set_initial_value(map: Pointer, data: Uint8Array, size: number): number;

  bpf_program__name(prog: Pointer): string;
  bpf_program__section_name(prog: Pointer): string;
  bpf_program__fd(prog: Pointer): number;
  /** Its instructions as opened (before relocation and load), `bpf_program__insn_cnt` of them. */
  bpf_program__insns(prog: Pointer): Pointer | null;
  bpf_program__insn_cnt(prog: Pointer): number;
  bpf_program__attach(prog: Pointer): PointerResult;
  bpf_program__attach_xdp(prog: Pointer, ifindex: number): PointerResult;
  bpf_program__attach_cgroup(prog: Pointer, cgroupFd: number): PointerResult;
  bpf_program__attach_perf_event(prog: Pointer, perfFd: number): PointerResult;
  /** A TCX link; only in libbpf ≥ 1.3 (undefined in older ones, which ecli makes TCX links for with bpf(2)). */
  bpf_program__attach_tcx?(prog: Pointer, ifindex: number, opts: TcxOpts): PointerResult;
  /** An iterator link (with no iterator-specific options). */
  bpf_program__attach_iter(prog: Pointer): PointerResult;
  bpf_link__fd(link: Pointer): number;
  /** A new seq_file of an iterator link: read it to EOF for one pass of the iterator; an fd, or -errno. */
  bpf_iter_create(linkFd: number): number;
  /** Before load: the sizes a definition left out (stack trace maps). */
  bpf_map__set_value_size(map: Pointer, size: number): number;
  bpf_map__set_max_entries(map: Pointer, maxEntries: number): number;
  bpf_program__set_type(prog: Pointer, type: number): number;
  bpf_program__set_expected_attach_type(prog: Pointer, type: number): number;
  bpf_link__destroy(link: Pointer): number;

  bpf_xdp_attach(ifindex: number, progFd: number, flags: number, opts: { old_prog_fd: number }): number;
  bpf_xdp_detach(ifindex: number, flags: number, opts: { old_prog_fd: number }): number;
  bpf_tc_hook_create(hook: TcHook): number;
  bpf_tc_hook_destroy(hook: TcHook): number;
  /** Writes the kernel's choice of handle and priority (and the prog_id) back into `opts`. */
  bpf_tc_attach(hook: TcHook, opts: TcOpts): number;
  bpf_tc_detach(hook: TcHook, opts: TcOpts): number;

  bpf_map_lookup_elem(fd: number, key: Uint8Array, value: Uint8Array): number;
  bpf_map_lookup_elem_flags(fd: number, key: Uint8Array, value: Uint8Array, flags: bigint): number;
  bpf_map_get_next_key(fd: number, key: Uint8Array | null, nextKey: Uint8Array): number;
  bpf_map_lookup_batch: MapBatchCall;
  /** As bpf_map_lookup_batch, and each entry read is deleted (hash maps). */
  bpf_map_lookup_and_delete_batch: MapBatchCall;
  bpf_map_delete_elem(fd: number, key: Uint8Array): number;
  bpf_map_delete_elem_flags(fd: number, key: Uint8Array, flags: bigint): number;
  bpf_map_update_elem(fd: number, key: Uint8Array, value: Uint8Array, flags: number | bigint): number;
  /** An fd of the loaded program with this id, or -errno. */
  bpf_prog_get_fd_by_id(id: number): number;
  /** Fills `info` (struct bpf_prog_info and the like) up to `infoLength[0]` bytes, which it sets to the kernel's size. */
  bpf_obj_get_info_by_fd(fd: number, info: Uint8Array, infoLength: [number]): number;

  perf_buffer__new(mapFd: number, pages: number, sample: Pointer, lost: Pointer | null, ctx: null, opts: null): PointerResult;
  perf_buffer__poll(pb: Pointer, timeoutMs: number): number;
  perf_buffer__free(pb: Pointer): void;
}

export interface Native {
  libbpf: Libbpf;
  /** Which libbpf this is: probed once, when the library is loaded. */
  libbpfIdentity: LibbpfIdentity;
  /** The initial image libbpf holds for an internal map (.rodata/.bss), copied. */
  mapInitialValue(map: Pointer): Uint8Array | undefined;
  /** perf_event_open(2): an fd, or -errno. */
  perfEventOpen(attr: Buffer, pid: number, cpu: number, groupFd: number, flags: number): number;
  /**
   * bpf(2) itself, for what libbpf 1.1's wrappers cannot express (TCX links with a relative
   * position, TCX queries): the result (an fd or 0), or -errno. `attr` is the union bpf_attr
   * image; the kernel may write into it.
   */
  bpf(cmd: number, attr: Buffer): number;
  /** if_nametoindex(3) in our network namespace: 0 when there is no such interface. */
  interfaceIndex(name: string): number;
  close(fd: number): number;
  /** socket(2): an fd, or -errno. */
  socket(domain: number, type: number, protocol: number): number;
  /** send(2) of the whole buffer: the count sent, or -errno. */
  send(fd: number, data: Uint8Array): number;
  /** recv(2) into `target`: the count received, or -errno. */
  recv(fd: number, target: Uint8Array): number;
  /** read(2) into `target`: the count read (0 at the end), or -errno. */
  read(fd: number, target: Uint8Array): number;
  /** if_indextoname(3) in this process's network namespace, or undefined when there is no such interface. */
  interfaceName(ifindex: number): string | undefined;
  /** Formats a printf format + va_list pair (libbpf's print callback arguments). */
  formatVaList(fmt: Pointer, ap: Pointer): string;
  /** Copies `size` bytes at `ptr` into `target` (which must be at least that long). */
  copyInto(target: Uint8Array, ptr: Pointer, size: number): void;
  /** Copies bytes into stable native memory, which native code may keep pointing to. */
  allocCopy(bytes: Uint8Array): Pointer;
  free(ptr: Pointer): void;
  /** The system's page size in bytes. */
  pageSize: number;
  /** mmap(2) of `length` bytes of a map fd at `offset`, shared with the kernel. */
  mapShared(fd: number, length: number, offset: number, writable: boolean): PointerResult;
  unmap(ptr: Pointer, length: number): void;
  /** poll(2) for input on one fd: 1 when readable, 0 on timeout, or -errno. */
  waitReadable(fd: number, timeoutMs: number): number;
  /** True when poll(2) reports POLLERR or POLLHUP on `fd` now: the other end of a pipe or socket is closed. */
  hungUp(fd: number): boolean;
  /**
   * _exit(2): ends the process now, without Node's shutdown, which joins worker threads and so
   * would wait forever for one blocked in a system call (a Wasm guest reading a FIFO).
   */
  exitProcess(status: number): never;
  /** An ArrayBuffer over native memory, without copying; it must not be used after the memory goes. */
  view(ptr: Pointer, length: number): ArrayBuffer;
  registerPrintCallback(fn: (level: number, fmt: Pointer, ap: Pointer) => number): Pointer;
  registerPerfSampleCallback(fn: (ctx: Pointer | null, cpu: number, data: Pointer, size: number) => void): Pointer;
  registerPerfLostCallback(fn: (ctx: Pointer | null, cpu: number, count: number | bigint) => void): Pointer;
  unregisterCallback(callback: Pointer): void;
}
