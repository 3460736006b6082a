/**
 * The wasm_bpf host functions over a fake kernel, called as a guest calls them: pointers checked
 * against a real guest memory (a bad one is a GUEST_FAULT naming the call), the sizes handed to
 * the kernel, the errno returned for what the guest does not own, and buffer polls calling a real
 * guest callback through its function table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { GuestStopped } from '../../src/wasm/channel.js';
import { GuestMemory } from '../../src/wasm/guest-memory.js';
import { createHostImports, findMap, type GuestKernel, type GuestMap, type GuestReader, type RecordHandler } from '../../src/wasm/host-imports.js';
import { WasmBuilder, op } from '../helpers/wasm-builder.js';
import { errorWith } from '../helpers/assertions.js';

const { EBADF, EBUSY, EINVAL, ENOENT } = constants.errno;

const MAPS: GuestMap[] = [
  { name: 'counts', fd: 40, typeName: 'hash', keySize: 4, valueBufferSize: 8, maxEntries: 64 },
  { name: 'percpu', fd: 41, typeName: 'percpu_array', keySize: 4, valueBufferSize: 32, maxEntries: 1 },
  { name: 'events', fd: 42, typeName: 'ringbuf', keySize: 0, valueBufferSize: 0, maxEntries: 4096 },
  { name: 'perf', fd: 43, typeName: 'perf_event_array', keySize: 4, valueBufferSize: 4, maxEntries: 2 },
  { name: 'demo.rodata', fd: 44, typeName: 'array', keySize: 4, valueBufferSize: 16, maxEntries: 1 },
];

/** Hands its queued records over at the next poll; a handler that throws ends the poll there, as the ring buffer reader does. */
class FakeReader implements GuestReader {
  closed = false;
  constructor(
    readonly queue: Buffer[],
    private readonly onRecord: RecordHandler,
  ) {}

  poll(): number {
    let handled = 0;
    while (this.queue.length > 0) {
      const record = this.queue.shift()!;
      this.onRecord(record, 0, record.length);
      handled++;
    }
    return handled;
  }

  close(): void {
    this.closed = true;
  }
}

class FakeKernel implements GuestKernel {
  readonly calls: unknown[][] = [];
  readonly readers = new Map<number, FakeReader>();
  readonly queued = new Map<number, Buffer[]>();
  loadResult: 'ok' | 'refused' = 'ok';

  load(object: Uint8Array) {
    this.calls.push(['load', Buffer.from(object).toString()]);
    return this.loadResult === 'ok' ? { handle: 1n, maps: MAPS } : undefined;
  }
  attach(handle: bigint, program: string, target: string | undefined) {
    this.calls.push(['attach', handle, program, target]);
    return 0;
  }
  close(handle: bigint) {
    this.calls.push(['close', handle]);
    return 0;
  }
  lookup(map: GuestMap, key: Uint8Array, value: Uint8Array, flags: bigint) {
    this.calls.push(['lookup', map.name, key.length, value.length, flags]);
    value.fill(7);
    return 0;
  }
  update(map: GuestMap, key: Uint8Array, value: Uint8Array, flags: bigint) {
    this.calls.push(['update', map.name, key.length, value.length, flags]);
    return 0;
  }
  delete(map: GuestMap, key: Uint8Array, flags: bigint) {
    this.calls.push(['delete', map.name, key.length, flags]);
    return 0;
  }
  nextKey(map: GuestMap, key: Uint8Array | null, nextKey: Uint8Array) {
    this.calls.push(['nextKey', map.name, key === null ? null : key.length, nextKey.length]);
    return -ENOENT;
  }
  openReader(map: GuestMap, onRecord: RecordHandler) {
    const reader = new FakeReader(this.queued.get(map.fd) ?? [], onRecord);
    this.readers.set(map.fd, reader);
    return reader;
  }
}

interface Harness {
  kernel: FakeKernel;
  host: ReturnType<typeof createHostImports>;
  call: Record<string, (...args: (number | bigint)[]) => number | bigint>;
  memory: WebAssembly.Memory;
  /** What the guest's callback (table index 0) was called with, and what it returns next. */
  callbacks: number[][];
  callbackResult: { value: number };
  stop: { requested: boolean };
}

