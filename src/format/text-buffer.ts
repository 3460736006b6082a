/**
 * A growable byte buffer that output is formatted into directly: events become UTF-8 bytes
 * without a string per value, per line, or per batch (see bytes.ts). Strings can be appended
 * too, for text that has no byte writer.
 */
import { Buffer } from 'node:buffer';

const INITIAL_CAPACITY = 64 * 1024;
/** Digits of a non-negative integer below 2^53, written backwards. */
const digits = new Uint8Array(16);

export class TextBuffer {
  bytes: Buffer;
  length = 0;

  constructor(private readonly capacity = INITIAL_CAPACITY) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.bytes.copy(bigger, 0, 0, this.length);
    this.bytes = bigger;
  }

  byte(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }

  /** Appends bytes known in advance (keys, separators, names). */
  constant(text: Uint8Array): void {
    const n = text.length;
    this.reserve(n);
    const bytes = this.bytes;
    let at = this.length;
    for (let i = 0; i < n; i++) bytes[at++] = text[i]!;
    this.length = at;
  }

  /** Appends `count` bytes of `data` from `offset`, as they are. */
  copy(data: Uint8Array, offset: number, count: number): void {
    this.reserve(count);
    const bytes = this.bytes;
    let at = this.length;
    for (let i = 0; i < count; i++) bytes[at++] = data[offset + i]!;
    this.length = at;
  }

  /** Appends a string as UTF-8. */
  string(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.bytes.write(text, this.length, 'utf8');
  }

  /** Appends the decimal digits of an integer in the safe range (what `${value}` prints). */
  integer(value: number): void {
    this.reserve(17);
    const bytes = this.bytes;
    if (value < 0) {
      bytes[this.length++] = 0x2d;
      value = -value;
    }
    if (value < 10) {
      bytes[this.length++] = 0x30 + value;
      return;
    }
    let n = 0;
    while (value > 0) {
      const next = Math.floor(value / 10);
      digits[n++] = 0x30 + (value - next * 10);
      value = next;
    }
    let at = this.length;
    while (n > 0) bytes[at++] = digits[--n]!;
    this.length = at;
  }

  /** The bytes written so far (a view, not a copy). */
  view(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  /** Starts over in the same memory: only when no view of it is in use any more. */
  clear(): void {
    this.length = 0;
  }

  /** Starts over in new memory, leaving the bytes written so far to whoever holds a view of them. */
  detach(): void {
    this.bytes = Buffer.allocUnsafe(Math.max(this.capacity, this.length));
    this.length = 0;
  }
}
