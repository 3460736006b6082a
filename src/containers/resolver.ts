/**
 * Which container a process or a cgroup id belongs to: cgroup id → cgroup path (CgroupIndex),
 * or process id → its path (/proc/PID/cgroup); path → container id and runtime (patterns.ts);
 * id → name, image, pod and namespace, from the runtime's API where its socket answers
 * (docker, podman) and from its state files (state-files.ts) for what the API did not say.
 *
 * A container seen before is answered at once from a bounded cache; a new one is answered at
 * once when no socket is there to ask, and otherwise as pending: what its cgroup path tells
 * (id, runtime) now, and the rest when the runtime answers (at most ENGINE_TIMEOUT_MS; the caller
 * holds that event and those after it meanwhile). Host processes have no container: undefined.
 */
import { readFileSync } from 'node:fs';
import type { ContainerInfo } from '../format/container.js';
import { CgroupIndex, cgroup2Mounts, readProcessCgroupPath } from './cgroups.js';
import { inspectContainer, isSocket } from './engine-api.js';
import { containerOfCgroup, type CgroupContainer, type RuntimeName } from './patterns.js';
import { DEFAULT_STATE_FILES, readStateFiles, type ContainerFacts, type StateFileLocations } from './state-files.js';

/**
 * A container on its way: what is known now (its id and runtime while its runtime is asked;
 * nothing while its cgroup waits for the next walk of the hierarchy), and the whole answer to
 * come (the promise never rejects; undefined: a host process).
 */
export interface PendingContainer {
  readonly provisional: ContainerInfo | undefined;
  readonly settled: Promise<ContainerInfo | undefined>;
}

/** A container, known now (undefined: a host process), or on its way. */
export type ContainerLookup = ContainerInfo | undefined | PendingContainer;

export function isPending(lookup: ContainerLookup): lookup is PendingContainer {
  return lookup !== undefined && 'settled' in lookup;
}

/** Where a run looks containers up (ContainerResolver; tests hand in others). */
export interface ContainerSource {
  byCgroupId(id: bigint): ContainerLookup;
  byPid(pid: number): ContainerLookup;
}

export interface ContainerSources {
  /** The cgroup2 mount (default: found in /proc/self/mountinfo). */
  cgroupRoot?: string;
  procRoot?: string;
  /** API sockets by runtime; defaults: /run/docker.sock, /run/podman/podman.sock. */
  sockets?: Partial<Record<RuntimeName, string>>;
  stateFiles?: StateFileLocations;
  /** Containers kept in the cache. */
  maxContainers?: number;
  /** Milliseconds, for the retries of nameless containers (tests pin it). */
  now?: () => number;
}

export const DEFAULT_SOCKETS: Readonly<Partial<Record<RuntimeName, string>>> = {
  docker: '/run/docker.sock',
  podman: '/run/podman/podman.sock',
};

const DEFAULT_MAX_CONTAINERS = 4096;
/** How long a process's cgroup path is taken as read. */
const PID_PATH_MS = 1000;
const MAX_CACHED_PIDS = 65_536;
const MAX_CACHED_PATHS = 65_536;
/** How soon a container known without its name is asked about again, the first time; then twice as long each time. */
const NAMELESS_RETRY_MS = 10;
const MAX_NAMELESS_RETRY_MS = 10_000;
/** containers/storage roots kept: the defaults and those learned from bundles. */
const MAX_STORAGE_ROOTS = 16;

export class ContainerResolver implements ContainerSource {
  private readonly procRoot: string;
  private readonly cgroups: CgroupIndex | undefined;
  private readonly sockets: Partial<Record<RuntimeName, string>>;
  private stateFiles: StateFileLocations;
  /** Container id → what was found; oldest first, for eviction. */
  private readonly known = new Map<string, ContainerInfo>();
  private readonly pending = new Map<string, PendingContainer>();
  /** When a container known without its name may be asked about again. */
  private readonly retryAt = new Map<string, number>();
  private readonly retryDelay = new Map<string, number>();
  /** A process's cgroup path, read at most once per PID_PATH_MS. */
  private readonly pidPaths = new Map<number, { path: string | undefined; until: number }>();
  /** What each cgroup path names (null: a host cgroup). */
  private readonly pathContainers = new Map<string, CgroupContainer | null>();
  private readonly now: () => number;
  private readonly maxContainers: number;

  constructor(sources: ContainerSources = {}) {
    this.procRoot = sources.procRoot ?? '/proc';
    const root = sources.cgroupRoot ?? findCgroup2Root(this.procRoot);
    this.cgroups = root === undefined ? undefined : new CgroupIndex({ root });
    this.sockets = { ...DEFAULT_SOCKETS, ...sources.sockets };
    this.stateFiles = sources.stateFiles ?? DEFAULT_STATE_FILES;
    this.maxContainers = sources.maxContainers ?? DEFAULT_MAX_CONTAINERS;
    this.now = sources.now ?? (() => performance.now());
  }

  /** Whether cgroup ids can be resolved here (a cgroup2 hierarchy is mounted). */
  get resolvesCgroupIds(): boolean {
    return this.cgroups !== undefined;
  }

