/**
 * How the main thread and the guest's worker talk. The guest's host calls are synchronous, so
 * the worker blocks on a SharedArrayBuffer (Atomics.wait) while the main thread, which owns
 * every BPF object, serves a kernel request and posts the reply on a MessagePort; the worker
 * then takes it with receiveMessageOnPort. The same buffer carries the stop request, which the
 * worker's waits (poll_oneoff, buffer polls, blocked writes) watch.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { EcliError, type ErrorCode } from '../errors.js';
import type { GuestMap } from './host-imports.js';

/** Int32 slots of the control buffer. */
const STOP = 0;
const REPLY = 1;
const CONTROL_SLOTS = 2;
const REPLY_RETRY_MS = 20;

export type KernelRequest =
  { op: 'load'; object: Uint8Array } | { op: 'attach'; handle: bigint; program: string; target: string | undefined } | { op: 'close'; handle: bigint };

export type KernelReply = { op: 'load'; handle: bigint; maps: GuestMap[] } | { op: 'result'; result: number };

export interface SerializedError {
  code: ErrorCode;
  message: string;
  hint: string | undefined;
  detail: string | undefined;
}

/** How the guest ended, as the worker reports it. */
export type GuestOutcome =
  | { kind: 'exit'; status: number }
  | { kind: 'stopped' }
  | { kind: 'stdout-closed' }
  | { kind: 'trap'; message: string; frame: string | undefined }
  | { kind: 'error'; error: SerializedError };

/** Everything the worker starts from. */
export interface GuestWorkerData {
  module: WebAssembly.Module;
  /** argv, argv[0] included. */
  args: string[];
  preopens: Record<string, string>;
  control: SharedArrayBuffer;
  kernelPort: MessagePort;
  /** Escape control characters in what the guest writes to stdout / stderr (they are terminals). */
  escape: { stdout: boolean; stderr: boolean };
}

export function createControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT);
}

/** Thrown inside the worker to unwind the guest when the run is being stopped. */
export class GuestStopped extends Error {
  constructor() {
    super('the run is being stopped');
  }
}

/** The main thread's side: ask the guest to stop. */
export function requestStop(control: SharedArrayBuffer): void {
  const slots = new Int32Array(control);
  Atomics.store(slots, STOP, 1);
  Atomics.notify(slots, STOP);
}

/** The worker's view of the stop request. */
export class StopSignal {
  private readonly slots: Int32Array;

  constructor(control: SharedArrayBuffer) {
    this.slots = new Int32Array(control);
  }

  get requested(): boolean {
    return Atomics.load(this.slots, STOP) !== 0;
  }

  check(): void {
    if (this.requested) throw new GuestStopped();
  }

  /** Waits up to `ms`, waking at once on a stop request, which it then throws. */
  sleep(ms: number): void {
    this.check();
    if (ms > 0) Atomics.wait(this.slots, STOP, 0, ms);
    this.check();
  }
}

/** The worker's side of kernel requests: post, block until the reply is there, take it. */
export class KernelClient {
  private readonly slots: Int32Array;

  constructor(
    control: SharedArrayBuffer,
    private readonly port: MessagePort,
  ) {
    this.slots = new Int32Array(control);
  }

  call(request: KernelRequest): KernelReply {
    Atomics.store(this.slots, REPLY, 0);
    this.port.postMessage(request);
    for (;;) {
      // Timed: a wake-up that comes before the message (or a message before the flag) costs a retry, not a hang.
      Atomics.wait(this.slots, REPLY, 0, REPLY_RETRY_MS);
      const received = receiveMessageOnPort(this.port);
      if (received !== undefined) return received.message as KernelReply;
    }
  }
}

/** The main thread's side: answers each request, then wakes the worker. */
export function serveKernel(port: MessagePort, control: SharedArrayBuffer, serve: (request: KernelRequest) => KernelReply): void {
  const slots = new Int32Array(control);
  port.on('message', (request: KernelRequest) => {
    port.postMessage(serve(request));
    Atomics.store(slots, REPLY, 1);
    Atomics.notify(slots, REPLY);
  });
}

export function serializeError(error: EcliError): SerializedError {
  return { code: error.code, message: error.message, hint: error.hint, detail: error.detail };
}

export function deserializeError(error: SerializedError): EcliError {
  return new EcliError(error.code, error.message, { hint: error.hint, detail: error.detail });
}
