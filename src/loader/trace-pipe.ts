/**
 * Streams the kernel's trace_pipe (bpf_printk output) line by line. The pipe is opened
 * non-blocking and re-read on a timer when empty, so close() stops at once instead of waiting
 * for the next line the kernel writes.
 */
import { closeSync, constants, openSync, read } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { EcliError } from '../errors.js';
import { escapeControls } from '../terminal.js';
import { findTracefs } from './probe.js';

export interface TracePipeHandlers {
  onLine(line: string): void;
  /** Read errors after the pipe opened; the reader stops. By default a warning on stderr. */
  onError?(error: Error): void;
}

const IDLE_DELAY_MS = 100;
const CHUNK_SIZE = 64 * 1024;

export class TracePipeReader {
  private readonly buffer = Buffer.alloc(CHUNK_SIZE);
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private reading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly fd: number,
    private readonly handlers: TracePipeHandlers,
  ) {}

  /** Starts streaming `<tracefs>/trace_pipe`; tracefs must be mounted (see ensureTracefs). */
  static open(handlers: TracePipeHandlers, tracefs = findTracefs()): TracePipeReader {
    if (tracefs === undefined) {
      throw new EcliError('KERNEL_UNSUPPORTED', 'cannot read bpf_printk output: tracefs is not mounted', {
        hint: 'mount -t tracefs tracefs /sys/kernel/tracing',
      });
    }
    const path = `${tracefs}/trace_pipe`;
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      // The kernel lets one process read trace_pipe at a time.
      if ((error as NodeJS.ErrnoException).code === 'EBUSY') {
        throw new EcliError('RUNTIME', `cannot read bpf_printk output: another process is reading ${path}, and the kernel allows one reader`, {
          hint: `stop that reader (fuser -v ${path} names it), then run again`,
          cause: error,
        });
      }
      throw new EcliError('RUNTIME', `cannot open ${path}: ${(error as Error).message}`, { cause: error });
    }
    const reader = new TracePipeReader(fd, handlers);
    reader.readNext();
    return reader;
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.reading) closeSync(this.fd);
  }

  private readNext(): void {
    this.reading = true;
    read(this.fd, this.buffer, 0, CHUNK_SIZE, null, (error, bytesRead) => {
      this.reading = false;
      if (this.stopped) {
        closeSync(this.fd);
        return;
      }
      if (error && error.code !== 'EAGAIN') {
        this.close();
        (this.handlers.onError ?? warn)(error);
        return;
      }
      if (!error && bytesRead > 0) {
        try {
          this.emitLines(this.decoder.write(this.buffer.subarray(0, bytesRead)));
        } catch (handlerError) {
          this.close();
          (this.handlers.onError ?? warn)(handlerError as Error);
          return;
        }
        if (!this.stopped) this.readNext();
        return;
      }
      this.timer = setTimeout(() => this.readNext(), IDLE_DELAY_MS);
    });
  }

  private emitLines(text: string): void {
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) {
      this.handlers.onLine(line);
      if (this.stopped) return;
    }
  }
}

function warn(error: Error): void {
  process.stderr.write(`warning: stopped reading trace_pipe: ${escapeControls(error.message)}\n`);
}
