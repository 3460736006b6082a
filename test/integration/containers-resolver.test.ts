/**
 * The container resolver against a real podman container: from its process id and from its
 * cgroup id (the inode of its cgroup2 directory, which is what bpf_get_current_cgroup_id()
 * returns), through podman's state files, and through its API socket alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readProcessCgroupPath } from '../../src/containers/cgroups.js';
import { ContainerResolver, findCgroup2Root, isPending } from '../../src/containers/resolver.js';
import { haveRoot } from '../helpers/env.js';
import { havePodman, startPodman } from '../helpers/podman.js';

test('a podman container is found from its pid and its cgroup id, by state files and by the API socket; host processes have none', async (t) => {
  if (!haveRoot(t) || !havePodman(t)) return;
  const podman = startPodman(t);
  const name = `ecli-resolve-${process.pid}`;
  const id = podman.startContainer(name, ['sleep', '120']);
  const pid = podman.pidOf(name);
  const expected = { id, runtime: 'podman', name, image: podman.image };

  const cgroupRoot = findCgroup2Root();
  assert.ok(cgroupRoot, 'a cgroup2 hierarchy is mounted');
  const cgroupPath = readProcessCgroupPath('/proc', pid);
  assert.ok(cgroupPath !== undefined && cgroupPath.includes(id), `${cgroupPath} names the container`);
  const cgroupId = statSync(path.join(cgroupRoot, cgroupPath), { bigint: true }).ino;

  // No socket: podman's state files (runc's state → bundle → containers.json).
  const files = new ContainerResolver({ sockets: { podman: path.join(podman.dir, 'no-such.sock') } });
  assert.deepEqual(files.byPid(pid), expected);
  assert.deepEqual(files.byCgroupId(cgroupId), expected);
  assert.equal(files.byPid(process.pid), undefined);
  assert.equal(files.byCgroupId(statSync(cgroupRoot, { bigint: true }).ino), undefined);

  // The API socket alone: state files are looked for where there are none.
  const socket = await podman.startService();
  const empty = mkdtempSync(path.join(tmpdir(), 'ecli-no-state-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const api = new ContainerResolver({
    sockets: { podman: socket },
    stateFiles: { runtimeRoots: [empty], containerdBundles: [empty], dockerData: empty, storageRoots: [empty] },
  });
  const asked = api.byCgroupId(cgroupId);
  assert.ok(isPending(asked), 'a new container is asked for');
  assert.deepEqual(asked.provisional, { id, runtime: 'podman' }, 'its cgroup path tells its id and runtime at once');
  assert.deepEqual(await asked.settled, expected);
  assert.deepEqual(api.byPid(pid), expected, 'then known at once');
});
