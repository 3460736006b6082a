/**
 * Where a process or a cgroup id sits in the cgroup tree. `bpf_get_current_cgroup_id()` gives the
 * id of the task's cgroup in the v2 hierarchy, which is the inode number of its directory in the
 * cgroup2 file system; on a hybrid host (v1 controllers plus v2) that file system is mounted
 * at /sys/fs/cgroup/unified, on a v2 host at /sys/fs/cgroup. A process's own paths are in
 * /proc/PID/cgroup: the `0::` line is its v2 path; on a v1-only host the `name=systemd` line (or
 * any other) tells the same container.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The cgroup2 mount points listed in a mountinfo text (the first is the one to use). */
export function cgroup2Mounts(mountinfo: string): string[] {
  const mounts: string[] = [];
  for (const line of mountinfo.split('\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const fsType = line.slice(dash + 3).split(' ')[0];
    const fields = line.slice(0, dash).split(' ');
    // Only a mount of the hierarchy's root sees every cgroup under its own path.
    if (fsType === 'cgroup2' && fields[3] === '/' && fields[4] !== undefined) mounts.push(unescapeMountPath(fields[4]));
  }
  return mounts;
}

/** mountinfo writes space, tab, newline and backslash in paths as octal escapes. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * The path that tells a process's container, from the text of /proc/PID/cgroup: the v2 path
 * (`0::/...`), else the v1 `name=systemd` one, else the first v1 path. Undefined for empty text.
 */
export function processCgroupPath(text: string): string | undefined {
  let systemd: string | undefined;
  let first: string | undefined;
  for (const line of text.split('\n')) {
    const first_ = line.indexOf(':');
    const second = line.indexOf(':', first_ + 1);
    if (first_ < 0 || second < 0) continue;
    const id = line.slice(0, first_);
    const controllers = line.slice(first_ + 1, second);
    const path = line.slice(second + 1);
    if (id === '0' && controllers === '') return path;
    if (controllers === 'name=systemd') systemd ??= path;
    first ??= path;
  }
  return systemd ?? first;
}

/** The cgroup path of a running process, or undefined when it has exited (or is not visible). */
export function readProcessCgroupPath(procRoot: string, pid: number): string | undefined {
  try {
    return processCgroupPath(readFileSync(join(procRoot, String(pid), 'cgroup'), 'latin1'));
  } catch {
    return undefined;
  }
}

export interface CgroupIndexOptions {
  /** The cgroup2 mount point (`findCgroup2Root`). */
  root: string;
  /** Most cgroups indexed; past it a scan stops (and says so through `truncated`). */
  maxEntries?: number;
  /** A rescan happens at most this often (ms), however many ids are missed. */
  minRescanMs?: number;
  now?: () => number;
}

/** What one scan found: cgroup id (directory inode) → path below the root (`/libpod_parent/libpod-...`). */
export type CgroupScan = Map<bigint, string>;

const DEFAULT_MAX_ENTRIES = 100_000;
const DEFAULT_MIN_RESCAN_MS = 20;
/** Deeper than any container runtime nests (systemd's slices, kubepods' QoS and pod levels). */
const MAX_DEPTH = 16;

/**
 * cgroup id → path. The index is built by walking the hierarchy once and walked again when an
 * id is missing (a cgroup made since), at most every `minRescanMs`. Ids are never reused, so
 * what was found stays right, and an id a walk made after its event did not find is a cgroup
 * that is gone: it is remembered as such (up to `maxEntries` of them) and costs no more walks.
 * Memory is bounded by `maxEntries`.
 */
export class CgroupIndex {
  private paths: CgroupScan = new Map();
  private readonly gone = new Set<bigint>();
  private lastScan = Number.NEGATIVE_INFINITY;
  private readonly maxEntries: number;
  private readonly minRescanMs: number;
  private readonly now: () => number;
  /** Whether the last scan stopped at maxEntries. */
  truncated = false;
  /** Scans done, for tests and the benchmark. */
  scans = 0;

  constructor(private readonly options: CgroupIndexOptions) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.minRescanMs = options.minRescanMs ?? DEFAULT_MIN_RESCAN_MS;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * The path of cgroup `id` (of an event that has happened), walking the hierarchy again when it
   * is unknown: undefined when the cgroup is gone, `later` when the last walk is too recent to
   * walk again (ask again at nextRescanAt).
   */
  pathOf(id: bigint): string | undefined | 'later' {
    const known = this.paths.get(id);
    if (known !== undefined || this.gone.has(id)) return known;
    if (!this.canRescan()) return 'later';
    this.rescan();
    const found = this.paths.get(id);
    if (found === undefined) {
      if (this.gone.size >= this.maxEntries) this.gone.clear();
      this.gone.add(id);
    }
    return found;
  }

  /** When the next rescan may happen (ms on `now`'s clock): a caller that missed can wait until then. */
  get nextRescanAt(): number {
    return this.lastScan + this.minRescanMs;
  }

  canRescan(): boolean {
    return this.now() >= this.nextRescanAt;
  }

  rescan(): void {
    this.lastScan = this.now();
    this.scans++;
    const found: CgroupScan = new Map();
    this.truncated = false;
    const walk = (dir: string, path: string, depth: number): void => {
      if (found.size >= this.maxEntries) {
        this.truncated = true;
        return;
      }
      let ino: bigint;
      try {
        ino = statSync(dir, { bigint: true }).ino;
      } catch {
        return; // removed while walking
      }
      found.set(ino, path === '' ? '/' : path);
      if (depth >= MAX_DEPTH) return;
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) if (entry.isDirectory()) walk(join(dir, entry.name), `${path}/${entry.name}`, depth + 1);
    };
    walk(this.options.root, '', 0);
    this.paths = found;
  }
}
