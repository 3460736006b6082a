/**
 * The guest's linear memory as host calls see it: every pointer and length a guest passes is
 * checked against the memory's current size before a byte is read or written, and a bad one
 * is a GUEST_FAULT naming the host call and the argument, never a read or write elsewhere.
 * Views are taken afresh for each access: memory.grow detaches the old buffer. Pure.
 */
import { EcliError } from '../errors.js';

/** Strings a host call reads (names, paths) are at most this long. */
export const MAX_GUEST_STRING = 4096;

export class GuestMemory {
  constructor(private readonly memory: () => WebAssembly.Memory) {}

  get size(): number {
    return this.memory().buffer.byteLength;
  }

  /** The whole memory, for reads and writes already checked against `size`. */
  get buffer(): ArrayBuffer {
    return this.memory().buffer;
  }

  /**
   * `length` bytes at `pointer`, as a view into the guest's memory (valid until it grows).
   * Pointers and lengths arrive as signed i32: they are read as the unsigned values the guest meant.
   */
  bytes(call: string, what: string, pointer: number, length: number): Uint8Array {
    const at = pointer >>> 0;
    const size = this.size;
    if (length < 0) throw guestFault(call, `the length of ${what} is negative (${length})`);
    if (at + length > size) {
      throw guestFault(call, `${what} (${length} bytes at ${hex(at)}) is outside the guest's memory (${size} bytes)`);
    }
    return new Uint8Array(this.memory().buffer, at, length);
  }

  /** The NUL-terminated UTF-8 string at `pointer`. */
  cString(call: string, what: string, pointer: number): string {
    const at = pointer >>> 0;
    const memory = new Uint8Array(this.memory().buffer);
    if (at >= memory.length) throw guestFault(call, `${what} at ${hex(at)} is outside the guest's memory (${memory.length} bytes)`);
    const limit = Math.min(memory.length, at + MAX_GUEST_STRING + 1);
    const end = memory.indexOf(0, at);
    if (end < 0 || end >= limit) {
      throw guestFault(
        call,
        end < 0 ? `${what} at ${hex(at)} has no NUL before the end of the guest's memory` : `${what} at ${hex(at)} is longer than ${MAX_GUEST_STRING} bytes`,
      );
    }
    return Buffer.from(memory.buffer, at, end - at).toString('utf8');
  }

  /** Copies `data` to `pointer`, which was checked to hold `capacity` bytes. */
  write(pointer: number, data: Uint8Array): void {
    new Uint8Array(this.memory().buffer, pointer >>> 0, data.length).set(data);
  }
}

export function guestFault(call: string, message: string): EcliError {
  return new EcliError('GUEST_FAULT', `${call}: ${message}`, {
    hint: 'the Wasm module passed the host a pointer or length it does not own; it is faulty, and was stopped',
  });
}

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}
