/**
 * TC attachment for programs in the exact section `tc`: a clsact hook plus a cls_bpf filter,
 * both through netlink. Unlike BPF links the filter outlives a SIGKILLed process, so detach()
 * removes exactly what attaching created: the filter at the handle and priority the kernel
 * reported (it chooses them when the package asks for 0), after checking it still runs our
 * program; then the clsact qdisc, only when this attachment created it and no filter of anyone
 * else's is left on it. Every step's result is checked: a failure is thrown, never ignored.
 */
import { EcliError } from '../errors.js';
import { type AttachContext, type AttachMeta, type AttachTarget, type Attachment, warningsSince } from './attachment.js';
import { describeProgram } from './diagnose.js';
import { EEXIST, EINVAL, ENOENT, describeErrno, errnoName } from './ffi/errno.js';
import type { Native, TcHook, TcOpts } from './ffi/native.js';
import { CLSACT_EGRESS, CLSACT_INGRESS, listFilters } from './tc-filters.js';

const ATTACH_POINTS: Record<string, number> = { BPF_TC_INGRESS: 1, BPF_TC_EGRESS: 2, BPF_TC_CUSTOM: 4 };
const BOTH_DIRECTIONS = ATTACH_POINTS.BPF_TC_INGRESS! | ATTACH_POINTS.BPF_TC_EGRESS!;
const DEFAULT_IFINDEX = 1;
const DEFAULT_HANDLE = 1;
const DEFAULT_PRIORITY = 1;

/** A filter on a hook, as the kernel identifies it. */
interface Filter {
  handle: number;
  priority: number;
}

/** Deleting a qdisc that is not there: the kernel answers EINVAL, or ENOENT. */
const isGone = (error: number): boolean => Math.abs(error) === ENOENT || Math.abs(error) === EINVAL;

const lookupOpts = (filter: Filter): TcOpts => ({ prog_fd: 0, flags: 0, prog_id: 0, handle: filter.handle, priority: filter.priority });

export function attachTc(target: AttachTarget, meta: AttachMeta, context: AttachContext): Attachment {
  const { sys } = context;
  const { libbpf } = sys;
  const what = describeProgram(target.info);
  const pointName = meta.tchook?.attach_point ?? 'BPF_TC_INGRESS';
  const attachPoint = ATTACH_POINTS[pointName];
  if (attachPoint === undefined) {
    throw new EcliError('PACKAGE_INVALID', `${what}: tchook.attach_point "${pointName}" is not one of ${Object.keys(ATTACH_POINTS).join(', ')}`);
  }
  const hook: TcHook = { ifindex: meta.tchook?.ifindex ?? DEFAULT_IFINDEX, attach_point: attachPoint };
  const direction = pointName === 'BPF_TC_EGRESS' ? 'egress' : 'ingress';
  const where = `ifindex ${hook.ifindex} ${pointName.replace('BPF_TC_', '').toLowerCase()}`;
  const mark = context.log.mark();
  const fail = (step: string, error: number, extra: { hint?: string } = {}) => {
    const reason = warningsSince(context.log, mark)[0]?.replace(/^libbpf: /, '') ?? describeErrno(error);
    return new EcliError('ATTACH_FAILED', `cannot attach ${what} to ${where}: ${step}: ${errnoName(error)}: ${reason}`, extra);
  };

  const created = libbpf.bpf_tc_hook_create(hook);
  if (created < 0 && Math.abs(created) !== EEXIST) throw fail('cannot create the clsact hook', created);
  const qdisc = new ClsactQdisc(sys, hook.ifindex, created === 0);

  const requested: Filter = { handle: meta.tcopts?.handle ?? DEFAULT_HANDLE, priority: meta.tcopts?.priority ?? DEFAULT_PRIORITY };
  const opts: TcOpts = { ...lookupOpts(requested), prog_fd: target.fd };
  const attached = libbpf.bpf_tc_attach(hook, opts);
  if (attached < 0) {
    const error = fail(
      'cannot add the filter',
      attached,
      Math.abs(attached) === EEXIST
        ? {
            hint: `a filter with handle ${requested.handle} and priority ${requested.priority} is already there; list it with: tc filter show dev ${qdisc.device} ${direction}`,
          }
        : {},
    );
    try {
      qdisc.releaseIfUnused();
    } catch (cleanup) {
      context.warn((cleanup as Error).message);
    }
    throw error;
  }
  // What the kernel created, which differs from the request when that asked for 0s.
  const filter: Filter = { handle: opts.handle, priority: opts.priority };
  const progId = opts.prog_id;
  const label = `TC filter on ${where} (handle 0x${filter.handle.toString(16)}, priority ${filter.priority})`;
  const removal = `tc filter del dev ${qdisc.device} ${direction} pref ${filter.priority} handle 0x${filter.handle.toString(16)} bpf`;
  const parent = attachPoint === ATTACH_POINTS.BPF_TC_EGRESS ? CLSACT_EGRESS : CLSACT_INGRESS;
  const removeFilter = (): void => {
    const found = listFilters(sys, hook.ifindex, parent).find((entry) => entry.handle === filter.handle && entry.priority === filter.priority);
    if (found === undefined) throw new EcliError('RUNTIME', `cannot detach ${label}: it is not there any more (something else removed it)`);
    if (found.progId !== progId) {
      throw new EcliError('RUNTIME', `${label} was replaced by another filter (not ecli's program id ${progId}): left in place`);
    }
    const removed = libbpf.bpf_tc_detach(hook, lookupOpts(filter));
    if (removed < 0) throw new EcliError('RUNTIME', `cannot detach ${label}: ${describeErrno(removed)}`, { hint: `remove it with: ${removal}` });
  };
  let detached = false;
  return {
    description: label,
    detach() {
      if (detached) return;
      detached = true;
      const failures: EcliError[] = [];
      for (const step of [removeFilter, () => qdisc.releaseIfUnused()]) {
        try {
          step();
        } catch (error) {
          failures.push(error as EcliError);
        }
      }
      if (failures.length === 0) return;
      const hint = failures.find((failure) => failure.hint !== undefined)?.hint;
      throw new EcliError('RUNTIME', failures.map((failure) => failure.message).join('; '), hint === undefined ? {} : { hint });
    },
  };
}

/** The clsact qdisc of an interface; `created` when this attachment created it. */
class ClsactQdisc {
  constructor(
    private readonly sys: Native,
    private readonly ifindex: number,
    private readonly created: boolean,
  ) {}

  /** The interface's name for commands in hints (`<ifindex N>` when it is gone). */
  get device(): string {
    return this.sys.interfaceName(this.ifindex) ?? `<ifindex ${this.ifindex}>`;
  }

  /** Deletes the qdisc when we created it and neither direction holds a filter any more. */
  releaseIfUnused(): void {
    if (!this.created) return;
    const others = listFilters(this.sys, this.ifindex, CLSACT_INGRESS).length + listFilters(this.sys, this.ifindex, CLSACT_EGRESS).length;
    if (others > 0) return;
    const destroyed = this.sys.libbpf.bpf_tc_hook_destroy({ ifindex: this.ifindex, attach_point: BOTH_DIRECTIONS });
    if (destroyed < 0 && !isGone(destroyed)) {
      throw new EcliError('RUNTIME', `cannot delete the clsact qdisc ecli created on ifindex ${this.ifindex}: ${describeErrno(destroyed)}`, {
        hint: `remove it with: tc qdisc del dev ${this.device} clsact`,
      });
    }
  }
}
