/** The running kernel's tracepoints for ecc's checks: tracefs' events/ and the `btf_trace_*` types of vmlinux.h. Read once, on first use. */
import { readFileSync } from 'node:fs';
import { findTracefs, listTracepoints } from '../loader/probe.js';
import type { KernelTracepoints } from './program-checks.js';

/** `category/name` of every tracepoint; undefined when tracefs is not mounted or not readable (not root). */
export function tracefsEvents(tracefs: string | undefined = findTracefs()): string[] | undefined {
  return tracefs === undefined ? undefined : listTracepoints(tracefs);
}

/** The names of `btf_trace_<name>` typedefs in a vmlinux.h; undefined when it cannot be read. */
export function btfTraceNames(vmlinuxHeader: string): string[] | undefined {
  try {
    return [...readFileSync(vmlinuxHeader, 'utf8').matchAll(/\(\*btf_trace_(\w+)\)/g)].map((m) => m[1]!);
  } catch {
    return undefined;
  }
}

export function kernelTracepoints(vmlinuxHeader: string): KernelTracepoints {
  let events: string[] | undefined | null = null;
  let btfNames: string[] | undefined | null = null;
  return {
    events: () => (events === null ? (events = tracefsEvents()) : events),
    btfNames: () => (btfNames === null ? (btfNames = btfTraceNames(vmlinuxHeader)) : btfNames),
  };
}
