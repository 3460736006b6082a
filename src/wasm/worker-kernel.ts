/**
 * The guest's kernel side inside its worker. Loading, attaching and closing are asked of the main
 * thread, which owns the BPF objects (so it can detach everything even if the worker never
 * comes back); map elements and event readers work on the map fds right here, without a
 * round trip per call or per record (fds are the process's, shared by every thread).
 */
import { PerfBufferReader, RingBufferReader } from '../loader/buffers.js';
import { native } from '../loader/ffi/libbpf.js';
import type { KernelClient } from './channel.js';
import type { GuestKernel, GuestMap, GuestReader, LoadedGuestObject, RecordHandler } from './host-imports.js';

/** Pages per CPU of a perf event array's buffer, as both reference runtimes use. */
const PERF_BUFFER_PAGES = 64;

export class WorkerKernel implements GuestKernel {
  constructor(private readonly client: KernelClient) {}

  load(object: Uint8Array): LoadedGuestObject | undefined {
    const reply = this.client.call({ op: 'load', object });
    if (reply.op !== 'load' || reply.handle === 0n) return undefined;
    return { handle: reply.handle, maps: reply.maps };
  }

  attach(handle: bigint, program: string, target: string | undefined): number {
    return this.result(this.client.call({ op: 'attach', handle, program, target }));
  }

  close(handle: bigint): number {
    return this.result(this.client.call({ op: 'close', handle }));
  }

  lookup(map: GuestMap, key: Uint8Array, value: Uint8Array, flags: bigint): number {
    return native().libbpf.bpf_map_lookup_elem_flags(map.fd, key, value, flags);
  }

  update(map: GuestMap, key: Uint8Array, value: Uint8Array, flags: bigint): number {
    return native().libbpf.bpf_map_update_elem(map.fd, key, value, flags);
  }

  delete(map: GuestMap, key: Uint8Array, flags: bigint): number {
    return native().libbpf.bpf_map_delete_elem_flags(map.fd, key, flags);
  }

  nextKey(map: GuestMap, key: Uint8Array | null, nextKey: Uint8Array): number {
    return native().libbpf.bpf_map_get_next_key(map.fd, key, nextKey);
  }

  openReader(map: GuestMap, onRecord: RecordHandler): GuestReader {
    if (map.typeName === 'ringbuf') return new RingBufferReader(map, { onRecord });
    return new PerfBufferReader(map, { pages: PERF_BUFFER_PAGES, onRecord });
  }

  private result(reply: ReturnType<KernelClient['call']>): number {
    return reply.op === 'result' ? reply.result : -1;
  }
}
