/**
 * A fake of the kernel side (the loader's Native), for unit tests without root: native memory is
 * ArrayBuffers behind made-up pointers; a ring buffer is its consumer page and its producer page
 * plus data, which the test writes records into as the kernel would; maps are JavaScript maps
 * behind fds; an object is a list of programs whose links the test can make fail to detach.
 * Only what the tests use is faked: any other call throws, naming itself.
 */
import type { Libbpf, Native, Pointer, PointerResult } from '../../src/loader/ffi/native.js';

const ENOENT = 2;
const EINVAL = 22;
const PAGE_SIZE = 4096;
/** Ring buffer record header bits (linux/bpf.h). */
export const RINGBUF_BUSY_BIT = 0x80000000;
export const RINGBUF_DISCARD_BIT = 0x40000000;

/** A BPF ring buffer as its memory looks to a reader: written by the test as the kernel would. */
export class FakeRing {
  readonly consumer = new ArrayBuffer(PAGE_SIZE);
  readonly producer: ArrayBuffer;
  private produced = 0;

  constructor(readonly size: number) {
    this.producer = new ArrayBuffer(PAGE_SIZE + size);
  }

  /** Where the reader has consumed up to (what it published). */
  get consumed(): number {
    return Number(new BigUint64Array(this.consumer, 0, 1)[0]);
  }

  /** Writes one record at the producer position (wrapping around the end of the data) and returns where its header is. */
  write(payload: Uint8Array, bits: { busy?: boolean; discard?: boolean } = {}): number {
    const data = new Uint8Array(this.producer, PAGE_SIZE);
    const at = this.produced % this.size;
    const header = new DataView(this.producer, PAGE_SIZE);
    header.setUint32(at, (payload.length | (bits.busy ? RINGBUF_BUSY_BIT : 0) | (bits.discard ? RINGBUF_DISCARD_BIT : 0)) >>> 0, true);
    for (let i = 0; i < payload.length; i++) data[(at + 8 + i) % this.size] = payload[i]!;
    this.produced += (payload.length + 8 + 7) & ~7;
    new BigUint64Array(this.producer, 0, 1)[0] = BigInt(this.produced);
    return at;
  }

  /** Clears the busy bit of the record whose header is at `at` (the kernel committed it). */
  commit(at: number): void {
    const header = new DataView(this.producer, PAGE_SIZE);
    header.setUint32(at, header.getUint32(at, true) & ~RINGBUF_BUSY_BIT, true);
  }

  /** Moves both positions, as if `bytes` had been written and read before (to reach the end of the ring). */
  skip(bytes: number): void {
    this.produced += bytes;
    new BigUint64Array(this.producer, 0, 1)[0] = BigInt(this.produced);
    new BigUint64Array(this.consumer, 0, 1)[0] = BigInt(this.produced);
  }
}

/** A hash or array map behind an fd; keys and values by their hex. */
export interface FakeMap {
  readonly entries: Map<string, Uint8Array>;
  keySize: number;
  /** Instead of the real order: the next key after `key` (null: the first), or undefined at the end. */
  nextKey?: (key: Uint8Array | null) => Uint8Array | undefined;
}

