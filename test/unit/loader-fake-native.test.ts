/**
 * The loader's kernel-side classes over a fake Native (test/helpers/fake-native.ts), without
 * root: the ring buffer reader on memory laid out as the kernel lays it out, the bounded map
 * walk, clear(), the typed object lifecycle and close() collecting detach failures; and the
 * system call numbers by architecture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingBufferReader } from '../../src/loader/buffers.js';
import { EBUSY, ENOENT } from '../../src/loader/ffi/errno.js';
import { syscallNumbers } from '../../src/loader/ffi/syscalls.js';
import { BpfMap, OpenedObject } from '../../src/loader/object.js';
import { MAP_TYPE } from '../../src/model/map-types.js';
import { FakeNative } from '../helpers/fake-native.js';

const RING_FD = 7;

/** A reader of a ring of `size` bytes whose positions start at `start` (both). */
function ringReader(size: number, start = 0) {
  const sys = new FakeNative();
  const ring = sys.addRing(RING_FD, size);
  ring.skip(start);
  const records: string[] = [];
  const reader = new RingBufferReader(
    { fd: RING_FD, name: 'rb', maxEntries: size },
    { onRecord: (data, offset, length) => records.push(data.toString('latin1', offset, offset + length)) },
    sys,
  );
  return { sys, ring, records, reader };
}

const bytes = (text: string) => Buffer.from(text, 'latin1');

test('ring buffer: records in order, the consumer position published to the kernel after them', () => {
  const { ring, records, reader } = ringReader(4096);
  ring.write(bytes('first'));
  ring.write(bytes('second record'));
  assert.equal(reader.poll(0), 2);
  assert.deepEqual(records, ['first', 'second record']);
  // 8-byte header + 5 bytes, rounded up to 16; 8 + 13, rounded up to 24.
  assert.equal(ring.consumed, 40);
  assert.equal(reader.poll(0), 0);
  reader.close();
});

test('ring buffer: a record that wraps around the end of the ring arrives whole; so does the one after it', () => {
  const { ring, records, reader } = ringReader(64, 48); // the next header sits 16 bytes before the end
  ring.write(bytes('0123456789abcdefXYZ')); // 8 of its bytes fit before the end, 11 continue at the start
  ring.write(bytes('next'));
  assert.equal(reader.poll(0), 2);
  assert.deepEqual(records, ['0123456789abcdefXYZ', 'next']);
  assert.equal(ring.consumed, 48 + 32 + 16);
  reader.close();
});

test('ring buffer: a record still being written (busy) stops the read there; once committed, it and the later ones arrive', () => {
  const { ring, records, reader } = ringReader(4096);
  ring.write(bytes('a'));
  const busy = ring.write(bytes('b'), { busy: true });
  ring.write(bytes('c'));
  assert.equal(reader.poll(0), 1);
  assert.deepEqual(records, ['a']);
  assert.equal(ring.consumed, 16, 'not past the busy record');
  ring.commit(busy);
  assert.equal(reader.poll(0), 2);
  assert.deepEqual(records, ['a', 'b', 'c']);
  assert.equal(ring.consumed, 48);
  reader.close();
});

test('ring buffer: a discarded record is consumed but not handed on', () => {
  const { ring, records, reader } = ringReader(4096);
  ring.write(bytes('kept'));
  ring.write(bytes('thrown away'), { discard: true });
  ring.write(bytes('kept too'));
  assert.equal(reader.poll(0), 2);
  assert.deepEqual(records, ['kept', 'kept too']);
  assert.equal(ring.consumed, 16 + 24 + 16);
  reader.close();
});

test('ring buffer: close unmaps both mappings once; a poll after close is an INTERNAL error', () => {
  const { sys, reader } = ringReader(4096);
  reader.close();
  reader.close();
  assert.deepEqual(sys.calls, ['unmap whole', 'unmap whole']);
  assert.throws(() => reader.poll(0), { code: 'INTERNAL', message: /ring buffer reader for rb used after close\(\)/ });
});

const key = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const value = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
const numbers = (keys: Uint8Array[]) => keys.map((k) => Buffer.from(k).readUInt32LE(0));
const shape = (type: number, maxEntries: number) => ({ name: 'counts', type, keySize: 4, valueSize: 8, maxEntries, btfKeyTypeId: 0, btfValueTypeId: 0 });

test('map walk: every key once, in the kernel order; entries key by key where batches are refused', () => {
  const sys = new FakeNative();
  sys.addMap(5, 4, [
    [key(3), value(30)],
    [key(1), value(10)],
    [key(2), value(20)],
  ]);
  const map = BpfMap.fromFd(5, shape(1, 8), sys);
  assert.deepEqual(numbers(map.keys()), [3, 1, 2]);
  assert.deepEqual(
    map.entries().map(([k, v]) => [Buffer.from(k).readUInt32LE(0), Buffer.from(v).readBigUInt64LE(0)]),
    [
      [3, 30n],
      [1, 10n],
      [2, 20n],
    ],
  );
});

