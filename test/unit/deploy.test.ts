/**
 * deploy/: what the DaemonSet must hold for ecli to work on a node (there is no cluster here to
 * apply it to): the host's pid namespace, privileges, the read-only mounts enrichment reads, the
 * Prometheus scrape annotations on the port ecli serves, and an image and arguments that
 * `make image` makes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { repoRoot } from '../helpers/env.js';

type Json = Record<string, unknown>;

function documents(file: string): Json[] {
  return loadAll(readFileSync(path.join(repoRoot, 'deploy', file), 'utf8')) as Json[];
}

const at = (value: unknown, ...keys: (string | number)[]): unknown =>
  keys.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], value);

test('the DaemonSet runs ecli privileged in the host pid namespace, with BTF, cgroups, tracefs and /run mounted (read-only but tracefs)', () => {
  const [daemonSet] = documents('daemonset.yaml');
  assert.equal(daemonSet?.kind, 'DaemonSet');
  const pod = at(daemonSet, 'spec', 'template', 'spec') as Json;
  assert.equal(pod.hostPID, true);
  assert.equal(pod.automountServiceAccountToken, false);
  const [container] = pod.containers as Json[];
  assert.equal(at(container, 'securityContext', 'privileged'), true);
  const volumes = new Map((pod.volumes as Json[]).map((v) => [v.name, v]));
  const mounts = new Map((container!.volumeMounts as Json[]).map((m) => [m.mountPath, m]));
  for (const [mountPath, readOnly] of [
    ['/sys/kernel/btf', true],
    ['/sys/fs/cgroup', true],
    ['/run', true],
    ['/sys/kernel/tracing', undefined],
  ] as const) {
    const mount = mounts.get(mountPath);
    assert.ok(mount, `${mountPath} is mounted`);
    assert.equal(mount.readOnly, readOnly, mountPath);
    assert.equal(at(volumes.get(mount.name), 'hostPath', 'path'), mountPath, `${mountPath} is the host's`);
  }
});

test('Prometheus scrapes the port ecli serves its metrics on; the image and its package are the ones make image builds', () => {
  const [daemonSet] = documents('daemonset.yaml');
  const template = at(daemonSet, 'spec', 'template') as Json;
  const annotations = at(template, 'metadata', 'annotations') as Record<string, string>;
  const [container] = at(template, 'spec', 'containers') as Json[];
  const args = container!.args as string[];
  assert.equal(annotations['prometheus.io/scrape'], 'true');
  assert.equal(annotations['prometheus.io/path'], '/metrics');
  const address = args[args.indexOf('--metrics') + 1]!;
  assert.equal(address.split(':').pop(), annotations['prometheus.io/port']);
  assert.equal(at(container, 'ports', 0, 'containerPort'), Number(annotations['prometheus.io/port']));
  // scripts/image.sh compiles these examples into /opt/ecli/examples.
  const image = readFileSync(path.join(repoRoot, 'scripts/image.sh'), 'utf8');
  const packagePath = args[args.length - 1]!;
  const example = /^\/opt\/ecli\/examples\/([^/]+)\/package\.json$/.exec(packagePath)?.[1];
  assert.ok(example && new RegExp(`examples=\\([^)]*\\b${example}\\b`).test(image), `${packagePath} is in the image`);
  const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(container!.image, `localhost/ecli-ts:${version}`);
  const [kustomization] = documents('kustomization.yaml');
  assert.deepEqual(kustomization?.resources, ['namespace.yaml', 'daemonset.yaml']);
  assert.equal(at(kustomization, 'images', 0, 'newTag'), version);
});