/** A guest with one page of memory and a callback at table index 0 that reports to the test. */
async function harness(): Promise<Harness> {
  const callbacks: number[][] = [];
  const callbackResult = { value: 0 };
  const m = new WasmBuilder();
  const three = m.type(['i32', 'i32', 'i32'], ['i32']);
  const record = m.importFunction('test', 'record', three);
  const callback = m.function(three, [...op.localGet(0), ...op.localGet(1), ...op.localGet(2), ...op.call(record)]);
  m.memory(1).table([callback]).export('memory', 'memory', 0).export('__indirect_function_table', 'table', 0).export('go-callback', 'function', callback);
  const { instance } = await WebAssembly.instantiate(m.build(), {
    test: {
      record: (...args: number[]) => {
        callbacks.push(args);
        return callbackResult.value;
      },
    },
  });
  const memory = instance.exports['memory'] as WebAssembly.Memory;
  const kernel = new FakeKernel();
  const stop = { requested: false };
  const host = createHostImports({
    kernel,
    memory: new GuestMemory(() => memory),
    exports: () => instance.exports,
    checkStop: () => {
      if (stop.requested) throw new GuestStopped();
    },
  });
  const call = host.imports['wasm_bpf'] as Harness['call'];
  return { kernel, host, call, memory, callbacks, callbackResult, stop };
}

function writeString(memory: WebAssembly.Memory, at: number, text: string): number {
  new Uint8Array(memory.buffer).set(Buffer.from(`${text}\0`), at);
  return at;
}

const END = 65536;

