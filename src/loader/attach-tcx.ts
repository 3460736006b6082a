/**
 * TCX attachment: a BPF link on an interface's ingress or egress tc hook (Linux 6.6+), made by
 * libbpf's bpf_program__attach_tcx (1.3+) or, with older libbpf, with bpf(BPF_LINK_CREATE). Like every BPF link the kernel removes it
 * when we die, even by SIGKILL. The model's tc hook plan says whether a program goes through
 * TCX (`tcx/ingress`, `tcx/egress`, plain `tc`) or netlink (`tc` with `tcopts`); where the kernel
 * has no TCX a TCX plan falls back to a netlink tc filter, with a warning.
 */
import { EcliError } from '../errors.js';
import { tcHookPlan, type TcHookPlan } from '../model/tc-hook.js';
import type { ProgMeta } from '../package/types.js';
import { attachTc } from './attach-tc.js';
import { linkAttachment, type AttachContext, type AttachMeta, type AttachTarget, type Attachment } from './attachment.js';
import { describeProgram } from './diagnose.js';
import { EEXIST, EINVAL, ENODEV, describeErrno } from './ffi/errno.js';
import type { Native } from './ffi/native.js';
import {
  BPF_LINK_CREATE,
  BPF_PROG_QUERY,
  PROG_INFO_SIZE,
  linkCreateAttr,
  progInfoName,
  progQueryAttr,
  queriedCount,
  tcxAttachType,
  tcxOrderFlags,
} from './tcx-attr.js';

/** Programs a TCX hook is read for when an order names one (the kernel's limit is 64). */
const QUERY_CAPACITY = 64;

interface TcxHook {
  sys: Native;
  ifindex: number;
  /** For messages: `lo ingress`, `ifindex 3 egress`. */
  where: string;
  plan: TcHookPlan;
}

/** `tc`, `tcx/ingress` and `tcx/egress` programs, as their tc hook plan says. */
export function attachTcHook(target: AttachTarget, meta: AttachMeta, context: AttachContext): Attachment {
  // Callers of the loader without a package spec pass the prog meta alone: plan from it here.
  const plan =
    meta.tcHook ??
    tcHookPlan({ ...meta, name: target.info.name, attach: target.info.sectionName, link: true } as ProgMeta, target.info.kind === 'tcx' ? 'tcx' : 'tc');
  if (plan.via === 'netlink') return attachTc(target, meta, context);
  const what = describeProgram(target.info);
  const hook = resolveHook(context.sys, plan, what);
  if (hasTcx(hook, what)) return attachTcx(target, hook);
  if (target.info.kind === 'tcx') {
    context.warn(
      `${what}: this kernel has no TCX links (Linux 6.6+); attaching a netlink tc filter instead, which stays on ${hook.where} if ecli is killed with SIGKILL${plan.order ? ` (and the ${plan.order.position} order is ignored)` : ''}`,
    );
  }
  return attachTc(target, { tchook: { ifindex: hook.ifindex, attach_point: plan.direction === 'ingress' ? 'BPF_TC_INGRESS' : 'BPF_TC_EGRESS' } }, context);
}

function resolveHook(sys: Native, plan: TcHookPlan, what: string): TcxHook {
  if (plan.interface === undefined) return { sys, ifindex: plan.ifindex, where: `ifindex ${plan.ifindex} ${plan.direction}`, plan };
  const ifindex = sys.interfaceIndex(plan.interface);
  if (ifindex === 0) {
    throw new EcliError('ATTACH_FAILED', `cannot attach ${what}: there is no interface named ${plan.interface} in this network namespace`, {
      hint: 'list the interfaces with: ip link show',
    });
  }
  return { sys, ifindex, where: `${plan.interface} ${plan.direction}`, plan };
}

/**
 * Whether this kernel has TCX: a BPF_PROG_QUERY of the hook succeeds with TCX, and fails with
 * EINVAL on kernels that do not know the attach type. A missing interface is an error here.
 */
function hasTcx(hook: TcxHook, what: string): boolean {
  const result = hook.sys.bpf(BPF_PROG_QUERY, progQueryAttr(hook.ifindex, tcxAttachType(hook.plan.direction), 0n, 0));
  if (result >= 0) return true;
  if (-result === EINVAL) return false;
  throw hookError(what, hook, 'cannot query the tc hook', result);
}

