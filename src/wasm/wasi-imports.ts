/**
 * WASI preview 1 for a guest: Node's node:wasi, with these changes. Writes to stdout and stderr
 * go to a GuestOutput (which escapes them for a terminal); clock waits in poll_oneoff (sleep,
 * nanosleep) and reads of stdin wait in slices that end as soon as the run is being stopped; and
 * the guest sees no host directory but those preopened by --wasm-dir, and no environment
 * variables. proc_exit ends start() with the guest's status (returnOnExit).
 */
import { createRequire } from 'node:module';
import type { WASI } from 'node:wasi';
import { WASI_MODULE } from './abi.js';
import type { GuestMemory } from './guest-memory.js';

/** Where the guest's stdout (1) and stderr (2) go. Returns a WASI errno (0 when written). */
export interface GuestOutput {
  write(fd: 1 | 2, bytes: Uint8Array): number;
}

/** The run's stop request, as the guest's waits see it. */
export interface StopWaiter {
  /** Waits up to `ms` (sooner when a stop is requested); then throws if one was. */
  sleep(ms: number): void;
  /** Throws when a stop was requested. */
  check(): void;
}

export interface WasiSetup {
  /** The guest's argv, argv[0] included. */
  args: string[];
  /** Guest path → host directory. */
  preopens: Record<string, string>;
  output: GuestOutput;
  stop: StopWaiter;
  memory: GuestMemory;
  /** poll(2) of `fd` for input: 1 when readable, 0 on timeout, or -errno. */
  waitReadable(fd: number, timeoutMs: number): number;
}

export interface GuestWasi {
  wasi: WASI;
  imports: WebAssembly.ModuleImports;
}

/** WASI errnos (wasi_snapshot_preview1's errno enum). */
const WASI_ERRNO = { success: 0, fault: 21, inval: 28 } as const;
const EVENT_TYPE_CLOCK = 0;
const SUBSCRIPTION_SIZE = 48;
const EVENT_SIZE = 32;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const SUBSCRIPTION_CLOCK_ABSTIME = 1;
const IOVEC_SIZE = 8;
/** How long a read of stdin waits at a time before it looks whether the run is being stopped. */
const READ_SLICE_MS = 100;

