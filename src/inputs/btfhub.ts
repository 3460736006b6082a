/** The btfhub-archive layout: `<os-release ID>/<VERSION_ID>/<uname -m>/<uname -r>.btf`. */

export interface BtfTarget {
  /** os-release ID, e.g. `ubuntu`. */
  id: string;
  /** os-release VERSION_ID, e.g. `22.04`. */
  versionId: string;
  /** `uname -m`, e.g. `x86_64`. */
  arch: string;
  /** `uname -r`, e.g. `5.15.0-91-generic`. */
  release: string;
}

const BTF_SUFFIX = '.btf';
const BTF_MAGIC = 0xeb9f;

/** A single usable path component: not empty, not `.` or `..`, no separators or NULs. */
export function isSafeComponent(part: string): boolean {
  return part !== '' && part !== '.' && part !== '..' && !/[/\\\0]/.test(part);
}

export function btfRelativePath(target: BtfTarget): string {
  return [target.id, target.versionId, target.arch, `${target.release}${BTF_SUFFIX}`].join('/');
}

/** The target named by the last four components of a path, or undefined if they do not fit the layout. */
export function btfTargetOfPath(path: string): BtfTarget | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length < 4) return undefined;
  const [id, versionId, arch, file] = parts.slice(-4) as [string, string, string, string];
  if (!file.endsWith(BTF_SUFFIX)) return undefined;
  const target = { id, versionId, arch, release: file.slice(0, -BTF_SUFFIX.length) };
  return [id, versionId, arch, target.release].every(isSafeComponent) ? target : undefined;
}

export function describeTarget(target: BtfTarget): string {
  return [target.id, target.versionId || '(no VERSION_ID)', target.arch, target.release].join(' ');
}

/** Raw BTF (what btfhub ships and `bpftool gen min_core_btf` writes) or an ELF holding .BTF. */
export function looksLikeBtf(bytes: Uint8Array): boolean {
  const rawBtf = bytes.length >= 2 && (bytes[0]! | (bytes[1]! << 8)) === BTF_MAGIC;
  const elf = bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  return rawBtf || elf;
}
