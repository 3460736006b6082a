/**
 * Which member of an event tells its container: a cgroup id (what `bpf_get_current_cgroup_id()`
 * returns: it names the cgroup even after the process exited), else a process id, read from
 * /proc while the process runs. A member the package marks (`/// @container "cgroup_id"` or
 * `"pid"` in the header, which ecc writes as the member's `container`) wins; otherwise a
 * 64-bit member named `cgroup_id` or `cgroup`, then an integer named `pid` or `tgid`. Pure.
 */
import type { Btf } from '../btf/btf.js';
import type { Column, Columns } from '../btf/columns.js';
import { BtfKind } from '../btf/types.js';
import { CONTAINER_KEY } from '../format/container.js';

export interface ContainerKey {
  kind: 'cgroup_id' | 'pid';
  column: Column;
}

/** The member to look the container up by, or undefined when the events have none. */
export function containerKeyOf(btf: Btf, columns: Columns): ContainerKey | undefined {
  const integer = (c: Column, sizes: readonly number[]): boolean => {
    const t = btf.resolve(c.typeId);
    return t.kind === BtfKind.Int && !t.bool && t.bits === t.size * 8 && sizes.includes(t.size);
  };
  const marked = columns.members.find((c) => c.container !== undefined);
  if (marked?.container === 'cgroup_id' && integer(marked, [8])) return { kind: 'cgroup_id', column: marked };
  if (marked?.container === 'pid' && integer(marked, [4, 8])) return { kind: 'pid', column: marked };
  for (const name of ['cgroup_id', 'cgroup']) {
    const column = columns.members.find((c) => c.name === name && integer(c, [8]));
    if (column) return { kind: 'cgroup_id', column };
  }
  for (const name of ['pid', 'tgid']) {
    const column = columns.members.find((c) => c.name === name && integer(c, [4, 8]));
    if (column) return { kind: 'pid', column };
  }
  return undefined;
}

/** Why events of `columns` get no container (for a notice), or undefined when they can. */
export function noContainerReason(btf: Btf, columns: Columns): string | undefined {
  if (columns.members.some((c) => c.name === CONTAINER_KEY)) return `${columns.describe} has a member named ${CONTAINER_KEY} of its own`;
  if (containerKeyOf(btf, columns) === undefined) return `${columns.describe} has no cgroup id (cgroup_id) or process id (pid, tgid) member`;
  return undefined;
}

/** Reads the key's value from a record at `offset`: a cgroup id as a bigint, a pid as a number. */
export function keyReader(key: ContainerKey): ((data: Buffer, offset: number) => bigint) | ((data: Buffer, offset: number) => number) {
  const at = key.column.offset;
  if (key.kind === 'cgroup_id') return (d, o) => d.readBigUInt64LE(o + at);
  return key.column.size === 8 ? (d, o) => Number(d.readBigUInt64LE(o + at) & 0xffffffffn) : (d, o) => d.readUInt32LE(o + at);
}
