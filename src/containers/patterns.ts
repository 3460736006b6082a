/**
 * Container ids from cgroup paths, by the names each runtime gives its cgroups. Pure.
 *
 * | runtime | cgroupfs driver | systemd driver |
 * |---|---|---|
 * | docker | `/docker/<id>` | `/system.slice/docker-<id>.scope` |
 * | podman | `/libpod_parent/libpod-<id>` | `/machine.slice/libpod-<id>.scope` (rootless: under `user@UID.service`) |
 * | containerd (Kubernetes CRI) | `/kubepods/<qos>/pod<uid>/<id>` | `/kubepods.slice/.../kubepods-<qos>-pod<uid>.slice/cri-containerd-<id>.scope` |
 * | cri-o | `/kubepods/<qos>/pod<uid>/crio-<id>` | `.../crio-<id>.scope` |
 * | containerd (ctr, nerdctl) | `/<namespace>/<id>` | `/system.slice/nerdctl-<id>.scope` |
 *
 * A container may make cgroups of its own below its cgroup (podman's `.../container`, systemd
 * inside a container), so the path is read from the leaf up and the deepest container wins.
 * The runtimes' monitors (`libpod-conmon-<id>`, `crio-conmon-<id>`) are not containers.
 */

export type RuntimeName = 'docker' | 'podman' | 'containerd' | 'cri-o';

export interface CgroupContainer {
  runtime: RuntimeName;
  /** The full container id, 64 lowercase hex digits. */
  id: string;
}

const ID = '([0-9a-f]{64})';
const NAMED: ReadonlyArray<[RegExp, RuntimeName]> = [
  [new RegExp(`^docker-${ID}\\.scope$`), 'docker'],
  [new RegExp(`^libpod-${ID}(?:\\.scope)?$`), 'podman'],
  [new RegExp(`^cri-containerd-${ID}\\.scope$`), 'containerd'],
  [new RegExp(`^nerdctl-${ID}\\.scope$`), 'containerd'],
  [new RegExp(`^crio-${ID}(?:\\.scope)?$`), 'cri-o'],
];
const BARE_ID = new RegExp(`^${ID}$`);

/** The container a cgroup path belongs to, or undefined for a host cgroup. */
export function containerOfCgroup(path: string): CgroupContainer | undefined {
  const parts = path.split('/').filter((p) => p !== '' && p !== '..' && p !== '.');
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i]!;
    const found = namedContainer(part) ?? bareContainer(part, parts[i - 1]);
    if (found !== undefined) return found;
  }
  return undefined;
}

function namedContainer(part: string): CgroupContainer | undefined {
  for (const [pattern, runtime] of NAMED) {
    const match = pattern.exec(part);
    if (match) return { runtime, id: match[1]! };
  }
  return undefined;
}

/** A bare id: docker's cgroupfs driver (`/docker/<id>`), else containerd (Kubernetes pods, or a namespace). */
function bareContainer(part: string, parent: string | undefined): CgroupContainer | undefined {
  const match = BARE_ID.exec(part);
  if (!match) return undefined;
  return { runtime: parent === 'docker' ? 'docker' : 'containerd', id: match[1]! };
}
