/**
 * BPF iterators: the link of an `iter/...` program, and its passes. Each pass is a new seq_file
 * (bpf_iter_create on the link) read to its end; the kernel runs the program as the file is read.
 */
import { EcliError } from '../errors.js';
import type { AttachContext, AttachTarget, Attachment } from './attachment.js';
import { linkAttachment, warningsSince } from './attachment.js';
import { type AttachFacts, describeProgram, diagnoseAttachFailure } from './diagnose.js';
import { describeErrno } from './ffi/errno.js';
import type { Native } from './ffi/native.js';

/** How much one read(2) of a seq_file asks for. */
const READ_CHUNK = 64 * 1024;

export interface IteratorLink {
  attachment: Attachment;
  /** Reads one pass: `onChunk` gets the bytes as read(2) returns them (valid only during the call). */
  readPass(onChunk: (bytes: Uint8Array) => void): void;
}

export function attachIterator(target: AttachTarget, context: AttachContext, facts: AttachFacts): IteratorLink {
  const { sys } = context;
  const mark = context.log.mark();
  const link = sys.libbpf.bpf_program__attach_iter(target.handle);
  if (link.ptr === null) {
    throw diagnoseAttachFailure({ program: target.info, errno: link.errno, warnings: warningsSince(context.log, mark), printed: context.log.verbose }, facts);
  }
  const attachment = linkAttachment(sys, link.ptr, target.info.sectionName);
  const linkFd = sys.libbpf.bpf_link__fd(link.ptr);
  return { attachment, readPass: (onChunk) => readPass(sys, linkFd, describeProgram(target.info), onChunk) };
}

function readPass(sys: Native, linkFd: number, what: string, onChunk: (bytes: Uint8Array) => void): void {
  const fd = sys.libbpf.bpf_iter_create(linkFd);
  if (fd < 0) throw new EcliError('RUNTIME', `cannot start a pass of the iterator ${what}: ${describeErrno(fd)}`);
  try {
    const buffer = new Uint8Array(READ_CHUNK);
    for (;;) {
      const count = sys.read(fd, buffer);
      if (count === 0) return;
      if (count < 0) throw new EcliError('RUNTIME', `cannot read the iterator ${what}: ${describeErrno(count)}`);
      onChunk(buffer.subarray(0, count));
    }
  } finally {
    sys.close(fd);
  }
}
