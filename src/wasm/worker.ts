/**
 * The worker thread a Wasm guest runs in (started by run-module.ts): instantiates the module
 * with WASI and the wasm_bpf host functions, runs `_start`, and reports how the guest ended.
 * Host calls block this thread, never the main one, which keeps serving signals and the BPF
 * objects. Whatever the ending, the event readers the guest opened are closed before the report.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EcliError } from '../errors.js';
import { native } from '../loader/ffi/libbpf.js';
import { GuestStopped, KernelClient, StopSignal, serializeError, type GuestOutcome, type GuestWorkerData } from './channel.js';
import { GuestMemory } from './guest-memory.js';
import { FdOutput, StdoutClosed } from './guest-output.js';
import { createHostImports } from './host-imports.js';
import { MEMORY_EXPORT } from './abi.js';
import { createGuestWasi, guestImports } from './wasi-imports.js';
import { WorkerKernel } from './worker-kernel.js';

async function runGuest(data: GuestWorkerData): Promise<GuestOutcome> {
  const stop = new StopSignal(data.control);
  let instance: WebAssembly.Instance | undefined;
  const exports = (): WebAssembly.Exports => {
    if (instance === undefined) throw new EcliError('INTERNAL', 'a host function was called before the guest was instantiated');
    return instance.exports;
  };
  const memory = new GuestMemory(() => {
    const exported = exports()[MEMORY_EXPORT];
    if (!(exported instanceof WebAssembly.Memory)) throw new EcliError('INTERNAL', 'the guest exports no memory');
    return exported;
  });
  const output = new FdOutput({ escape: data.escape, sleep: (ms) => stop.sleep(ms) });
  const wasi = createGuestWasi({ args: data.args, preopens: data.preopens, output, stop, memory, waitReadable: (fd, ms) => native().waitReadable(fd, ms) });
  const host = createHostImports({
    kernel: new WorkerKernel(new KernelClient(data.control, data.kernelPort)),
    memory,
    exports,
    checkStop: () => stop.check(),
  });
  try {
    instance = await WebAssembly.instantiate(data.module, guestImports(wasi, host.imports));
    return { kind: 'exit', status: wasi.wasi.start(instance) };
  } catch (error) {
    return outcomeOf(error);
  } finally {
    host.closeReaders();
  }
}

function outcomeOf(error: unknown): GuestOutcome {
  if (error instanceof GuestStopped) return { kind: 'stopped' };
  if (error instanceof StdoutClosed) return { kind: 'stdout-closed' };
  if (error instanceof EcliError) return { kind: 'error', error: serializeError(error) };
  // A trap, or the guest's recursion exhausting the stack.
  if (error instanceof WebAssembly.RuntimeError || (error instanceof RangeError && /call stack/i.test(error.message))) {
    return { kind: 'trap', message: error.message, frame: guestFrame(error.stack) };
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { kind: 'error', error: serializeError(new EcliError('INTERNAL', `the Wasm worker failed: ${message}`)) };
}

/** The innermost guest function of a trap's stack, e.g. `main (wasm-function[12]:0x1f3)`. */
function guestFrame(stack: string | undefined): string | undefined {
  const line = stack?.split('\n').find((l) => l.includes('wasm://'));
  const match = line === undefined ? null : /at (?:(\S+) )?\(?wasm:\/\/wasm\/[^:]+:(wasm-function\[\d+\]:0x[0-9a-f]+)\)?/.exec(line);
  if (match === null) return undefined;
  return match[1] === undefined ? match[2] : `${match[1]} (${match[2]})`;
}

const data = workerData as GuestWorkerData;
void runGuest(data).then((outcome) => parentPort?.postMessage(outcome));