function attachTcx(target: AttachTarget, hook: TcxHook): Attachment {
  const what = describeProgram(target.info);
  const { order } = hook.plan;
  const relativeId = order === undefined || order.anchor === true ? undefined : resolveAnchor(order.anchor, hook, what);
  const refused = (error: number): EcliError =>
    hookError(what, hook, 'the kernel refused the TCX link', error, -error === EEXIST ? { hint: 'this program is already attached there' } : {});
  const attachTcxLink = hook.sys.libbpf.bpf_program__attach_tcx;
  // libbpf ≥ 1.3 makes TCX links itself, and owns them as bpf_links, but it names the attach
  // type the section gave the program: only tcx/ sections give one (a plain `tc` program's is 0).
  if (attachTcxLink !== undefined && target.info.kind === 'tcx') {
    const link = attachTcxLink(target.handle, hook.ifindex, { flags: tcxOrderFlags(order?.position), relative_id: relativeId ?? 0 });
    if (link.ptr === null) throw refused(-link.errno);
    return linkAttachment(hook.sys, link.ptr, `TCX link on ${hook.where}`);
  }
  const attr = linkCreateAttr(
    target.fd,
    hook.ifindex,
    tcxAttachType(hook.plan.direction),
    order && { position: order.position, ...(relativeId === undefined ? {} : { relativeId }) },
  );
  const fd = hook.sys.bpf(BPF_LINK_CREATE, attr);
  if (fd < 0) throw refused(fd);
  let closed = false;
  return {
    description: `TCX link on ${hook.where}`,
    detach() {
      if (closed) return;
      closed = true;
      hook.sys.close(fd);
    },
  };
}

/** A program id as given, or the id of the program of that name already on the hook. */
function resolveAnchor(anchor: number | string, hook: TcxHook, what: string): number {
  if (typeof anchor === 'number') return anchor;
  const attached = attachedPrograms(hook, what);
  const found = attached.find((program) => program.name === anchor.slice(0, 15));
  if (found) return found.id;
  const names = attached.map((program) => program.name);
  throw new EcliError(
    'ATTACH_FAILED',
    `cannot attach ${what}: no program named ${anchor} is attached to ${hook.where} (${names.length === 0 ? 'none is' : `there: ${names.join(', ')}`})`,
    { hint: 'start that program first, or give its id (bpftool link list) in @tcx' },
  );
}

function attachedPrograms(hook: TcxHook, what: string): { id: number; name: string }[] {
  const ffi = hook.sys;
  const ids = new Uint8Array(QUERY_CAPACITY * 4);
  const memory = ffi.allocCopy(ids);
  try {
    const attr = progQueryAttr(hook.ifindex, tcxAttachType(hook.plan.direction), memory, QUERY_CAPACITY);
    const result = ffi.bpf(BPF_PROG_QUERY, attr);
    if (result < 0) throw hookError(what, hook, 'cannot list the programs on the tc hook', result);
    ffi.copyInto(ids, memory, ids.length);
    const view = Buffer.from(ids.buffer, ids.byteOffset, ids.length);
    const count = Math.min(queriedCount(attr), QUERY_CAPACITY);
    return Array.from({ length: count }, (_, i) => view.readUInt32LE(i * 4)).map((id) => ({ id, name: programName(ffi, id) }));
  } finally {
    ffi.free(memory);
  }
}

/** The kernel's name of a loaded program, or `#<id>` when it went away meanwhile. */
function programName(sys: Native, id: number): string {
  const fd = sys.libbpf.bpf_prog_get_fd_by_id(id);
  if (fd < 0) return `#${id}`;
  try {
    const info = new Uint8Array(PROG_INFO_SIZE);
    if (sys.libbpf.bpf_obj_get_info_by_fd(fd, info, [info.length]) < 0) return `#${id}`;
    return progInfoName(info);
  } finally {
    sys.close(fd);
  }
}

function hookError(what: string, hook: TcxHook, step: string, error: number, extra: { hint?: string } = {}): EcliError {
  if (-error === ENODEV) {
    return new EcliError('ATTACH_FAILED', `cannot attach ${what}: there is no interface with ifindex ${hook.ifindex} in this network namespace`, {
      hint: 'set the interface with /// @tcx {"interface": "<name>"} (ip link show lists them)',
    });
  }
  return new EcliError('ATTACH_FAILED', `cannot attach ${what} to ${hook.where}: ${step}: ${describeErrno(error)}`, extra);
}
