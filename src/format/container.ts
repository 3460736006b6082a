/**
 * The container an event came from, as output shows it: JSON lines gain a `container` member
 * (absent for host processes), plain text a CONTAINER column with `--fields +container`. Who
 * finds it is src/containers; this is only its shape and text.
 */

/** What ecli knows about a container. Members it could not learn are absent. */
export interface ContainerInfo {
  /** The runtime's full container id (64 hex digits for docker, podman, containerd and cri-o). */
  readonly id: string;
  /** docker, podman, containerd or cri-o. */
  readonly runtime: string;
  readonly name?: string;
  /** The image as the container was created from it (`docker.io/library/nginx:1.27`). */
  readonly image?: string;
  /** Kubernetes pod and namespace, where a CRI runtime labels them. */
  readonly pod?: string;
  readonly namespace?: string;
}

/** The JSON key of the container, and the name `--fields` and `--filter` know it by. */
export const CONTAINER_KEY = 'container';

/** The fields of a container that `--filter` compares, by their names after `container.`. */
export const CONTAINER_FIELDS = ['name', 'id', 'image', 'runtime', 'pod', 'namespace'] as const;
export type ContainerField = (typeof CONTAINER_FIELDS)[number];

/** The value `--filter` compares for a field: the empty string for host processes and for what is unknown. */
export function containerField(container: ContainerInfo | undefined, field: ContainerField): string {
  return container?.[field] ?? '';
}

/** The JSON object of a container, keys sorted like every other JSON object ecli writes. */
export function containerJson(container: ContainerInfo): string {
  const members: string[] = [];
  for (const key of ['id', 'image', 'name', 'namespace', 'pod', 'runtime'] as const) {
    const value = container[key];
    if (value !== undefined) members.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }
  return `{${members.join(',')}}`;
}

/** Short ids as docker and podman print them. */
export const SHORT_ID_LENGTH = 12;

/** Plain text's CONTAINER cell: the name, else the short id; empty for host processes. */
export function containerCell(container: ContainerInfo | undefined): string {
  if (container === undefined) return '';
  return container.name ?? container.id.slice(0, SHORT_ID_LENGTH);
}
