/**
 * The host functions a wasm-bpf guest imports (module `wasm_bpf`, and the poll of TinyGo guests),
 * over a GuestKernel that does the kernel's part. Every pointer and length is checked against
 * the guest's memory first (a bad one stops the guest with a GUEST_FAULT naming the call);
 * handles, fds and names the guest does not own get the negative errno the reference runtimes
 * return. Where the two reference runtimes differ, this follows the C++ one (libbpf's return
 * codes, every record delivered) except that a record's size is what was copied (wasm-bpf-rs),
 * and handles are small numbers rather than host addresses.
 */
import { constants } from 'node:os';
import { CALLBACK_MODULES, CALLBACK_POLL, MAP_COMMAND, type HostFunctionName } from './abi.js';
import { guestFault, type GuestMemory } from './guest-memory.js';

/** A map of a loaded guest object, as the guest may use it. */
export interface GuestMap {
  readonly name: string;
  readonly fd: number;
  /** 'ringbuf', 'perf_event_array', 'hash', ... (libbpf's names). */
  readonly typeName: string;
  readonly keySize: number;
  /** What a lookup writes: for per-CPU maps, a value per possible CPU, each rounded up to 8 bytes. */
  readonly valueBufferSize: number;
  readonly maxEntries: number;
}

export interface LoadedGuestObject {
  /** Never 0 (the ABI's "no object"). */
  readonly handle: bigint;
  readonly maps: readonly GuestMap[];
}

/** Reads one event map; records go to the handler given when it was opened. */
export interface GuestReader {
  /** Waits up to timeoutMs (0: not at all) for records and hands them over; returns how many. */
  poll(timeoutMs: number): number;
  close(): void;
}

export type RecordHandler = (data: Buffer, offset: number, length: number) => void;

/** The kernel's part of the host functions: the run gives the real one, tests a fake. */
export interface GuestKernel {
  /** Checks and loads an object; undefined when it was refused (the kernel side said why). */
  load(object: Uint8Array): LoadedGuestObject | undefined;
  /** 0, or a negative errno (the kernel side said why). */
  attach(handle: bigint, program: string, target: string | undefined): number;
  /** 0, or a negative errno. */
  close(handle: bigint): number;
  lookup(map: GuestMap, key: Uint8Array, value: Uint8Array, flags: bigint): number;
  update(map: GuestMap, key: Uint8Array, value: Uint8Array, flags: bigint): number;
  delete(map: GuestMap, key: Uint8Array, flags: bigint): number;
  /** `key` null: the first key. */
  nextKey(map: GuestMap, key: Uint8Array | null, nextKey: Uint8Array): number;
  openReader(map: GuestMap, onRecord: RecordHandler): GuestReader;
}

export interface HostEnvironment {
  kernel: GuestKernel;
  memory: GuestMemory;
  /** The guest's exports the host calls back, once it is instantiated. */
  exports(): WebAssembly.Exports;
  /** Throws when the run is being stopped: checked at each host call and while a poll waits. */
  checkStop(): void;
}

/** How long a poll waits at a time before it looks whether the run is being stopped. */
export const POLL_SLICE_MS = 100;

/** What a ring buffer callback throws to stop the poll at its record, as libbpf does on an error. */
class CallbackStopped {
  constructor(readonly result: number) {}
}

interface ObjectState {
  readonly maps: readonly GuestMap[];
  readonly readers: Map<number, { reader: GuestReader; delivery: Delivery; kind: 'ringbuf' | 'perf' }>;
  polling: boolean;
}

/** Where the records of the current poll go. */
interface Delivery {
  callback: (ctx: number, data: number, size: number) => unknown;
  ctx: number;
  data: number;
  maxSize: number;
  delivered: number;
  /** The first non-zero return of the callback. */
  result: number;
}

type CallbackFunction = (...args: number[]) => unknown;

const { EBADF, EBUSY, EINVAL, ENOENT } = constants.errno;

export interface HostImports {
  imports: WebAssembly.Imports;
  /** Closes the readers the guest left open (when it ended without closing its objects). */
  closeReaders(): void;
}