test('map walk: a walk the kernel keeps sending back to the start (the map changing under it) stops after max_entries + 1 steps', () => {
  const sys = new FakeNative();
  const fake = sys.addMap(5, 4);
  let steps = 0;
  fake.nextKey = (previous) => {
    steps++;
    const at = previous === null ? 0 : (Buffer.from(previous).readUInt32LE(0) + 1) % 3;
    return key(at);
  };
  const map = BpfMap.fromFd(5, shape(1, 10), sys);
  assert.deepEqual(numbers(map.keys()), [0, 1, 2]);
  assert.equal(steps, 11);
});

test('take: a hash map gives its entries and deletes exactly the keys it read; an array map zeroes the slots it read', () => {
  const sys = new FakeNative();
  sys.addMap(5, 4, [
    [key(1), value(10)],
    [key(2), value(20)],
  ]);
  const map = BpfMap.fromFd(5, shape(1, 8), sys);
  const lookup = sys.libbpf.bpf_map_lookup_elem;
  let added = false;
  // The program adds key 3 while the map is read: it stays for the next read.
  sys.libbpf.bpf_map_lookup_elem = (fd, k, v) => {
    const result = lookup(fd, k, v);
    if (!added) {
      added = true;
      sys.maps.get(5)!.entries.set(Buffer.from(key(3)).toString('hex'), value(30));
    }
    return result;
  };
  assert.deepEqual(numbers(map.take().map(([k]) => k)), [1, 2]);
  assert.deepEqual([...sys.maps.get(5)!.entries.keys()], ['03000000']);
  assert.deepEqual(
    sys.calls.filter((call) => call.startsWith('delete')),
    ['delete 01000000', 'delete 02000000'],
  );

  sys.calls.length = 0;
  sys.addMap(6, 4, [
    [key(0), value(5)],
    [key(1), value(6)],
  ]);
  assert.equal(BpfMap.fromFd(6, shape(MAP_TYPE.array, 2), sys).take().length, 2);
  assert.deepEqual(sys.calls, ['update 00000000', 'update 01000000']);
  assert.deepEqual(
    [...sys.maps.get(6)!.entries.values()].map((v) => Buffer.from(v).readBigUInt64LE(0)),
    [0n, 0n],
  );
});

function openedWith(programs: { name: string; detachError?: number }[]) {
  const sys = new FakeNative();
  sys.programs = programs.map((p) => ({ ...p, section: `tp/test/${p.name}` }));
  return { sys, opened: OpenedObject.open(new Uint8Array(64), { objectName: 'fake_bpf', sys, warn: () => undefined }) };
}

test('close() detaches newest first, goes on past failures, frees the object, then throws every failure at once', () => {
  const { sys, opened } = openedWith([{ name: 'first' }, { name: 'second', detachError: -EBUSY }, { name: 'third', detachError: -ENOENT }]);
  const loaded = opened.load();
  for (const program of loaded.programs) loaded.attach(program);
  sys.calls.length = 0;
  assert.throws(
    () => loaded.close(),
    (error: unknown) =>
      error instanceof Error &&
      (error as { code?: string }).code === 'RUNTIME' &&
      error.message === 'cannot detach tp/test/third: ENOENT (no such file or directory); cannot detach tp/test/second: EBUSY (device or resource busy)',
  );
  assert.deepEqual(sys.calls, [
    'bpf_link__destroy third',
    'bpf_link__destroy second',
    'bpf_link__destroy first',
    'bpf_object__close',
    'free',
    'unregisterCallback',
  ]);
  sys.calls.length = 0;
  loaded.close();
  assert.deepEqual(sys.calls, [], 'idempotent');
});

test('lifecycle: the opened object is spent by load(); a failed load frees it; attaching after close is refused', () => {
  const { sys, opened } = openedWith([{ name: 'only' }]);
  const loaded = opened.load();
  assert.throws(() => opened.load(), { code: 'INTERNAL', message: 'BPF object fake_bpf: load() after load()' });
  opened.close();
  assert.ok(!sys.calls.includes('bpf_object__close'), 'the loaded object owns it now');
  loaded.close();
  assert.throws(() => loaded.attach(loaded.programs[0]!), { code: 'INTERNAL', message: 'BPF object fake_bpf: attach() after close()' });

  const failing = openedWith([{ name: 'only' }]);
  failing.sys.loadError = -22;
  assert.throws(() => failing.opened.load());
  assert.deepEqual(failing.sys.calls.slice(-3), ['bpf_object__close', 'free', 'unregisterCallback']);
  failing.opened.close();
  assert.equal(failing.sys.calls.filter((c) => c === 'bpf_object__close').length, 1, 'freed once');
});

test('system call numbers follow process.arch; an architecture ecli does not know is refused with one clear error', () => {
  assert.deepEqual(syscallNumbers('x64'), { bpf: 321, perfEventOpen: 298 });
  assert.deepEqual(syscallNumbers('arm64'), { bpf: 280, perfEventOpen: 241 });
  assert.deepEqual(syscallNumbers('riscv64'), { bpf: 280, perfEventOpen: 241 });
  assert.throws(() => syscallNumbers('s390x'), {
    code: 'KERNEL_UNSUPPORTED',
    message: 'ecli cannot load BPF programs on s390x: it knows the system calls of x64, arm64, riscv64, loong64 only',
  });
  assert.throws(() => syscallNumbers('constructor'), { code: 'KERNEL_UNSUPPORTED' });
});
