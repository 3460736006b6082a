/**
 * XDP attachment for programs in the exact section `xdp` (libbpf does not auto-attach them).
 * Without flags this is a BPF link, which the kernel removes even if we are SIGKILLed; with
 * flags (e.g. SKB mode) or old_prog_fd it goes through netlink and must be detached at close.
 */
import { EcliError } from '../errors.js';
import { type AttachContext, type AttachMeta, type AttachTarget, type Attachment, linkAttachment, warningsSince } from './attachment.js';
import { describeProgram } from './diagnose.js';
import { EBUSY, EEXIST, errnoName, describeErrno } from './ffi/errno.js';

const DEFAULT_IFINDEX = 1;

export function attachXdp(target: AttachTarget, meta: AttachMeta, context: AttachContext): Attachment {
  const { libbpf } = context.sys;
  const ifindex = meta.ifindex ?? DEFAULT_IFINDEX;
  const flags = meta.flags ?? 0;
  const oldProgFd = meta.xdpopts?.old_prog_fd ?? 0;
  const description = `XDP on ifindex ${ifindex}`;
  const mark = context.log.mark();

  if (flags === 0 && oldProgFd === 0) {
    const link = libbpf.bpf_program__attach_xdp(target.handle, ifindex);
    if (link.ptr !== null) return linkAttachment(context.sys, link.ptr, description);
    throw xdpError(target, ifindex, -link.errno, warningsSince(context.log, mark));
  }
  const error = libbpf.bpf_xdp_attach(ifindex, target.fd, flags, { old_prog_fd: oldProgFd });
  if (error < 0) throw xdpError(target, ifindex, error, warningsSince(context.log, mark));
  let detached = false;
  return {
    description,
    detach() {
      if (detached) return;
      detached = true;
      // old_prog_fd = ours: the kernel only removes the program if it is still ours.
      const error = libbpf.bpf_xdp_detach(ifindex, flags, { old_prog_fd: target.fd });
      if (error < 0) {
        throw new EcliError('RUNTIME', `cannot detach ${description}: ${describeErrno(error)}`, {
          hint: 'check it with: ip link show; remove it with: ip link set dev <interface> xdp off',
        });
      }
    },
  };
}

function xdpError(target: AttachTarget, ifindex: number, error: number, warnings: string[]): EcliError {
  const busy = Math.abs(error) === EBUSY || Math.abs(error) === EEXIST;
  const reason = warnings[0]?.replace(/^libbpf: /, '') ?? describeErrno(error);
  return new EcliError(
    'ATTACH_FAILED',
    `cannot attach ${describeProgram(target.info)} to ifindex ${ifindex}: ${errnoName(error)}: ${reason}`,
    busy ? { hint: 'another XDP program is attached there; remove it with: ip link set dev <interface> xdp off' } : {},
  );
}