export function createHostImports(env: HostEnvironment): HostImports {
  const { kernel, memory } = env;
  const objects = new Map<bigint, ObjectState>();
  const mapsByFd = new Map<number, GuestMap>();

  const enter = (): void => env.checkStop();

  const load = (buffer: number, size: number): bigint => {
    enter();
    if (size <= 0) return 0n;
    const object = memory.bytes('wasm_load_bpf_object', 'the object', buffer, size).slice();
    const loaded = kernel.load(object);
    if (loaded === undefined) return 0n;
    objects.set(loaded.handle, { maps: loaded.maps, readers: new Map(), polling: false });
    for (const map of loaded.maps) mapsByFd.set(map.fd, map);
    return loaded.handle;
  };

  const attach = (handle: bigint, name: number, target: number): number => {
    enter();
    const program = memory.cString('wasm_attach_bpf_program', 'the program name', name);
    const targetText = target === 0 ? '' : memory.cString('wasm_attach_bpf_program', 'the attach target', target);
    if (!objects.has(handle)) return -EINVAL;
    return kernel.attach(handle, program, targetText === '' ? undefined : targetText);
  };

  const mapFdByName = (handle: bigint, name: number): number => {
    enter();
    const mapName = memory.cString('wasm_bpf_map_fd_by_name', 'the map name', name);
    const object = objects.get(handle);
    if (object === undefined) return -EINVAL;
    return findMap(object.maps, mapName)?.fd ?? -ENOENT;
  };

  const mapOperate = (fd: number, command: number, key: number, value: number, nextKey: number, flags: bigint): number => {
    const call = 'wasm_bpf_map_operate';
    enter();
    const map = mapsByFd.get(fd);
    if (map === undefined) return -EBADF;
    const keyBytes = (what: string, pointer: number) => memory.bytes(call, `${what} of map ${map.name}`, pointer, map.keySize);
    const valueBytes = (pointer: number) => memory.bytes(call, `the value of map ${map.name}`, pointer, map.valueBufferSize);
    switch (command) {
      case MAP_COMMAND.lookup:
        return kernel.lookup(map, keyBytes('the key', key), valueBytes(value), flags);
      case MAP_COMMAND.update:
        return kernel.update(map, keyBytes('the key', key), valueBytes(value), flags);
      case MAP_COMMAND.delete:
        return kernel.delete(map, keyBytes('the key', key), flags);
      case MAP_COMMAND.getNextKey:
        // A NULL key asks for the first key, as with libbpf's bpf_map_get_next_key.
        return kernel.nextKey(map, key === 0 ? null : keyBytes('the key', key), keyBytes('the next key', nextKey));
      default:
        return -EINVAL;
    }
  };

  const poll = (
    call: string,
    handle: bigint,
    fd: number,
    callback: CallbackFunction,
    ctx: number,
    data: number,
    maxSize: number,
    timeoutMs: number,
  ): number => {
    memory.bytes(call, 'the record buffer', data, maxSize);
    const object = objects.get(handle);
    if (object === undefined) return -EINVAL;
    const map = object.maps.find((m) => m.fd === fd);
    if (map === undefined) return -ENOENT;
    if (map.typeName !== 'ringbuf' && map.typeName !== 'perf_event_array') return -EINVAL;
    if (object.polling) return -EBUSY;
    let entry = object.readers.get(fd);
    if (entry === undefined) {
      const delivery: Delivery = { callback, ctx, data, maxSize, delivered: 0, result: 0 };
      const kind = map.typeName === 'ringbuf' ? 'ringbuf' : 'perf';
      const reader = kernel.openReader(map, (bytes, offset, length) => deliver(kind, delivery, bytes, offset, length));
      entry = { reader, delivery, kind };
      object.readers.set(fd, entry);
    }
    Object.assign(entry.delivery, { callback, ctx, data, maxSize, delivered: 0, result: 0 });
    object.polling = true;
    try {
      waitForRecords(entry.reader, timeoutMs);
    } catch (error) {
      if (!(error instanceof CallbackStopped)) throw error;
    } finally {
      object.polling = false;
    }
    return entry.delivery.result !== 0 ? entry.delivery.result : entry.delivery.delivered;
  };

  /** Polls in slices so that a stop request is seen while waiting; timeout < 0 waits for records without end. */
  const waitForRecords = (reader: GuestReader, timeoutMs: number): void => {
    let remaining = timeoutMs < 0 ? Infinity : timeoutMs;
    for (;;) {
      env.checkStop();
      const slice = Math.min(remaining, POLL_SLICE_MS);
      const started = Date.now();
      if (reader.poll(slice) > 0 || remaining <= POLL_SLICE_MS) return;
      remaining -= Math.max(Date.now() - started, 1);
    }
  };

  const deliver = (kind: 'ringbuf' | 'perf', delivery: Delivery, bytes: Buffer, offset: number, length: number): void => {
    const size = Math.min(length, delivery.maxSize);
    memory.write(delivery.data, bytes.subarray(offset, offset + size));
    const result = Number(delivery.callback(delivery.ctx, delivery.data, size) ?? 0) | 0;
    delivery.delivered++;
    if (result === 0) return;
    if (kind === 'ringbuf') {
      delivery.result = result;
      throw new CallbackStopped(result);
    }
    // libbpf hands a perf buffer's records over in one go: the rest of this poll is still delivered.
    if (delivery.result === 0) delivery.result = result;
  };

  const bufferPoll = (handle: bigint, fd: number, sampleFunc: number, ctx: number, data: number, maxSize: number, timeoutMs: number): number => {
    const call = 'wasm_bpf_buffer_poll';
    enter();
    return poll(call, handle, fd, tableFunction(call, sampleFunc), ctx, data, maxSize, timeoutMs);
  };

  /** The poll of a TinyGo guest, imported from `module`: it calls back the module's paired export. */
  const callbackPoll =
    (module: string, exportName: string) =>
    (handle: bigint, fd: number, ctx: number, data: number, maxSize: number, timeoutMs: number): number => {
      const call = `${module}.${CALLBACK_POLL}`;
      enter();
      const callback = env.exports()[exportName];
      if (typeof callback !== 'function') throw guestFault(call, `the module exports no "${exportName}" function`);
      return poll(call, handle, fd, callback as CallbackFunction, ctx, data, maxSize, timeoutMs);
    };

  const tableFunction = (call: string, index: number): CallbackFunction => {
    const table = env.exports()['__indirect_function_table'];
    if (!(table instanceof WebAssembly.Table)) throw guestFault(call, 'the module exports no __indirect_function_table');
    const at = index >>> 0;
    const callback: unknown = at < table.length ? table.get(at) : null;
    if (typeof callback !== 'function') throw guestFault(call, `sample_func ${at} is not a function of the guest's table (${table.length} entries)`);
    return callback as CallbackFunction;
  };

  const close = (handle: bigint): number => {
    enter();
    const object = objects.get(handle);
    if (object === undefined) return 0;
    if (object.polling) return -EBUSY;
    for (const { reader } of object.readers.values()) reader.close();
    objects.delete(handle);
    for (const map of object.maps) mapsByFd.delete(map.fd);
    return kernel.close(handle);
  };

  const imports = {
    wasm_bpf: {
      wasm_load_bpf_object: load,
      wasm_attach_bpf_program: attach,
      wasm_bpf_map_fd_by_name: mapFdByName,
      wasm_bpf_map_operate: mapOperate,
      wasm_bpf_buffer_poll: bufferPoll,
      wasm_close_bpf_object: close,
    },
    ...Object.fromEntries(Object.entries(CALLBACK_MODULES).map(([module, exportName]) => [module, { [CALLBACK_POLL]: callbackPoll(module, exportName) }])),
  } satisfies Record<string, Record<string, unknown>> & { wasm_bpf: Record<HostFunctionName, unknown> };
  const closeReaders = (): void => {
    for (const object of objects.values()) for (const { reader } of object.readers.values()) reader.close();
    objects.clear();
    mapsByFd.clear();
  };
  return { imports, closeReaders };
}

/**
 * The map named `name`. The guest's skeleton names internal maps after the object name it was
 * built with (`execve_b.rodata`), which the host cannot know: `X.rodata` also finds the object's
 * only map ending in `.rodata`.
 */
export function findMap(maps: readonly GuestMap[], name: string): GuestMap | undefined {
  const exact = maps.find((m) => m.name === name);
  if (exact !== undefined) return exact;
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  const suffix = name.slice(dot);
  const candidates = maps.filter((m) => m.name.indexOf('.') >= 0 && m.name.slice(m.name.indexOf('.')) === suffix);
  return candidates.length === 1 ? candidates[0] : undefined;
}
