/**
 * What the guest writes to stdout and stderr, written to ecli's own fds 1 and 2 from the
 * worker, synchronously: a guest that writes faster than its reader reads waits, as a native
 * program would. On a terminal the text is escaped like event data (control characters but
 * newline and tab shown as escapes, UTF-8 decoded across writes); pipes and files get the
 * bytes. Stdout's reader going away ends the run; another failure to write stdout fails it.
 */
import { writeSync } from 'node:fs';
import { writeFailure } from '../errors.js';
import { escapeControlsInLines } from '../terminal.js';
import type { GuestOutput } from './wasi-imports.js';

/** Thrown in the worker when stdout's reader went away (EPIPE): the run ends as if stopped. */
export class StdoutClosed extends Error {
  constructor() {
    super('stdout was closed');
  }
}

/** WASI errnos of a failed write to stderr. */
const WASI_EIO = 29;
const WASI_EPIPE = 64;
/** How long a write waits between tries when the fd is full (EAGAIN). */
const RETRY_MS = 2;

export interface FdOutputOptions {
  escape: { stdout: boolean; stderr: boolean };
  /** Waits `ms` between tries of a full fd; throws when the run is being stopped. */
  sleep(ms: number): void;
  /** The fds written to; 1 and 2 unless a test says otherwise. */
  fds?: { stdout: number; stderr: number };
}

export class FdOutput implements GuestOutput {
  private readonly decoders = new Map<1 | 2, TextDecoder>();

  constructor(private readonly options: FdOutputOptions) {}

  write(fd: 1 | 2, bytes: Uint8Array): number {
    const escape = fd === 1 ? this.options.escape.stdout : this.options.escape.stderr;
    const data = escape ? Buffer.from(escapeControlsInLines(this.decoder(fd).decode(bytes, { stream: true })), 'utf8') : bytes;
    const target = fd === 1 ? (this.options.fds?.stdout ?? 1) : (this.options.fds?.stderr ?? 2);
    try {
      this.writeAll(target, data);
      return 0;
    } catch (error) {
      // Anything but a failed write(2) (a stop request while waiting) goes on unwinding the guest.
      if (!isSystemError(error)) throw error;
      if (fd === 2) return error.code === 'EPIPE' ? WASI_EPIPE : WASI_EIO;
      if (error.code === 'EPIPE') throw new StdoutClosed();
      throw writeFailure(error);
    }
  }

  private writeAll(fd: number, data: Uint8Array): void {
    let at = 0;
    while (at < data.length) {
      try {
        at += writeSync(fd, data, at, data.length - at);
      } catch (error) {
        // A non-blocking fd (a pipe Node set up) that is full: wait for its reader.
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        this.options.sleep(RETRY_MS);
      }
    }
  }

  private decoder(fd: 1 | 2): TextDecoder {
    let decoder = this.decoders.get(fd);
    if (decoder === undefined) {
      decoder = new TextDecoder('utf-8');
      this.decoders.set(fd, decoder);
    }
    return decoder;
  }
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string' && typeof (error as NodeJS.ErrnoException).code === 'string';
}
