/**
 * Cgroup attachment for `sockops` programs, which libbpf cannot auto-attach: a BPF link to the
 * cgroup directory the attach meta names (wasm-bpf guests give it as their attach target). The
 * directory is opened with O_DIRECTORY, so no other kind of file is ever opened, and closed
 * once the link holds the cgroup.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { EcliError } from '../errors.js';
import { type AttachContext, type AttachMeta, type AttachTarget, type Attachment, linkAttachment, warningsSince } from './attachment.js';
import { describeProgram } from './diagnose.js';
import { errnoName, describeErrno } from './ffi/errno.js';

export function attachCgroup(target: AttachTarget, meta: AttachMeta, context: AttachContext): Attachment {
  const path = meta.cgroup;
  if (path === undefined) {
    throw new EcliError('ATTACH_FAILED', `cannot attach ${describeProgram(target.info)}: it attaches to a cgroup, and none was given`, {
      hint: 'give the cgroup directory as its attach target, e.g. /sys/fs/cgroup/unified/<group>',
    });
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new EcliError('ATTACH_FAILED', `cannot attach ${describeProgram(target.info)} to cgroup ${path}: ${code}: it is not a directory that can be opened`, {
      hint: 'give a cgroup v2 directory, e.g. /sys/fs/cgroup/unified/<group> (hybrid) or /sys/fs/cgroup/<group>',
    });
  }
  const mark = context.log.mark();
  try {
    const link = context.sys.libbpf.bpf_program__attach_cgroup(target.handle, fd);
    if (link.ptr !== null) return linkAttachment(context.sys, link.ptr, `cgroup ${path}`);
    const reason = warningsSince(context.log, mark)[0]?.replace(/^libbpf: /, '') ?? describeErrno(link.errno);
    throw new EcliError('ATTACH_FAILED', `cannot attach ${describeProgram(target.info)} to cgroup ${path}: ${errnoName(link.errno)}: ${reason}`, {
      hint: 'the directory must be in a cgroup v2 hierarchy',
    });
  } finally {
    closeSync(fd);
  }
}