test('load copies the object out of guest memory; a size of 0 or less is 0; a refused object is 0', async () => {
  const h = await harness();
  writeString(h.memory, 100, 'ELF!');
  assert.equal(h.call['wasm_load_bpf_object']!(100, 4), 1n);
  assert.equal(h.call['wasm_load_bpf_object']!(100, 0), 0n);
  assert.equal(h.call['wasm_load_bpf_object']!(100, -4), 0n);
  h.kernel.loadResult = 'refused';
  assert.equal(h.call['wasm_load_bpf_object']!(100, 4), 0n);
  assert.deepEqual(h.kernel.calls, [
    ['load', 'ELF!'],
    ['load', 'ELF!'],
  ]);
  assert.throws(
    () => h.call['wasm_load_bpf_object']!(END - 10, 20),
    errorWith('GUEST_FAULT', /^wasm_load_bpf_object: the object \(20 bytes at 0xfff6\) is outside the guest's memory \(65536 bytes\)$/),
  );
  // An i32 pointer the guest meant as unsigned: 0xfffffff0.
  assert.throws(() => h.call['wasm_load_bpf_object']!(-16, 4), errorWith('GUEST_FAULT', /4 bytes at 0xfffffff0/));
});

test('attach reads the name and the target (0 or "" is none); an unknown handle is EINVAL; a name without NUL is a fault', async () => {
  const h = await harness();
  h.call['wasm_load_bpf_object']!(0, 4);
  const name = writeString(h.memory, 200, 'xdp_pass');
  assert.equal(h.call['wasm_attach_bpf_program']!(1n, name, writeString(h.memory, 300, 'eth0')), 0);
  assert.equal(h.call['wasm_attach_bpf_program']!(1n, name, 0), 0);
  assert.equal(h.call['wasm_attach_bpf_program']!(1n, name, writeString(h.memory, 400, '')), 0);
  assert.equal(h.call['wasm_attach_bpf_program']!(9n, name, 0), -EINVAL);
  assert.deepEqual(h.kernel.calls.slice(1), [
    ['attach', 1n, 'xdp_pass', 'eth0'],
    ['attach', 1n, 'xdp_pass', undefined],
    ['attach', 1n, 'xdp_pass', undefined],
  ]);
  new Uint8Array(h.memory.buffer).fill(0x41, END - 8);
  assert.throws(
    () => h.call['wasm_attach_bpf_program']!(1n, END - 8, 0),
    errorWith('GUEST_FAULT', /^wasm_attach_bpf_program: the program name at 0xfff8 has no NUL before the end/),
  );
  assert.throws(() => h.call['wasm_attach_bpf_program']!(1n, END, 0), errorWith('GUEST_FAULT', /the program name at 0x10000 is outside the guest's memory/));
});

test("map_operate hands the kernel exactly the map's key and value sizes (a per-CPU value per CPU); fds it does not own are EBADF", async () => {
  const h = await harness();
  h.call['wasm_load_bpf_object']!(0, 4);
  assert.equal(h.call['wasm_bpf_map_operate']!(40, 1, 100, 200, 0, 0n), 0);
  assert.deepEqual([...new Uint8Array(h.memory.buffer, 200, 9)], [7, 7, 7, 7, 7, 7, 7, 7, 0], 'the value written in place, not a byte more');
  assert.equal(h.call['wasm_bpf_map_operate']!(41, 1, 100, 200, 0, 0n), 0);
  assert.equal(h.call['wasm_bpf_map_operate']!(40, 2, 100, 200, 0, 2n), 0);
  assert.equal(h.call['wasm_bpf_map_operate']!(40, 3, 100, 0, 0, 0n), 0);
  assert.equal(h.call['wasm_bpf_map_operate']!(40, 4, 0, 0, 300, 0n), -ENOENT);
  assert.equal(h.call['wasm_bpf_map_operate']!(40, 4, 100, 0, 300, 0n), -ENOENT);
  assert.deepEqual(h.kernel.calls.slice(1), [
    ['lookup', 'counts', 4, 8, 0n],
    ['lookup', 'percpu', 4, 32, 0n],
    ['update', 'counts', 4, 8, 2n],
    ['delete', 'counts', 4, 0n],
    ['nextKey', 'counts', null, 4],
    ['nextKey', 'counts', 4, 4],
  ]);
  assert.equal(h.call['wasm_bpf_map_operate']!(1, 1, 100, 200, 0, 0n), -EBADF);
  assert.equal(h.call['wasm_bpf_map_operate']!(40, 99, 100, 200, 0, 0n), -EINVAL);
  assert.throws(
    () => h.call['wasm_bpf_map_operate']!(41, 1, 100, END - 8, 0, 0n),
    errorWith('GUEST_FAULT', /^wasm_bpf_map_operate: the value of map percpu \(32 bytes at 0xfff8\) is outside the guest's memory/),
  );
  assert.throws(() => h.call['wasm_bpf_map_operate']!(40, 4, END - 2, 0, 300, 0n), errorWith('GUEST_FAULT', /the key of map counts \(4 bytes at 0xfffe\)/));
  assert.throws(() => h.call['wasm_bpf_map_operate']!(40, 4, 0, 0, END - 2, 0n), errorWith('GUEST_FAULT', /the next key of map counts/));
});

test("map_fd_by_name: the object's map, an internal map by the skeleton's name for it, ENOENT, EINVAL for an unknown object", async () => {
  const h = await harness();
  h.call['wasm_load_bpf_object']!(0, 4);
  assert.equal(h.call['wasm_bpf_map_fd_by_name']!(1n, writeString(h.memory, 100, 'counts')), 40);
  assert.equal(h.call['wasm_bpf_map_fd_by_name']!(1n, writeString(h.memory, 100, 'demo_bp.rodata')), 44);
  assert.equal(h.call['wasm_bpf_map_fd_by_name']!(1n, writeString(h.memory, 100, 'nothing')), -ENOENT);
  assert.equal(h.call['wasm_bpf_map_fd_by_name']!(2n, writeString(h.memory, 100, 'counts')), -EINVAL);
  const twoRodata = [...MAPS, { ...MAPS[4]!, name: 'other.rodata', fd: 45 }];
  assert.equal(findMap(twoRodata, 'demo_bp.rodata'), undefined, 'no guess between two');
});

test('buffer_poll copies each record into the buffer (cut to max_size) and calls the guest back with its size; returns how many', async () => {
  const h = await harness();
  h.call['wasm_load_bpf_object']!(0, 4);
  h.kernel.queued.set(42, [Buffer.from('first'), Buffer.from('a longer record')]);
  assert.equal(h.call['wasm_bpf_buffer_poll']!(1n, 42, 0, 77, 1000, 8, 10), 2);
  assert.deepEqual(h.callbacks, [
    [77, 1000, 5],
    [77, 1000, 8],
  ]);
  assert.equal(Buffer.from(h.memory.buffer, 1000, 8).toString(), 'a longer', 'the last record, cut to max_size');
  assert.equal(h.call['wasm_bpf_buffer_poll']!(1n, 42, 0, 77, 1000, 8, 0), 0, 'nothing new');
  assert.equal(h.call['wasm_bpf_buffer_poll']!(1n, 99, 0, 77, 1000, 8, 0), -ENOENT, 'not a map of the object');
  assert.equal(h.call['wasm_bpf_buffer_poll']!(1n, 40, 0, 77, 1000, 8, 0), -EINVAL, 'not an event map');
  assert.equal(h.call['wasm_bpf_buffer_poll']!(3n, 42, 0, 77, 1000, 8, 0), -EINVAL, 'not an object');
  assert.throws(
    () => h.call['wasm_bpf_buffer_poll']!(1n, 42, 0, 77, END - 4, 8, 0),
    errorWith('GUEST_FAULT', /^wasm_bpf_buffer_poll: the record buffer \(8 bytes at 0xfffc\)/),
  );
  assert.throws(
    () => h.call['wasm_bpf_buffer_poll']!(1n, 42, 5, 77, 1000, 8, 0),
    errorWith('GUEST_FAULT', /sample_func 5 is not a function of the guest's table \(1 entries\)/),
  );
  assert.throws(() => h.call['wasm_bpf_buffer_poll']!(1n, 42, 0, 77, 1000, -1, 0), errorWith('GUEST_FAULT', /the length of the record buffer is negative/));
});

test('a callback returning non-zero ends a ring buffer poll at its record (the rest stay queued) and is returned; a perf buffer delivers the rest', async () => {
  const h = await harness();
  h.call['wasm_load_bpf_object']!(0, 4);
  h.kernel.queued.set(42, [Buffer.from('1'), Buffer.from('2'), Buffer.from('3')]);
  h.callbackResult.value = -7;
  assert.equal(h.call['wasm_bpf_buffer_poll']!(1n, 42, 0, 0, 1000, 8, 0), -7);
  assert.equal(h.callbacks.length, 1);
  assert.equal(h.kernel.readers.get(42)!.queue.length, 2, 'the next records are still there');
  h.callbackResult.value = 0;
  assert.equal(h.call['wasm_bpf_buffer_poll']!(1n, 42, 0, 0, 1000, 8, 0), 2);

  h.callbacks.length = 0;
  h.kernel.queued.set(43, [Buffer.from('a'), Buffer.from('b')]);
  h.callbackResult.value = 3;
  assert.equal(h.call['wasm_bpf_buffer_poll']!(1n, 43, 0, 0, 1000, 8, 0), 3);
  assert.equal(h.callbacks.length, 2, 'both perf records delivered');
});

test('a stop request unwinds a poll that waits', async () => {
  const h = await harness();
  h.call['wasm_load_bpf_object']!(0, 4);
  h.stop.requested = true;
  assert.throws(
    () => h.call['wasm_bpf_buffer_poll']!(1n, 42, 0, 0, 1000, 8, 1000),
    (error) => error instanceof GuestStopped,
  );
  assert.throws(
    () => h.call['wasm_bpf_map_fd_by_name']!(1n, 0),
    (error) => error instanceof GuestStopped,
    'every host call looks',
  );
});

test('closing an object closes its readers; closing it or polling it again from inside its poll is EBUSY', async () => {
  const h = await harness();
  h.call['wasm_load_bpf_object']!(0, 4);
  let inner: number[] = [];
  const openReader = h.kernel.openReader.bind(h.kernel);
  h.kernel.openReader = (map, onRecord) =>
    openReader(map, (data, offset, length) => {
      inner = [Number(h.call['wasm_close_bpf_object']!(1n)), Number(h.call['wasm_bpf_buffer_poll']!(1n, 42, 0, 0, 1000, 8, 0))];
      onRecord(data, offset, length);
    });
  h.kernel.queued.set(42, [Buffer.from('x')]);
  assert.equal(h.call['wasm_bpf_buffer_poll']!(1n, 42, 0, 0, 1000, 8, 0), 1);
  assert.deepEqual(inner, [-EBUSY, -EBUSY]);
  assert.equal(h.call['wasm_close_bpf_object']!(1n), 0);
  assert.equal(h.kernel.readers.get(42)!.closed, true);
  assert.equal(h.call['wasm_close_bpf_object']!(1n), 0, 'closing twice is fine (0, as the C++ runtime answers)');
  assert.equal(h.call['wasm_bpf_map_operate']!(40, 1, 100, 200, 0, 0n), -EBADF, "a closed object's maps are no longer the guest's");
});

test("a TinyGo guest's poll (module callback-wrapper, no table index) calls back its export go-callback", async () => {
  const h = await harness();
  h.call['wasm_load_bpf_object']!(0, 4);
  h.kernel.queued.set(42, [Buffer.from('tiny')]);
  const poll = (module: string) => (h.host.imports[module] as Record<string, (...args: (number | bigint)[]) => number>)['wasm_bpf_buffer_poll']!;
  assert.equal(poll('callback-wrapper')(1n, 42, 5, 1000, 8, 0), 1);
  assert.deepEqual(h.callbacks, [[5, 1000, 4]]);
  // The other pairing (wasm-bpf-rs's library defaults) calls back callback-wrapper, which this guest lacks.
  assert.throws(
    () => poll('go-callback')(1n, 42, 5, 1000, 8, 0),
    errorWith('GUEST_FAULT', /^go-callback\.wasm_bpf_buffer_poll: the module exports no "callback-wrapper" function$/),
  );
});
