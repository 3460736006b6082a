/**
 * What attaching a program leaves behind, and how to undo it. Every attacher returns
 * Attachments; LoadedObject keeps them and detaches them, newest first, when it closes.
 */
import { EcliError } from '../errors.js';
import type { ProgramIdentity } from './diagnose.js';
import { describeErrno } from './ffi/errno.js';
import type { Native, Pointer } from './ffi/native.js';
import type { LibbpfLogCapture } from './log.js';

export type { AttachMeta } from '../model/programs.js';

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
  /** The kernel side (the system's libbpf, or a fake in tests); attachments keep it to detach. */
  sys: Native;
  log: LibbpfLogCapture;
  warn(message: string): void;
}

/** A BPF link: destroying it detaches the program (and the kernel does so if we die). */
export function linkAttachment(sys: Native, link: Pointer, description: string): Attachment {
  let destroyed = false;
  return {
    description,
    detach() {
      if (destroyed) return;
      destroyed = true;
      const error = sys.libbpf.bpf_link__destroy(link);
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
