/**
 * TCX (the kernel's link-based tc hook, Linux 6.6+) as bytes: the `union bpf_attr` images of
 * BPF_LINK_CREATE (with the order flags) and BPF_PROG_QUERY for a TCX hook, and the name in a
 * struct bpf_prog_info. libbpf 1.1 and 1.2 predate TCX, so with them attach-tcx.ts makes these
 * calls with bpf(2) itself. Pure.
 */
import type { TcDirection } from '../model/tc-hook.js';

export const BPF_PROG_TYPE_SCHED_CLS = 3;
export const BPF_TCX_INGRESS = 46;
export const BPF_TCX_EGRESS = 47;
export const BPF_PROG_QUERY = 16;
export const BPF_LINK_CREATE = 28;

/** uapi bpf.h: place relative to another program (or the whole chain when none is given). */
const BPF_F_BEFORE = 1 << 3;
const BPF_F_AFTER = 1 << 4;
/** The relative program is given by id, not by fd. */
const BPF_F_ID = 1 << 5;

export function tcxAttachType(direction: TcDirection): number {
  return direction === 'ingress' ? BPF_TCX_INGRESS : BPF_TCX_EGRESS;
}

/** The order flags of a TCX link; libbpf's bpf_program__attach_tcx adds BPF_F_ID itself for a relative id. */
export function tcxOrderFlags(position: 'before' | 'after' | undefined): number {
  return position === undefined ? 0 : position === 'before' ? BPF_F_BEFORE : BPF_F_AFTER;
}

/** BPF_LINK_CREATE for a TCX hook: prog_fd, target_ifindex, attach_type, flags, tcx.relative_id. */
export function linkCreateAttr(progFd: number, ifindex: number, attachType: number, order?: { position: 'before' | 'after'; relativeId?: number }): Buffer {
  const attr = Buffer.alloc(32);
  attr.writeUInt32LE(progFd, 0);
  attr.writeUInt32LE(ifindex, 4);
  attr.writeUInt32LE(attachType, 8);
  if (order) {
    let flags = tcxOrderFlags(order.position);
    if (order.relativeId !== undefined) {
      flags |= BPF_F_ID;
      attr.writeUInt32LE(order.relativeId, 16);
    }
    attr.writeUInt32LE(flags, 12);
  }
  return attr;
}

/** BPF_PROG_QUERY of a TCX hook, with room for `capacity` program ids at native address `progIds`. */
export function progQueryAttr(ifindex: number, attachType: number, progIds: bigint, capacity: number): Buffer {
  const attr = Buffer.alloc(64);
  attr.writeUInt32LE(ifindex, 0);
  attr.writeUInt32LE(attachType, 4);
  attr.writeBigUInt64LE(progIds, 16);
  attr.writeUInt32LE(capacity, 24);
  return attr;
}

/** After BPF_PROG_QUERY: how many programs the hook holds. */
export function queriedCount(attr: Buffer): number {
  return attr.readUInt32LE(24);
}

/** The first bytes of struct bpf_prog_info, up to and including `name`. */
export const PROG_INFO_SIZE = 80;
const PROG_INFO_NAME_OFFSET = 64;

/** `name` of a struct bpf_prog_info image (the kernel keeps 15 characters). */
export function progInfoName(info: Uint8Array): string {
  const name = info.subarray(PROG_INFO_NAME_OFFSET, PROG_INFO_NAME_OFFSET + 16);
  const end = name.indexOf(0);
  return Buffer.from(end < 0 ? name : name.subarray(0, end)).toString('utf8');
}
