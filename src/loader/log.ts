/**
 * libbpf's messages. libbpf has one process-wide print hook; while at least one capture is
 * active we own it, keep the recent messages (numbered, so a caller can take exactly the ones
 * its own libbpf call produced), and echo them to stderr only in verbose mode. Otherwise they
 * reach the user only through our error messages.
 */
import { escapeControlsInLines } from '../terminal.js';
import { isMemlockAdvice } from './diagnose.js';
import { native } from './ffi/libbpf.js';
import type { Native, Pointer } from './ffi/native.js';

export type LibbpfLevel = 'warn' | 'info' | 'debug';

export interface LibbpfMessage {
  seq: number;
  level: LibbpfLevel;
  /** The formatted message without its trailing newline; may span lines (verifier logs). */
  text: string;
}

const LEVELS: LibbpfLevel[] = ['warn', 'info', 'debug'];
const RING_SIZE = 256;

interface Hook {
  sys: Native;
  callback: Pointer;
  previous: Pointer | null;
  captures: Set<LibbpfLogCapture>;
  ring: LibbpfMessage[];
  nextSeq: number;
}

let hook: Hook | undefined;

export class LibbpfLogCapture {
  private active = true;

  constructor(readonly verbose: boolean) {}

  /** The sequence number the next message will get. */
  mark(): number {
    return hook?.nextSeq ?? 0;
  }

  /** Messages numbered `mark` or later that are still in the ring. */
  since(mark: number): LibbpfMessage[] {
    return hook ? hook.ring.filter((message) => message.seq >= mark) : [];
  }

  release(): void {
    if (!this.active) return;
    this.active = false;
    if (!hook) return;
    hook.captures.delete(this);
    if (hook.captures.size > 0) return;
    const { libbpf, unregisterCallback } = hook.sys;
    libbpf.libbpf_set_print(hook.previous);
    unregisterCallback(hook.callback);
    hook = undefined;
  }
}

/**
 * Starts capturing libbpf's messages; call release() when the object is closed. libbpf's hook is
 * process-wide: the first capture installs it through `sys`, and the others share it.
 */
export function captureLibbpfLog(options: { verbose: boolean }, sys: Native = native()): LibbpfLogCapture {
  const capture = new LibbpfLogCapture(options.verbose);
  hook ??= installHook(sys);
  hook.captures.add(capture);
  return capture;
}

function installHook(ffi: Native): Hook {
  const callback = ffi.registerPrintCallback((level, fmt, ap) => {
    try {
      record(level, ffi.formatVaList(fmt, ap));
    } catch {
      // A message we cannot format is not worth failing libbpf's call over.
    }
    return 0;
  });
  const previous = ffi.libbpf.libbpf_set_print(callback);
  return { sys: ffi, callback, previous, captures: new Set(), ring: [], nextSeq: 0 };
}

function record(level: number, formatted: string): void {
  if (!hook) return;
  const text = formatted.replace(/\n$/, '');
  const message: LibbpfMessage = { seq: hook.nextSeq++, level: LEVELS[level] ?? 'debug', text };
  hook.ring.push(message);
  if (hook.ring.length > RING_SIZE) hook.ring.shift();
  if ([...hook.captures].some((capture) => capture.verbose) && !isMemlockAdvice(text)) {
    process.stderr.write(`${text.startsWith('libbpf: ') ? '' : 'libbpf: '}${escapeControlsInLines(text)}\n`);
  }
}
