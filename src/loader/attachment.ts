/**
 * What attaching a program leaves behind, and how to undo it. Every attacher returns
 * Attachments; BpfObject keeps them and detaches them, newest first, when it closes.
 */
import { EcliError } from '../errors.js';
import type { ProgramIdentity } from './diagnose.js';
import { describeErrno } from './ffi/errno.js';
import { native, type Pointer } from './ffi/libbpf.js';
import type { LibbpfLogCapture } from './log.js';
import type { PerfEventMeta } from './perf-event.js';
import type { TcxMeta } from './tcx-attr.js';

export interface Attachment {
  /** For messages, e.g. `XDP on ifindex 1`. */
  readonly description: string;
  /** Undoes the attachment; throws an EcliError (RUNTIME) when the kernel refused (never ignored). */
  detach(): void;
}

/** A loaded program, as the attachers need it. */
export interface AttachTarget {
  handle: Pointer;
  fd: number;
  info: ProgramIdentity;
}

export interface AttachContext {
  log: LibbpfLogCapture;
  warn(message: string): void;
}

/** Special-attacher settings from the program's meta (see the package format, progs[]). */
export interface AttachMeta {
  ifindex?: number;
  flags?: number;
  xdpopts?: { old_prog_fd?: number };
  tchook?: { ifindex?: number; attach_point?: string };
  tcopts?: { handle?: number; priority?: number };
  tcx?: TcxMeta;
  perf_event?: PerfEventMeta;
}

/** A BPF link: destroying it detaches the program (and the kernel does so if we die). */
export function linkAttachment(link: Pointer, description: string): Attachment {
  let destroyed = false;
  return {
    description,
    detach() {
      if (destroyed) return;
      destroyed = true;
      const error = native().libbpf.bpf_link__destroy(link);
      if (error < 0) throw new EcliError('RUNTIME', `cannot detach ${description}: ${describeErrno(error)}`);
    },
  };
}

/** libbpf's warnings since `mark`, oldest first. */
export function warningsSince(log: LibbpfLogCapture, mark: number): string[] {
  return log
    .since(mark)
    .filter((message) => message.level === 'warn')
    .map((message) => message.text);
}
