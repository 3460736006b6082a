/**
 * What the runtimes' own files say about a container, read without asking any daemon (podman
 * has none unless `podman system service` runs):
 * - the OCI runtime's state (runc: `<root>/<id>/state.json`, whose labels name the bundle; crun:
 *   `<root>/<id>/status`, with a `bundle` member) leads to the bundle's `config.json`, whose
 *   annotations name Kubernetes containers (containerd's CRI plugin: `io.kubernetes.cri.*`;
 *   cri-o: `io.kubernetes.container.name`, `io.kubernetes.pod.*`, `io.kubernetes.cri-o.ImageName`);
 * - containers/storage, under podman and cri-o: the bundle is `<graph root>/<driver>-containers/<id>/userdata`,
 *   and `<driver>-containers/containers.json` holds each container's names and image name;
 * - docker: `<data root>/containers/<id>/config.v2.json` (`Name`, `Config.Image`, `Config.Labels`).
 * Each file is read with a size bound; one that is missing or not as expected gives nothing.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { statOrUndefined, subdirectoriesOf } from '../files/stat.js';
import type { RuntimeName } from './patterns.js';

export interface ContainerFacts {
  runtime?: RuntimeName;
  name?: string;
  image?: string;
  pod?: string;
  namespace?: string;
}

export interface StateFileLocations {
  /** OCI runtime state roots: runc's and crun's, docker's and containerd's runc roots (`*` matches one folder level). */
  runtimeRoots: readonly string[];
  /** containerd's v2 shim bundles: `<dir>/<namespace>/<id>/config.json`. */
  containerdBundles: readonly string[];
  /** docker's data root. */
  dockerData: string;
  /**
   * containers/storage graph roots (podman's, cri-o's), whose `<driver>-containers/containers.json`
   * names containers whose OCI state is gone (a container that exited keeps its entry there until
   * it is removed).
   */
  storageRoots: readonly string[];
}

export const DEFAULT_STATE_FILES: StateFileLocations = {
  runtimeRoots: ['/run/runc', '/run/crun', '/run/docker/runtime-runc/moby', '/run/containerd/runc/*'],
  containerdBundles: ['/run/containerd/io.containerd.runtime.v2.task'],
  dockerData: '/var/lib/docker',
  storageRoots: ['/var/lib/containers/storage', '/run/containers/storage'],
};

/** Larger than any state file (containers.json of thousands of containers is a few MB). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

function readJson(path: string): unknown {
  try {
    const size = statSync(path).size;
    if (size > MAX_FILE_BYTES) return undefined;
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * Everything the files tell about container `id`; empty when they tell nothing. `learnRoot`
 * hears the containers/storage graph root of a bundle found through the OCI state, so the
 * caller can look there for the containers that exit before it asks.
 */
export function readStateFiles(id: string, where: StateFileLocations = DEFAULT_STATE_FILES, learnRoot?: (root: string) => void): ContainerFacts {
  const facts: ContainerFacts = { ...dockerConfig(id, where.dockerData) };
  const bundle = bundleOf(id, where);
  if (bundle !== undefined) {
    const annotations = record(record(readJson(join(bundle, 'config.json')))?.annotations);
    if (annotations) fill(facts, annotationFacts(annotations));
    const storage = storageOfBundle(id, bundle);
    if (storage !== undefined) {
      fill(facts, storageFacts(id, storage));
      learnRoot?.(dirname(storage));
    }
  }
  if (facts.name === undefined) {
    for (const root of where.storageRoots) {
      for (const dir of (subdirectoriesOf(root) ?? []).filter((d) => d.endsWith('-containers'))) {
        const found = storageFacts(id, join(root, dir));
        if (found.name === undefined) continue;
        fill(facts, { runtime: 'podman', ...found });
        return facts;
      }
    }
  }
  return facts;
}

/** containers/storage (podman, cri-o): a bundle `<graph root>/<driver>-containers/<id>/userdata` is in `<graph root>/<driver>-containers`. */
function storageOfBundle(id: string, bundle: string): string | undefined {
  return basename(bundle) === 'userdata' && basename(dirname(bundle)) === id ? dirname(dirname(bundle)) : undefined;
}

/** Sets the facts `more` has that `facts` lacks. */
function fill(facts: ContainerFacts, more: { [K in keyof ContainerFacts]?: ContainerFacts[K] | undefined }): void {
  for (const [key, value] of Object.entries(more) as Array<[keyof ContainerFacts, string | undefined]>) {
    if (facts[key] === undefined && value !== undefined) (facts as Record<string, string>)[key] = value;
  }
}

