/**
 * `ecli run module.wasm [args...]`: runs a wasm-bpf guest until it ends or the run is stopped.
 *
 * The guest runs in a worker thread: its host calls are synchronous and a buffer poll blocks, so
 * the main thread stays free for signals and for the BPF objects, which it owns. The worker
 * blocks on each load, attach and close while the main thread serves it (channel.ts); map
 * elements and event records it handles itself, on the map fds. A stop (signal, --duration,
 * stdout's reader gone) is a flag every wait in the worker watches, so the guest unwinds within
 * a poll slice; one that does not (a guest spinning without host calls) is terminated after
 * STOP_GRACE_MS. Then, however the guest ended (returned, proc_exit, trap, fault, stop), every
 * object it left loaded is closed here, which detaches its programs.
 *
 * The guest's exit status is ecli's; a run stopped by a signal exits 0, a trap or a bad pointer
 * is a GUEST_FAULT.
 */
import { Worker } from 'node:worker_threads';
import { MessageChannel } from 'node:worker_threads';
import { EcliError, exitCodeFor } from '../errors.js';
import { native } from '../loader/ffi/libbpf.js';
import { escapeControls, escapeControlsInLines } from '../terminal.js';
import { checkModule } from './abi.js';
import {
  createControl,
  deserializeError,
  requestStop,
  serveKernel,
  type GuestOutcome,
  type GuestWorkerData,
  type KernelReply,
  type KernelRequest,
} from './channel.js';
import { GuestObjects, guestObjectName } from './guest-objects.js';
import { readModuleInfo, withMemoryLimit } from './module-binary.js';

export interface WasmRunOptions {
  /** The module as the command line named it: messages use it, and it is the guest's argv[0]. */
  source: string;
  /** The guest's arguments after argv[0]. */
  args: readonly string[];
  /** Guest path → host directory (--wasm-dir). */
  preopens: Record<string, string>;
  /** The most memory the guest may grow to, in 64 KiB pages (--wasm-memory). */
  memoryLimitPages: number;
  /** Escape what the guest writes to stdout / stderr (they are terminals and --raw was not given). */
  escape: { stdout: boolean; stderr: boolean };
  verbose: boolean;
  btfCustomPath: string | undefined;
  /** Where ecli's own lines go (the guest's stderr goes straight to fd 2). */
  stderr: NodeJS.WritableStream;
  /** Resolves (with the signal's name) when the run should stop. */
  stopRequested: Promise<string>;
  /** Resolves on a second signal: do not wait for the guest to unwind. */
  stopForced?: Promise<string>;
  durationMs?: number;
  /** Ends the run when stdout's reader goes away; returns what stops watching. */
  watchOutput?: (onGone: () => void) => () => void;
}

/** How long a stopped guest gets to unwind by itself before its worker is terminated. */
export const STOP_GRACE_MS = 2000;
/** How long termination may take before the objects are closed regardless. */
const TERMINATE_WAIT_MS = 1000;

export async function runWasmModule(bytes: Uint8Array, options: WasmRunOptions): Promise<number> {
  const { source } = options;
  checkModule(readModuleInfo(bytes, source), source);
  const module = await compileModule(withMemoryLimit(bytes, options.memoryLimitPages, source), source);

  const notice = (message: string): void => {
    options.stderr.write(`ecli: ${escapeControls(message)}\n`);
  };
  const objects = new GuestObjects({
    source,
    objectName: guestObjectName(source),
    verbose: options.verbose,
    btfCustomPath: options.btfCustomPath,
    notice,
    report: (error) => {
      notice(error.message);
      if (error.hint !== undefined) options.stderr.write(`hint: ${escapeControls(error.hint)}\n`);
      if (options.verbose && error.detail !== undefined) options.stderr.write(`${escapeControlsInLines(error.detail.trimEnd())}\n`);
    },
  });

  const control = createControl();
  const { port1, port2 } = new MessageChannel();
  serveKernel(port1, control, (request) => serve(objects, request));
  const workerData: GuestWorkerData = {
    module,
    args: [source, ...options.args],
    preopens: options.preopens,
    control,
    kernelPort: port2,
    escape: options.escape,
  };
  const worker = new Worker(workerUrl(), { workerData, transferList: [port2] });
  const ended = guestEnded(worker);
  let termination: Promise<boolean> | undefined;
  const terminateOnce = (): Promise<boolean> => (termination ??= terminate(worker));
  const cancels: (() => void)[] = [];
  /** The error that stopped the run, if one did: the exit status when the process must end at once. */
  let stoppedBy: unknown;
  try {
    const stop = new Promise<StopRequest>((resolve) => {
      options.stopRequested.then(
        (reason) => resolve({ kind: 'stop-requested', reason }),
        (error: unknown) => resolve({ kind: 'stop-requested', reason: 'an error', error }),
      );
      if (options.durationMs !== undefined) {
        const timer = setTimeout(() => resolve({ kind: 'stop-requested', reason: '--duration' }), options.durationMs);
        cancels.push(() => clearTimeout(timer));
      }
      if (options.watchOutput !== undefined) cancels.push(options.watchOutput(() => resolve({ kind: 'stop-requested', reason: 'stdout closed' })));
    });
    const first = await Promise.race([ended, stop]);
    if (first.kind !== 'stop-requested') return statusOf(first, source);
    const outcome = await stopGuest(terminateOnce, control, ended, options.stopForced, notice);
    if (first.error !== undefined) {
      stoppedBy = first.error;
      throw first.error;
    }
    return statusOf(outcome, source);
  } finally {
    cancels.forEach((cancel) => cancel());
    port1.close();
    // Detached here whether or not the worker is still there (a guest stuck in a system call).
    const left = objects.loaded;
    const failure = objects.closeAll();
    if (left > 0 && options.verbose) notice(`closed ${left} BPF object${left === 1 ? '' : 's'} the guest left loaded`);
    if (!(await terminateOnce())) {
      // Node's exit would join the worker's thread, blocked for good (a guest reading a FIFO).
      notice('the guest is blocked in a system call and cannot be stopped; everything it loaded is closed, and ecli exits without it');
      native().exitProcess(failure !== undefined ? exitCodeFor(failure) : stoppedBy !== undefined ? exitCodeFor(stoppedBy) : 0);
    }
    // eslint-disable-next-line no-unsafe-finally -- a failed detach fails the run
    if (failure !== undefined) throw failure;
  }
}

