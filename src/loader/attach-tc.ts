/**
 * TC attachment for programs in the exact section `tc`: a clsact hook plus a cls_bpf filter,
 * both through netlink. libbpf 1.1 has no TCX links, so unlike BPF links the filter outlives a
 * SIGKILLed process; close() removes it, and the clsact qdisc too when we created it.
 */
import { EcliError } from '../errors.js';
import { type AttachContext, type AttachMeta, type AttachTarget, type Attachment, warningsSince } from './attachment.js';
import { describeProgram } from './diagnose.js';
import { EEXIST, describeErrno, errnoName } from './ffi/errno.js';
import { type TcHook, type TcOpts, native } from './ffi/libbpf.js';

const ATTACH_POINTS: Record<string, number> = { BPF_TC_INGRESS: 1, BPF_TC_EGRESS: 2, BPF_TC_CUSTOM: 4 };
const BOTH_DIRECTIONS = ATTACH_POINTS.BPF_TC_INGRESS! | ATTACH_POINTS.BPF_TC_EGRESS!;
const DEFAULT_IFINDEX = 1;
const DEFAULT_HANDLE = 1;
const DEFAULT_PRIORITY = 1;

export function attachTc(target: AttachTarget, meta: AttachMeta, context: AttachContext): Attachment {
  const { libbpf } = native();
  const what = describeProgram(target.info);
  const pointName = meta.tchook?.attach_point ?? 'BPF_TC_INGRESS';
  const attachPoint = ATTACH_POINTS[pointName];
  if (attachPoint === undefined) {
    throw new EcliError('PACKAGE_INVALID', `${what}: tchook.attach_point "${pointName}" is not one of ${Object.keys(ATTACH_POINTS).join(', ')}`);
  }
  const hook: TcHook = { ifindex: meta.tchook?.ifindex ?? DEFAULT_IFINDEX, attach_point: attachPoint };
  const filter: TcOpts = {
    prog_fd: 0,
    flags: 0,
    prog_id: 0,
    handle: meta.tcopts?.handle ?? DEFAULT_HANDLE,
    priority: meta.tcopts?.priority ?? DEFAULT_PRIORITY,
  };
  const where = `ifindex ${hook.ifindex} ${pointName.replace('BPF_TC_', '').toLowerCase()}`;
  const mark = context.log.mark();
  const fail = (step: string, error: number, extra: { hint?: string } = {}) => {
    const reason = warningsSince(context.log, mark)[0]?.replace(/^libbpf: /, '') ?? describeErrno(error);
    return new EcliError('ATTACH_FAILED', `cannot attach ${what} to ${where}: ${step}: ${errnoName(error)}: ${reason}`, extra);
  };

  const created = libbpf.bpf_tc_hook_create(hook);
  if (created < 0 && Math.abs(created) !== EEXIST) throw fail('cannot create the clsact hook', created);
  const ownsHook = created === 0;
  const removeHook = () => libbpf.bpf_tc_hook_destroy({ ifindex: hook.ifindex, attach_point: BOTH_DIRECTIONS });

  const attached = libbpf.bpf_tc_attach(hook, { ...filter, prog_fd: target.fd });
  if (attached < 0) {
    if (ownsHook) removeHook();
    throw fail(
      'cannot add the filter',
      attached,
      Math.abs(attached) === EEXIST
        ? { hint: `a filter with handle ${filter.handle} and priority ${filter.priority} is already there; list it with: tc filter show dev <interface> ${pointName === 'BPF_TC_EGRESS' ? 'egress' : 'ingress'}` }
        : {},
    );
  }
  let detached = false;
  return {
    description: `TC filter on ${where}`,
    detach() {
      if (detached) return;
      detached = true;
      if (ownsHook) removeHook();
      else libbpf.bpf_tc_detach(hook, filter);
    },
  };
}