  /** The container of the task whose `bpf_get_current_cgroup_id()` is `id`. */
  byCgroupId(id: bigint): ContainerLookup {
    const path = this.cgroups?.pathOf(id);
    if (path === 'later') return { provisional: undefined, settled: this.afterNextWalk(id) };
    return path === undefined ? undefined : this.byPath(path);
  }

  /** Ids that missed while the last walk was too recent, answered after the next one. */
  private waiting: Promise<void> | undefined;

  private async afterNextWalk(id: bigint): Promise<ContainerInfo | undefined> {
    const index = this.cgroups!;
    this.waiting ??= new Promise<void>((resolve) => {
      setTimeout(resolve, Math.max(0, index.nextRescanAt - performance.now()));
    }).then(() => {
      this.waiting = undefined;
    });
    await this.waiting;
    const lookup = this.byCgroupId(id);
    return isPending(lookup) ? lookup.settled : lookup;
  }

  /**
   * The container of process `pid` (a host pid), while it runs. Its cgroup path is read once per
   * PID_PATH_MS: a busy process's events cost no read of /proc each. A pid reused within that
   * time would get its previous owner's container, which needs pid_max pids made in that time.
   */
  byPid(pid: number): ContainerLookup {
    const now = this.now();
    let known = this.pidPaths.get(pid);
    if (known === undefined || now >= known.until) {
      if (this.pidPaths.size >= MAX_CACHED_PIDS) this.pidPaths.clear();
      known = { path: readProcessCgroupPath(this.procRoot, pid), until: now + PID_PATH_MS };
      this.pidPaths.set(pid, known);
    }
    return known.path === undefined ? undefined : this.byPath(known.path);
  }

  byPath(path: string): ContainerLookup {
    let found = this.pathContainers.get(path);
    if (found === undefined) {
      if (this.pathContainers.size >= MAX_CACHED_PATHS) this.pathContainers.clear();
      found = containerOfCgroup(path) ?? null;
      this.pathContainers.set(path, found);
    }
    if (found === null) return undefined;
    const cached = this.known.get(found.id);
    // A container known without its name (its runtime had not written its files yet: runc's
    // own init runs in the container's cgroup before the container starts) is asked about again.
    if (cached !== undefined && (cached.name !== undefined || this.now() < (this.retryAt.get(found.id) ?? 0))) return cached;
    return this.pending.get(found.id) ?? this.resolve(found);
  }

  private resolve(found: CgroupContainer): ContainerLookup {
    const socket = this.sockets[found.runtime];
    if (socket === undefined || !isSocket(socket)) return this.remember(found, this.readStateFiles(found.id));
    const settled = inspectContainer(socket, found.id).then((answer) => {
      this.pending.delete(found.id);
      // What the API did not say (a socket of another runtime's, or a container it does not know), the files may.
      const facts = answer === undefined || answer.name === undefined ? { ...this.readStateFiles(found.id), ...answer } : answer;
      return this.remember(found, facts);
    });
    const pending: PendingContainer = { provisional: { id: found.id, runtime: found.runtime }, settled };
    this.pending.set(found.id, pending);
    return pending;
  }

  /** State files, and the containers/storage roots they show, kept for containers that exit before they are asked about. */
  private readStateFiles(id: string): ContainerFacts {
    return readStateFiles(id, this.stateFiles, (root) => {
      if (this.stateFiles.storageRoots.includes(root) || this.stateFiles.storageRoots.length >= MAX_STORAGE_ROOTS) return;
      this.stateFiles = { ...this.stateFiles, storageRoots: [...this.stateFiles.storageRoots, root] };
    });
  }

  private remember(found: CgroupContainer, facts: ContainerFacts): ContainerInfo {
    const info: ContainerInfo = {
      id: found.id,
      runtime: facts.runtime ?? found.runtime,
      ...(facts.name === undefined ? {} : { name: facts.name }),
      ...(facts.image === undefined ? {} : { image: facts.image }),
      ...(facts.pod === undefined ? {} : { pod: facts.pod }),
      ...(facts.namespace === undefined ? {} : { namespace: facts.namespace }),
    };
    if (!this.known.has(found.id) && this.known.size >= this.maxContainers) {
      const oldest = this.known.keys().next().value!;
      this.known.delete(oldest);
      this.retryAt.delete(oldest);
      this.retryDelay.delete(oldest);
    }
    this.known.set(found.id, info);
    if (info.name === undefined) {
      // 10 ms, then twice as long each time, up to 10 s: a starting container is soon named, one
      // that never is (a runtime whose files do not name it) costs little.
      const delay = Math.min(this.retryDelay.get(found.id) ?? NAMELESS_RETRY_MS, MAX_NAMELESS_RETRY_MS);
      this.retryDelay.set(found.id, delay * 2);
      this.retryAt.set(found.id, this.now() + delay);
    } else {
      this.retryAt.delete(found.id);
      this.retryDelay.delete(found.id);
    }
    return info;
  }
}

/** The cgroup2 mount point seen by this process, if any. */
export function findCgroup2Root(procRoot = '/proc'): string | undefined {
  try {
    return cgroup2Mounts(readFileSync(`${procRoot}/self/mountinfo`, 'utf8'))[0];
  } catch {
    return undefined;
  }
}