export function createGuestWasi(setup: WasiSetup): GuestWasi {
  const wasi = withoutExperimentalWarning(
    () =>
      new (loadWasi())({
        version: 'preview1',
        args: setup.args,
        env: {},
        preopens: setup.preopens,
        returnOnExit: true,
      }),
  );
  const node = wasi.wasiImport as Record<string, (...args: never[]) => number>;
  const { memory, output, stop } = setup;
  /** Stdin, stdout and stderr stay ours until the guest closes or renumbers them. */
  const ours = new Set<number>([0, 1, 2]);

  const view = (): DataView => new DataView(memory.buffer);
  const inMemory = (pointer: number, length: number): boolean => (pointer >>> 0) + length <= memory.size;

  const fdWrite = (fd: number, iovs: number, iovsLength: number, written: number): number => {
    if (fd !== 1 && fd !== 2) return node.fd_write!(fd as never, iovs as never, iovsLength as never, written as never);
    if (!ours.has(fd)) return node.fd_write!(fd as never, iovs as never, iovsLength as never, written as never);
    stop.check();
    if (!inMemory(iovs, iovsLength * IOVEC_SIZE) || !inMemory(written, 4)) return WASI_ERRNO.fault;
    const data = view();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < iovsLength; i++) {
      const pointer = data.getUint32(iovs + i * IOVEC_SIZE, true);
      const length = data.getUint32(iovs + i * IOVEC_SIZE + 4, true);
      if (!inMemory(pointer, length)) return WASI_ERRNO.fault;
      chunks.push(new Uint8Array(data.buffer, pointer, length));
      total += length;
    }
    const errno = output.write(fd, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    if (errno !== WASI_ERRNO.success) return errno;
    view().setUint32(written, total, true);
    return WASI_ERRNO.success;
  };

  /** A read of stdin waits for input here, where a stop request is seen, then reads what is there. */
  const fdRead = (fd: number, iovs: number, iovsLength: number, read: number): number => {
    if (fd === 0 && ours.has(0)) {
      for (;;) {
        stop.check();
        if (setup.waitReadable(0, READ_SLICE_MS) !== 0) break;
      }
    }
    return node.fd_read!(fd as never, iovs as never, iovsLength as never, read as never);
  };

  const fdClose = (fd: number): number => {
    ours.delete(fd);
    return node.fd_close!(fd as never);
  };

  const fdRenumber = (from: number, to: number): number => {
    ours.delete(from);
    ours.delete(to);
    return node.fd_renumber!(from as never, to as never);
  };

  const pollOneoff = (subscriptions: number, events: number, count: number, eventCount: number): number => {
    if (count === 0) return WASI_ERRNO.inval;
    if (!inMemory(subscriptions, count * SUBSCRIPTION_SIZE) || !inMemory(events, count * EVENT_SIZE) || !inMemory(eventCount, 4)) {
      return WASI_ERRNO.fault;
    }
    const deadlines = clockDeadlines(view(), subscriptions, count);
    // Waits on files (stdin) are Node's: they cannot be cut short by a stop request.
    if (deadlines === undefined) return node.poll_oneoff!(subscriptions as never, events as never, count as never, eventCount as never);
    const first = Math.min(...deadlines.map((d) => d.at));
    stop.sleep(Math.max(0, (first - monotonicNow()) / 1e6));
    const now = monotonicNow();
    const data = view();
    let written = 0;
    for (const { userdata, at } of deadlines) {
      if (at > now && written > 0) continue;
      const event = events + written * EVENT_SIZE;
      data.setBigUint64(event, userdata, true);
      data.setUint16(event + 8, WASI_ERRNO.success, true);
      data.setUint8(event + 10, EVENT_TYPE_CLOCK);
      written++;
    }
    data.setUint32(eventCount, written, true);
    return WASI_ERRNO.success;
  };

  return {
    wasi,
    imports: { ...node, fd_read: fdRead, fd_write: fdWrite, fd_close: fdClose, fd_renumber: fdRenumber, poll_oneoff: pollOneoff },
  };
}

/** The import object of a guest: WASI plus the host's modules. */
export function guestImports(wasi: GuestWasi, host: WebAssembly.Imports): WebAssembly.Imports {
  return { ...host, [WASI_MODULE]: wasi.imports };
}

interface ClockDeadline {
  userdata: bigint;
  /** On the monotonic clock, in ns. */
  at: number;
}

/** The deadlines of the subscriptions when all are realtime or monotonic clocks; else undefined. */
function clockDeadlines(data: DataView, subscriptions: number, count: number): ClockDeadline[] | undefined {
  const deadlines: ClockDeadline[] = [];
  const now = monotonicNow();
  for (let i = 0; i < count; i++) {
    const at = subscriptions + i * SUBSCRIPTION_SIZE;
    if (data.getUint8(at + 8) !== EVENT_TYPE_CLOCK) return undefined;
    const clock = data.getUint32(at + 16, true);
    if (clock !== CLOCK_REALTIME && clock !== CLOCK_MONOTONIC) return undefined;
    const timeout = Number(data.getBigUint64(at + 24, true));
    const absolute = (data.getUint16(at + 40, true) & SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
    const remaining = !absolute ? timeout : clock === CLOCK_MONOTONIC ? timeout - now : timeout - Date.now() * 1e6;
    deadlines.push({ userdata: data.getBigUint64(at, true), at: now + Math.max(0, remaining) });
  }
  return deadlines;
}

function monotonicNow(): number {
  return Number(process.hrtime.bigint());
}

/** node:wasi, loaded on first use (loading it is what prints its warning). */
function loadWasi(): typeof WASI {
  return (createRequire(import.meta.url)('node:wasi') as typeof import('node:wasi')).WASI;
}

/** node:wasi warns that it is experimental when it loads: the guest's user has no use for that. */
function withoutExperimentalWarning<T>(make: () => T): T {
  const emitWarning = process.emitWarning;
  process.emitWarning = () => undefined;
  try {
    return make();
  } finally {
    process.emitWarning = emitWarning;
  }
}