export interface FakeProgram {
  name: string;
  section: string;
  /** bpf_link__destroy of its link returns this (0: detached). */
  detachError?: number;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export class FakeNative implements Native {
  readonly pageSize = PAGE_SIZE;
  readonly libbpfIdentity = { major: 1, minor: 4, library: 'fake libbpf' };
  readonly rings = new Map<number, FakeRing>();
  readonly maps = new Map<number, FakeMap>();
  /** Calls made, in order, for the tests to check (`unmap`, `bpf_link__destroy prog`, `bpf_object__close`...). */
  readonly calls: string[] = [];
  programs: FakeProgram[] = [];
  /** What bpf_object__load returns (0: loaded). */
  loadError = 0;
  private readonly memory = new Map<Pointer, ArrayBuffer>();
  private nextPointer = 0x1000n;
  private readonly handles = new Map<Pointer, FakeProgram | 'object' | 'callback'>();
  readonly libbpf: Libbpf;

  constructor() {
    const faked: Partial<Libbpf> = {
      libbpf_set_print: () => null,
      libbpf_num_possible_cpus: () => 2,
      bpf_object__open_mem: (): PointerResult => ({ ptr: this.handle('object'), errno: 0 }),
      bpf_object__load: () => this.loadError,
      bpf_object__close: () => void this.calls.push('bpf_object__close'),
      bpf_object__next_map: () => null,
      bpf_object__next_program: (_object, previous) => {
        const at = previous === null ? 0 : this.programs.indexOf(this.handles.get(previous) as FakeProgram) + 1;
        const program = this.programs[at];
        return program === undefined ? null : this.handleOf(program);
      },
      bpf_program__name: (prog) => (this.handles.get(prog) as FakeProgram).name,
      bpf_program__section_name: (prog) => (this.handles.get(prog) as FakeProgram).section,
      bpf_program__fd: () => 3,
      bpf_program__insns: () => null,
      bpf_program__insn_cnt: () => 0,
      bpf_program__attach: (prog): PointerResult => ({ ptr: prog + 0x100000n, errno: 0 }),
      bpf_link__destroy: (link) => {
        const program = this.handles.get(link - 0x100000n) as FakeProgram;
        this.calls.push(`bpf_link__destroy ${program.name}`);
        return program.detachError ?? 0;
      },
      bpf_map_get_next_key: (fd, key, next) => {
        const map = this.map(fd);
        const found = map.nextKey ? map.nextKey(key) : this.nextInOrder(map, key);
        if (found === undefined) return -ENOENT;
        next.set(found);
        return 0;
      },
      bpf_map_lookup_elem: (fd, key, value) => {
        const found = this.map(fd).entries.get(hex(key));
        if (found === undefined) return -ENOENT;
        value.set(found);
        return 0;
      },
      bpf_map_delete_elem: (fd, key) => {
        this.calls.push(`delete ${hex(key)}`);
        return this.map(fd).entries.delete(hex(key)) ? 0 : -ENOENT;
      },
      bpf_map_update_elem: (fd, key, value) => {
        this.calls.push(`update ${hex(key)}`);
        this.map(fd).entries.set(hex(key), Uint8Array.from(value));
        return 0;
      },
      // As a kernel before 5.6: the reads go key by key.
      bpf_map_lookup_batch: () => -EINVAL,
      bpf_map_lookup_and_delete_batch: () => -EINVAL,
    };
    this.libbpf = new Proxy(faked as Libbpf, {
      get: (target, name) =>
        (target as unknown as Record<string | symbol, unknown>)[name] ??
        (() => {
          throw new Error(`fake libbpf: ${String(name)} is not faked`);
        }),
    });
  }

  /** A ring buffer map of `size` data bytes (a power of two) behind `fd`. */
  addRing(fd: number, size: number): FakeRing {
    const ring = new FakeRing(size);
    this.rings.set(fd, ring);
    return ring;
  }

  addMap(fd: number, keySize: number, entries: [Uint8Array, Uint8Array][] = []): FakeMap {
    const map: FakeMap = { entries: new Map(entries.map(([k, v]) => [hex(k), v])), keySize };
    this.maps.set(fd, map);
    return map;
  }

  // Arrow functions: the loader destructures its Native (`const { libbpf, free } = sys`).
  mapShared = (fd: number, length: number, offset: number): PointerResult => {
    const ring = this.rings.get(fd);
    if (ring === undefined) return { ptr: null, errno: EINVAL };
    const region = offset === 0 ? ring.consumer : ring.producer;
    if (length > region.byteLength) return { ptr: null, errno: EINVAL };
    return { ptr: this.place(region), errno: 0 };
  };

  unmap = (ptr: Pointer, length: number): void => {
    this.calls.push(`unmap ${this.memory.get(ptr)?.byteLength === length ? 'whole' : 'part'}`);
    this.memory.delete(ptr);
  };

  view = (ptr: Pointer, length: number): ArrayBuffer => {
    const region = this.memory.get(ptr);
    if (region === undefined || region.byteLength < length) throw new Error(`fake native: no ${length} bytes at ${ptr}`);
    return region;
  };

  allocCopy = (bytes: Uint8Array): Pointer => {
    const region = new ArrayBuffer(Math.max(1, bytes.length));
    new Uint8Array(region).set(bytes);
    return this.place(region);
  };

  free = (ptr: Pointer): void => {
    this.calls.push('free');
    this.memory.delete(ptr);
  };

  copyInto = (target: Uint8Array, ptr: Pointer, size: number): void => {
    target.set(new Uint8Array(this.view(ptr, size), 0, size));
  };

  waitReadable = (): number => 0;
  registerPrintCallback = (): Pointer => this.handle('callback');
  unregisterCallback = (): void => void this.calls.push('unregisterCallback');
  mapInitialValue = (): Uint8Array | undefined => undefined;

  perfEventOpen = this.unfaked('perfEventOpen');
  bpf = this.unfaked('bpf');
  interfaceIndex = this.unfaked('interfaceIndex');
  close = this.unfaked('close');
  socket = this.unfaked('socket');
  send = this.unfaked('send');
  recv = this.unfaked('recv');
  read = this.unfaked('read');
  interfaceName = this.unfaked('interfaceName');
  formatVaList = this.unfaked('formatVaList');
  hungUp = this.unfaked('hungUp');
  exitProcess = this.unfaked('exitProcess');
  registerPerfSampleCallback = this.unfaked('registerPerfSampleCallback');
  registerPerfLostCallback = this.unfaked('registerPerfLostCallback');

  private unfaked(name: string): () => never {
    return () => {
      throw new Error(`fake native: ${name} is not faked`);
    };
  }

  private map(fd: number): FakeMap {
    const map = this.maps.get(fd);
    if (map === undefined) throw new Error(`fake native: no map behind fd ${fd}`);
    return map;
  }

  /** The kernel's order for a hash map: insertion order; an unknown key starts again from the first. */
  private nextInOrder(map: FakeMap, key: Uint8Array | null): Uint8Array | undefined {
    const keys = [...map.entries.keys()];
    const at = key === null ? 0 : keys.indexOf(hex(key)) + 1;
    const next = keys[at];
    return next === undefined ? undefined : Buffer.from(next, 'hex');
  }

  private place(region: ArrayBuffer): Pointer {
    const ptr = (this.nextPointer += 0x1000n);
    this.memory.set(ptr, region);
    return ptr;
  }

  private handle(kind: 'object' | 'callback'): Pointer {
    const ptr = (this.nextPointer += 0x1000n);
    this.handles.set(ptr, kind);
    return ptr;
  }

  private handleOf(program: FakeProgram): Pointer {
    for (const [ptr, value] of this.handles) if (value === program) return ptr;
    const ptr = (this.nextPointer += 0x1000n);
    this.handles.set(ptr, program);
    return ptr;
  }
}
