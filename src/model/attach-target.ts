/**
 * Where a program attaches, in words, for `ecli inspect`: the section's target for most kinds,
 * and for XDP and TC the interface, direction and attach mode their prog meta chooses.
 */
import type { ProgramSpec } from './programs.js';

/** libbpf's default interface for XDP and TC: ifindex 1 is always the network namespace's loopback. */
const DEFAULT_IFINDEX = 1;
const XDP_FLAG_NAMES: [number, string][] = [
  [1, 'UPDATE_IF_NOEXIST'],
  [2, 'SKB_MODE'],
  [4, 'DRV_MODE'],
  [8, 'HW_MODE'],
  [16, 'REPLACE'],
];

function interfaceText(ifindex: number, name?: string): string {
  if (name !== undefined) return name;
  return ifindex === 1 ? 'lo (ifindex 1)' : `ifindex ${ifindex}`;
}

function xdpFlagsText(flags: number): string {
  const names = XDP_FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  const rest = XDP_FLAG_NAMES.reduce((left, [bit]) => left & ~bit, flags);
  return [...names, ...(rest === 0 ? [] : [`0x${rest.toString(16)}`])].join('|');
}

function orderText(position: 'before' | 'after', anchor: true | number | string): string {
  if (anchor === true) return position === 'before' ? 'first in the chain' : 'last in the chain';
  return `${position} ${typeof anchor === 'number' ? `program id ${anchor}` : anchor}`;
}

export function attachTargetText(program: ProgramSpec): string {
  const { attach } = program;
  if (program.kind === 'xdp') {
    const flags = attach.flags ?? 0;
    const netlink = flags !== 0 || (attach.xdpopts?.old_prog_fd ?? 0) !== 0;
    return `${interfaceText(attach.ifindex ?? DEFAULT_IFINDEX)}, ${netlink ? `netlink${flags === 0 ? '' : `, flags ${xdpFlagsText(flags)}`}` : 'BPF link'}`;
  }
  const hook = attach.tcHook;
  if (hook) {
    const where = `${interfaceText(hook.ifindex, hook.interface)} ${hook.direction}`;
    if (hook.via === 'netlink') {
      const opts = attach.tcopts;
      const numbers = opts === undefined ? '' : `, handle ${opts.handle ?? 0}, priority ${opts.priority ?? 0}`;
      return `${where}, netlink filter${numbers}`;
    }
    const order = hook.order === undefined ? '' : `, ${orderText(hook.order.position, hook.order.anchor)}`;
    return `${where}, TCX link${order} (netlink filter on kernels without TCX)`;
  }
  return program.target;
}