function bundleOf(id: string, where: StateFileLocations): string | undefined {
  for (const root of expand(where.runtimeRoots)) {
    const runc = record(readJson(join(root, id, 'state.json')));
    if (runc) {
      const labels = record(runc.config)?.labels;
      const label = Array.isArray(labels) ? labels.find((l): l is string => typeof l === 'string' && l.startsWith('bundle=')) : undefined;
      if (label !== undefined) return label.slice('bundle='.length);
    }
    const crun = text(record(readJson(join(root, id, 'status')))?.bundle);
    if (crun !== undefined) return crun;
  }
  for (const dir of where.containerdBundles) {
    for (const namespace of subdirectoriesOf(dir) ?? []) {
      const bundle = join(dir, namespace, id);
      if (statOrUndefined(join(bundle, 'config.json'))) return bundle;
    }
  }
  return undefined;
}

/** Roots with a last `*` component expanded to their subfolders. */
function expand(roots: readonly string[]): string[] {
  return roots.flatMap((root) => (basename(root) === '*' ? (subdirectoriesOf(dirname(root)) ?? []).map((d) => join(dirname(root), d)) : [root]));
}

/** The Kubernetes names in a bundle's annotations (containerd's CRI plugin, then cri-o). */
export function annotationFacts(annotations: Record<string, unknown>): ContainerFacts {
  const get = (key: string): string | undefined => text(annotations[key]);
  const facts: ContainerFacts = {};
  const cri = {
    name: get('io.kubernetes.cri.container-name'),
    image: get('io.kubernetes.cri.image-name'),
    pod: get('io.kubernetes.cri.sandbox-name'),
    namespace: get('io.kubernetes.cri.sandbox-namespace'),
  };
  if (cri.pod !== undefined || cri.name !== undefined) {
    facts.runtime = 'containerd';
    fill(facts, cri);
  }
  const crio = {
    name: get('io.kubernetes.container.name'),
    image: get('io.kubernetes.cri-o.ImageName'),
    pod: get('io.kubernetes.pod.name'),
    namespace: get('io.kubernetes.pod.namespace'),
  };
  if (get('io.kubernetes.cri-o.ContainerType') !== undefined) facts.runtime = 'cri-o';
  fill(facts, crio);
  if (get('io.container.manager') === 'libpod') facts.runtime ??= 'podman';
  return facts;
}

/** The name and image of container `id` in a containers/storage `<driver>-containers` folder's containers.json. */
function storageFacts(id: string, storage: string): ContainerFacts {
  const containers = readJson(join(storage, 'containers.json'));
  if (!Array.isArray(containers)) return {};
  const entry = containers.map(record).find((c) => c?.id === id);
  if (entry === undefined) return {};
  const names = Array.isArray(entry.names) ? entry.names.filter((n): n is string => typeof n === 'string') : [];
  let metadata: Record<string, unknown> | undefined;
  try {
    metadata = record(typeof entry.metadata === 'string' ? JSON.parse(entry.metadata) : undefined);
  } catch {
    metadata = undefined;
  }
  const facts: ContainerFacts = {};
  const name = names[0] ?? text(metadata?.name);
  if (name !== undefined) facts.name = name;
  const image = text(metadata?.['image-name']);
  if (image !== undefined) facts.image = image;
  return facts;
}

function dockerConfig(id: string, dataRoot: string): ContainerFacts {
  const config = record(readJson(join(dataRoot, 'containers', id, 'config.v2.json')));
  if (config === undefined) return {};
  return { runtime: 'docker', ...engineFacts(config) };
}

/** Name, image and Kubernetes labels of a docker-style container description (config.v2.json, or `GET /containers/<id>/json`). */
export function engineFacts(config: Record<string, unknown>): ContainerFacts {
  const facts: ContainerFacts = {};
  const name = text(config.Name)?.replace(/^\//, '');
  if (name) facts.name = name;
  const inner = record(config.Config);
  const image = text(inner?.Image);
  if (image !== undefined) facts.image = image;
  const labels = record(inner?.Labels);
  if (labels) {
    // Kubernetes on docker (dockershim, cri-dockerd) names its containers k8s_<container>_<pod>_...
    const pod = text(labels['io.kubernetes.pod.name']);
    const namespace = text(labels['io.kubernetes.pod.namespace']);
    const container = text(labels['io.kubernetes.container.name']);
    if (pod !== undefined) facts.pod = pod;
    if (namespace !== undefined) facts.namespace = namespace;
    if (container !== undefined) facts.name = container;
  }
  return facts;
}
