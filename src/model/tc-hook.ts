/**
 * How a program on an interface's tc hook attaches, decided from its section and prog meta:
 * through a TCX link (`tcx/ingress`, `tcx/egress`, and `tc` programs that ask for nothing only
 * netlink can do), or through a netlink `cls_bpf` filter (`tc` with `tcopts` or a custom
 * parent). A TCX plan still falls back to netlink on kernels without TCX: the loader probes. Pure.
 */
import { EcliError } from '../errors.js';
import type { ProgMeta, TcxAnchor } from '../package/types.js';

export type TcDirection = 'ingress' | 'egress';

export interface TcxOrder {
  position: 'before' | 'after';
  /** `true`: first (before) or last (after) of the chain; a program id; or a program name. */
  anchor: TcxAnchor;
}

export interface TcHookPlan {
  via: 'tcx' | 'netlink';
  direction: TcDirection;
  /** The interface by name (resolved in ecli's network namespace when attaching), else by index. */
  interface?: string;
  ifindex: number;
  /** TCX only: where in the hook's chain. */
  order?: TcxOrder;
}

/** `lo`, like the reference's default ifindex for tc and xdp. */
const DEFAULT_IFINDEX = 1;

/** `tcx/ingress` → 'ingress'; undefined for other sections. */
export function tcxDirectionOf(section: string): TcDirection | undefined {
  const match = /^tcx\/(ingress|egress)$/.exec(section);
  return match ? (match[1] as TcDirection) : undefined;
}

/** The plan of a `tc` or `tcx/...` program; throws PACKAGE_INVALID for settings that cannot work. */
export function tcHookPlan(prog: ProgMeta, kind: 'tc' | 'tcx'): TcHookPlan {
  const what = `program ${prog.name} (${prog.attach})`;
  if (kind === 'tcx') {
    const direction = tcxDirectionOf(prog.attach);
    if (direction === undefined) {
      throw new EcliError('PACKAGE_INVALID', `${what}: a TCX section is tcx/ingress or tcx/egress`, { hint: 'fix the SEC() name and recompile' });
    }
    const tcx = prog.tcx ?? {};
    if (tcx.interface !== undefined && tcx.ifindex !== undefined) {
      throw new EcliError('PACKAGE_INVALID', `${what}: @tcx gives both "interface" and "ifindex"`, { hint: 'keep one of them' });
    }
    const order = tcxOrderOf(tcx, what);
    return {
      via: 'tcx',
      direction,
      ifindex: tcx.ifindex ?? DEFAULT_IFINDEX,
      ...(tcx.interface === undefined ? {} : { interface: tcx.interface }),
      ...(order === undefined ? {} : { order }),
    };
  }
  const point = prog.tchook?.attach_point ?? 'BPF_TC_INGRESS';
  const netlinkOnly = prog.tcopts !== undefined || (point !== 'BPF_TC_INGRESS' && point !== 'BPF_TC_EGRESS');
  return {
    via: netlinkOnly ? 'netlink' : 'tcx',
    direction: point === 'BPF_TC_EGRESS' ? 'egress' : 'ingress',
    ifindex: prog.tchook?.ifindex ?? DEFAULT_IFINDEX,
  };
}

/** The order `@tcx` asks for; refuses both `before` and `after`, and anchors of the wrong type. */
export function tcxOrderOf(tcx: { before?: TcxAnchor; after?: TcxAnchor }, what: string): TcxOrder | undefined {
  if (tcx.before !== undefined && tcx.after !== undefined) {
    throw new EcliError('PACKAGE_INVALID', `${what}: @tcx has both "before" and "after"`, { hint: 'keep one of them' });
  }
  const position = tcx.before !== undefined ? 'before' : tcx.after !== undefined ? 'after' : undefined;
  if (position === undefined) return undefined;
  const anchor = tcx[position];
  const valid = anchor === true || (typeof anchor === 'string' && anchor !== '') || (Number.isInteger(anchor) && (anchor as number) > 0);
  if (!valid) {
    throw new EcliError('PACKAGE_INVALID', `${what}: @tcx "${position}" is ${JSON.stringify(anchor)}`, {
      hint: `use true (${position === 'before' ? 'first' : 'last'} in the chain), a program id, or the name of a program attached there`,
    });
  }
  return { position, anchor: anchor as TcxAnchor };
}