interface StopRequest {
  kind: 'stop-requested';
  reason: string;
  /** The error that stopped the run (an uncaught one), rethrown once the guest is stopped. */
  error?: unknown;
}

async function compileModule(bytes: Uint8Array, source: string): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (error) {
    throw new EcliError('PACKAGE_INVALID', `${source} is not a valid WebAssembly module: ${(error as Error).message}`, {
      hint: 'rebuild it, e.g. with clang --target=wasm32-wasi',
    });
  }
}

function serve(objects: GuestObjects, request: KernelRequest): KernelReply {
  switch (request.op) {
    case 'load': {
      const loaded = objects.load(request.object);
      return loaded === undefined ? { op: 'load', handle: 0n, maps: [] } : { op: 'load', ...loaded };
    }
    case 'attach':
      return { op: 'result', result: objects.attach(request.handle, request.program, request.target) };
    case 'close':
      return { op: 'result', result: objects.close(request.handle) };
  }
}

type Ending = GuestOutcome | { kind: 'worker-died'; message: string };

/** How the worker says the guest ended; an exit without saying is a crash of the worker. */
function guestEnded(worker: Worker): Promise<Ending> {
  return new Promise((resolve) => {
    worker.once('message', (outcome: GuestOutcome) => resolve(outcome));
    worker.once('error', (error) => resolve({ kind: 'worker-died', message: error.message }));
    worker.once('exit', (code) => resolve({ kind: 'worker-died', message: `it exited with status ${code}` }));
  });
}

/** Asks the guest to stop, and terminates it when it does not within STOP_GRACE_MS (or at a second signal). */
async function stopGuest(
  terminate: () => Promise<boolean>,
  control: SharedArrayBuffer,
  ended: Promise<Ending>,
  forced: Promise<string> | undefined,
  notice: (m: string) => void,
): Promise<Ending> {
  requestStop(control);
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), STOP_GRACE_MS);
  });
  const first = await Promise.race([ended, grace, ...(forced === undefined ? [] : [forced.then(() => 'late' as const)])]);
  clearTimeout(timer);
  if (first !== 'late') return first;
  notice(`the guest did not stop within ${STOP_GRACE_MS / 1000} s; terminating it`);
  await terminate();
  return { kind: 'stopped' };
}

/** Terminates the worker; false when it did not end within TERMINATE_WAIT_MS (a thread blocked in a system call). */
async function terminate(worker: Worker): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    worker.terminate().then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), TERMINATE_WAIT_MS))),
  ]);
  clearTimeout(timer);
  return ended;
}

function statusOf(outcome: Ending, source: string): number {
  switch (outcome.kind) {
    case 'exit':
      // WASI's status is a u32; a process's is a byte (exit(-1) is 255, as with a native program).
      return outcome.status & 0xff;
    case 'stopped':
    case 'stdout-closed':
      return 0;
    case 'trap':
      throw new EcliError('GUEST_FAULT', `${source} trapped: ${outcome.message}${outcome.frame === undefined ? '' : ` in ${outcome.frame}`}`, {
        hint: 'the guest program is faulty (a bug in it, not in ecli); everything it loaded was detached',
      });
    case 'error':
      throw deserializeError(outcome.error);
    case 'worker-died':
      throw new EcliError('INTERNAL', `the worker running ${source} failed: ${outcome.message}`);
  }
}

/** The worker's script: beside this module, or beside the bundle (dist/bundle/wasm-worker.cjs). */
function workerUrl(): URL {
  return import.meta.url.endsWith('.cjs') ? new URL('./wasm-worker.cjs', import.meta.url) : new URL('./worker.js', import.meta.url);
}
