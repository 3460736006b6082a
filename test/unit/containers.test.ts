import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Btf } from '../../src/btf/btf.js';
import type { Columns } from '../../src/btf/columns.js';
import { checkExportStruct } from '../../src/btf/export-check.js';
import { CgroupIndex, cgroup2Mounts, processCgroupPath } from '../../src/containers/cgroups.js';
import { containerKeyOf, keyReader, noContainerReason } from '../../src/containers/event-key.js';
import { containerOfCgroup } from '../../src/containers/patterns.js';
import { ContainerResolver, isPending } from '../../src/containers/resolver.js';
import { annotationFacts, readStateFiles, type StateFileLocations } from '../../src/containers/state-files.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const ID = 'c0ffee'.padEnd(64, '0');
const ID2 = 'bead'.padEnd(64, '1');
const POD_UID = '0a1b2c3d-0000-4000-8000-123456789abc';

test('cgroup paths name their container by each runtime and cgroup driver', () => {
  const cases: Array<[string, ReturnType<typeof containerOfCgroup>]> = [
    [`/docker/${ID}`, { runtime: 'docker', id: ID }],
    [`/system.slice/docker-${ID}.scope`, { runtime: 'docker', id: ID }],
    [`/libpod_parent/libpod-${ID}`, { runtime: 'podman', id: ID }],
    [`/machine.slice/libpod-${ID}.scope`, { runtime: 'podman', id: ID }],
    [`/machine.slice/libpod-${ID}.scope/container`, { runtime: 'podman', id: ID }],
    [`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`, { runtime: 'podman', id: ID }],
    [`/kubepods/besteffort/pod${POD_UID}/${ID}`, { runtime: 'containerd', id: ID }],
    [
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope`,
      { runtime: 'containerd', id: ID },
    ],
    [`/kubepods.slice/kubepods-pod${POD_UID.replace(/-/g, '_')}.slice/crio-${ID}.scope`, { runtime: 'cri-o', id: ID }],
    [`/kubepods/pod${POD_UID}/crio-${ID}`, { runtime: 'cri-o', id: ID }],
    [`/default/${ID}`, { runtime: 'containerd', id: ID }],
    [`/system.slice/nerdctl-${ID}.scope`, { runtime: 'containerd', id: ID }],
    // A container inside a container: the deepest one.
    [`/docker/${ID}/docker/${ID2}`, { runtime: 'docker', id: ID2 }],
    // Paths relative to another cgroup namespace.
    [`/../../libpod_parent/libpod-${ID}`, { runtime: 'podman', id: ID }],
  ];
  for (const [path, expected] of cases) assert.deepEqual(containerOfCgroup(path), expected, path);
  for (const host of [
    '/',
    '/user.slice/user-0.slice/session-3.scope',
    '/system.slice/ssh.service',
    `/machine.slice/libpod-conmon-${ID}.scope`,
    `/system.slice/crio-conmon-${ID}.scope`,
    `/docker/${ID.slice(1)}`,
    `/docker/${ID.toUpperCase()}`,
  ]) {
    assert.equal(containerOfCgroup(host), undefined, host);
  }
});

test('the cgroup2 mount of a hybrid host and of a v2 host, from mountinfo', () => {
  const hybrid = [
    '30 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
    '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate',
    '32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd',
  ].join('\n');
  assert.deepEqual(cgroup2Mounts(hybrid), ['/sys/fs/cgroup/unified']);
  assert.deepEqual(cgroup2Mounts('29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n'), ['/sys/fs/cgroup']);
  // A container's own view (a mount of a sub-tree) does not see other cgroups; escaped spaces.
  assert.deepEqual(cgroup2Mounts('40 30 0:27 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n41 30 0:27 / /mnt/cg\\040v2 rw - cgroup2 cgroup2 rw'), [
    '/mnt/cg v2',
  ]);
});

test("a process's cgroup path: v2's 0:: line, else v1's name=systemd, else the first", () => {
  const hybrid = `9:name=systemd:/libpod_parent/libpod-${ID}\n4:memory:/libpod_parent/libpod-${ID}\n0::/libpod_parent/libpod-${ID}\n`;
  assert.equal(processCgroupPath(hybrid), `/libpod_parent/libpod-${ID}`);
  assert.equal(processCgroupPath(`4:memory:/a\n1:name=systemd:/system.slice/docker-${ID}.scope\n`), `/system.slice/docker-${ID}.scope`);
  assert.equal(processCgroupPath('4:memory:/a\n3:cpu:/b\n'), '/a');
  assert.equal(processCgroupPath('0::/\n'), '/');
  assert.equal(processCgroupPath(''), undefined);
});

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecli-containers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
}

test('the cgroup index finds ids (directory inodes) by walking once, and again for an id it does not know, at most every minRescanMs', (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'libpod_parent', `libpod-${ID}`), { recursive: true });
  let now = 0;
  const index = new CgroupIndex({ root, minRescanMs: 20, now: () => now });
  const idOf = (path: string): bigint => statSync(join(root, path), { bigint: true }).ino;
  assert.equal(index.pathOf(idOf(`libpod_parent/libpod-${ID}`)), `/libpod_parent/libpod-${ID}`);
  assert.equal(index.pathOf(idOf('.')), '/');
  assert.equal(index.scans, 1);
  mkdirSync(join(root, 'docker', ID2), { recursive: true });
  const later = idOf(`docker/${ID2}`);
  // Too soon after the last scan: the caller asks again at nextRescanAt.
  assert.equal(index.pathOf(later), 'later');
  assert.equal(index.nextRescanAt, 20);
  now = 25;
  assert.equal(index.pathOf(later), `/docker/${ID2}`);
  assert.equal(index.scans, 2);
  // A known id costs no scan; one a scan after its event did not find is gone, and costs no more.
  now = 100;
  index.pathOf(later);
  assert.equal(index.scans, 2);
  assert.equal(index.pathOf(12345n), undefined);
  now = 200;
  assert.equal(index.pathOf(12345n), undefined);
  assert.equal(index.scans, 3);
  const small = new CgroupIndex({ root, maxEntries: 2 });
  small.rescan();
  assert.equal(small.truncated, true);
});

/** The files podman (runc) leaves for a container, laid out under `root`. */
function podmanFiles(root: string, id: string, name: string, image: string): StateFileLocations {
  const bundle = join(root, 'storage', 'vfs-containers', id, 'userdata');
  writeJson(join(root, 'run', 'runc', id, 'state.json'), { id, config: { labels: ['io.container.manager=libpod', `bundle=${bundle}`] } });
  writeJson(join(bundle, 'config.json'), { annotations: { 'io.container.manager': 'libpod' } });
  writeJson(join(root, 'storage', 'vfs-containers', 'containers.json'), [
    { id: ID2, names: ['other'], metadata: JSON.stringify({ 'image-name': 'other:1', name: 'other' }) },
    { id, names: [name], metadata: JSON.stringify({ 'image-name': image, name }) },
  ]);
  return {
    runtimeRoots: [join(root, 'run', 'runc'), join(root, 'run', 'crun')],
    containerdBundles: [join(root, 'run', 'containerd')],
    dockerData: join(root, 'docker'),
    storageRoots: [],
  };
}

test('state files: podman through runc state, bundle and containers.json; crun; docker; containerd and cri-o annotations', (t) => {
  const root = tempDir(t);
  const where = podmanFiles(root, ID, 'web', 'localhost/web:1');
  assert.deepEqual(readStateFiles(ID, where), { runtime: 'podman', name: 'web', image: 'localhost/web:1' });

  // crun keeps a status file with the bundle.
  const crunId = 'a'.repeat(64);
  const crunBundle = join(root, 'crun-bundle');
  writeJson(join(root, 'run', 'crun', crunId, 'status'), { pid: 1, bundle: crunBundle });
  writeJson(join(crunBundle, 'config.json'), {
    annotations: {
      'io.kubernetes.cri-o.ContainerType': 'container',
      'io.kubernetes.container.name': 'api',
      'io.kubernetes.cri-o.ImageName': 'quay.io/shop/api:2',
      'io.kubernetes.pod.name': 'api-7d9',
      'io.kubernetes.pod.namespace': 'shop',
    },
  });
  assert.deepEqual(readStateFiles(crunId, where), { runtime: 'cri-o', name: 'api', image: 'quay.io/shop/api:2', pod: 'api-7d9', namespace: 'shop' });

  const dockerId = 'd'.repeat(64);
  writeJson(join(root, 'docker', 'containers', dockerId, 'config.v2.json'), { Name: '/db', Config: { Image: 'postgres:16', Labels: {} } });
  assert.deepEqual(readStateFiles(dockerId, where), { runtime: 'docker', name: 'db', image: 'postgres:16' });

  const criId = 'e'.repeat(64);
  writeJson(join(root, 'run', 'containerd', 'k8s.io', criId, 'config.json'), {
    annotations: {
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.container-name': 'nginx',
      'io.kubernetes.cri.image-name': 'docker.io/library/nginx:1.27',
      'io.kubernetes.cri.sandbox-name': 'web-0',
      'io.kubernetes.cri.sandbox-namespace': 'default',
    },
  });
  assert.deepEqual(readStateFiles(criId, where), {
    runtime: 'containerd',
    name: 'nginx',
    image: 'docker.io/library/nginx:1.27',
    pod: 'web-0',
    namespace: 'default',
  });
  // Nothing known, or files that are not what they should be: no facts, no error.
  assert.deepEqual(readStateFiles('f'.repeat(64), where), {});
  writeFileSync(join(root, 'storage', 'vfs-containers', 'containers.json'), '{not json');
  assert.deepEqual(readStateFiles(ID, where), { runtime: 'podman' });
  assert.deepEqual(annotationFacts({ 'io.kubernetes.cri.sandbox-name': 7 }), {});

  // A container that exited has no OCI state any more: its containers/storage entry names it,
  // in a graph root given, or learned from a bundle found before.
  podmanFiles(root, ID, 'web', 'localhost/web:1');
  const learned: string[] = [];
  readStateFiles(ID, where, (r) => learned.push(r));
  assert.deepEqual(learned, [join(root, 'storage')]);
  rmSync(join(root, 'run', 'runc', ID), { recursive: true });
  assert.deepEqual(readStateFiles(ID, where), {});
  assert.deepEqual(readStateFiles(ID, { ...where, storageRoots: [join(root, 'storage')] }), { runtime: 'podman', name: 'web', image: 'localhost/web:1' });
});

test('the resolver: pid → /proc/PID/cgroup → container; cgroup id → path → container; host processes have none; cached', async (t) => {
  const root = tempDir(t);
  const where = podmanFiles(root, ID, 'web', 'localhost/web:1');
  const proc = join(root, 'proc');
  writeJson(join(proc, 'self', 'placeholder'), {});
  mkdirSync(join(proc, '100'), { recursive: true });
  writeFileSync(join(proc, '100', 'cgroup'), `0::/libpod_parent/libpod-${ID}\n`);
  mkdirSync(join(proc, '1'), { recursive: true });
  writeFileSync(join(proc, '1', 'cgroup'), '0::/init.scope\n');
  const cgroupRoot = join(root, 'cgroup');
  mkdirSync(join(cgroupRoot, 'libpod_parent', `libpod-${ID}`, 'container'), { recursive: true });
  const resolver = new ContainerResolver({ cgroupRoot, procRoot: proc, stateFiles: where, sockets: { podman: join(root, 'no-such.sock') } });
  const web = { id: ID, runtime: 'podman', name: 'web', image: 'localhost/web:1' };
  assert.deepEqual(resolver.byPid(100), web, 'no socket: known at once from the state files');
  assert.equal(resolver.byPid(1), undefined);
  assert.equal(resolver.byPid(99999), undefined);
  const leaf = statSync(join(cgroupRoot, 'libpod_parent', `libpod-${ID}`, 'container'), { bigint: true }).ino;
  assert.equal(resolver.byCgroupId(leaf), resolver.byPid(100), 'the same cached object');
  assert.equal(resolver.byCgroupId(statSync(cgroupRoot, { bigint: true }).ino), undefined);
  // An id the last walk (just now) did not see is answered after the next walk: a gone cgroup.
  const gone = resolver.byCgroupId(1n);
  assert.ok(isPending(gone));
  assert.equal(await gone.settled, undefined);
  assert.equal(resolver.resolvesCgroupIds, true);
});

test('the resolver keeps at most maxContainers, dropping the oldest', async (t) => {
  const root = tempDir(t);
  const where = podmanFiles(root, ID, 'web', 'localhost/web:1');
  const resolver = new ContainerResolver({ cgroupRoot: root, procRoot: root, stateFiles: where, maxContainers: 1 });
  const first = resolver.byPath(`/libpod_parent/libpod-${ID}`);
  assert.equal(resolver.byPath(`/libpod_parent/libpod-${ID}`), first, 'cached');
  resolver.byPath(`/libpod_parent/libpod-${ID2}`);
  assert.notEqual(resolver.byPath(`/libpod_parent/libpod-${ID}`), first, 'looked up again');
});

test("an event's container key: a marked member, else cgroup_id/cgroup (8 bytes), else pid/tgid", () => {
  const b = new BtfBuilder();
  const u64 = b.int('unsigned long long', 8);
  const int = b.int('int', 4, { signed: true });
  const s = b.struct('event', [
    { name: 'pid', type: int },
    { name: 'tgid', type: int },
    { name: 'cgroup', type: u64 },
    { name: 'other', type: u64 },
    { name: 'cgroup_id', type: int },
  ]);
  const btf = Btf.parse(b.build());
  const columns = (marks: Record<string, 'cgroup_id' | 'pid'> = {}, only?: string[]): Columns => {
    const all = checkExportStruct(btf, {
      name: 'event',
      type_id: s,
      size: btf.sizeOf(s),
      members: ['pid', 'tgid', 'cgroup', 'other', 'cgroup_id'].map((name) => ({ name, type: '', ...(marks[name] ? { container: marks[name] } : {}) })),
    });
    return only ? { ...all, members: all.members.filter((c) => only.includes(c.name)) } : all;
  };
  const key = (c: Columns) => {
    const found = containerKeyOf(btf, c);
    return found && [found.kind, found.column.name];
  };
  assert.deepEqual(key(columns()), ['cgroup_id', 'cgroup'], 'a 4-byte cgroup_id is not a cgroup id');
  assert.deepEqual(key(columns({ other: 'cgroup_id' })), ['cgroup_id', 'other']);
  assert.deepEqual(key(columns({ tgid: 'pid' })), ['pid', 'tgid']);
  assert.deepEqual(key(columns({}, ['pid', 'tgid', 'other'])), ['pid', 'pid']);
  assert.deepEqual(key(columns({}, ['tgid', 'other'])), ['pid', 'tgid']);
  assert.equal(containerKeyOf(btf, columns({}, ['other', 'cgroup_id'])), undefined);
  assert.match(noContainerReason(btf, columns({}, ['other'])) ?? '', /has no cgroup id \(cgroup_id\) or process id \(pid, tgid\) member/);
  assert.equal(noContainerReason(btf, columns()), undefined);
  const data = Buffer.alloc(btf.sizeOf(s));
  data.writeInt32LE(4242, 0);
  data.writeBigUInt64LE(2n ** 40n + 7n, 8);
  assert.equal(keyReader(containerKeyOf(btf, columns())!)(data, 0), 2n ** 40n + 7n);
  assert.equal(keyReader(containerKeyOf(btf, columns({}, ['pid']))!)(data, 0), 4242);
});

test('a container known without its name is asked about again, after 10 ms then twice as long each time, until its files name it', (t) => {
  const root = tempDir(t);
  const where: StateFileLocations = { runtimeRoots: [join(root, 'run', 'runc')], containerdBundles: [], dockerData: join(root, 'docker'), storageRoots: [] };
  let now = 0;
  const resolver = new ContainerResolver({ cgroupRoot: root, procRoot: root, stateFiles: where, now: () => now });
  const path = `/libpod_parent/libpod-${ID}`;
  // runc's init, in the container's cgroup before podman's files are there: id and runtime only.
  assert.deepEqual(resolver.byPath(path), { id: ID, runtime: 'podman' });
  now = 5;
  assert.deepEqual(resolver.byPath(path), { id: ID, runtime: 'podman' }, 'not asked again before 10 ms');
  now = 10;
  assert.deepEqual(resolver.byPath(path), { id: ID, runtime: 'podman' }, 'asked again: still nameless, next in 20 ms');
  podmanFiles(root, ID, 'web', 'localhost/web:1');
  now = 25;
  assert.deepEqual(resolver.byPath(path), { id: ID, runtime: 'podman' });
  now = 30;
  assert.deepEqual(resolver.byPath(path), { id: ID, runtime: 'podman', name: 'web', image: 'localhost/web:1' });
});

test("a process's cgroup path is read at most once a second: a busy process's events read /proc once", (t) => {
  const root = tempDir(t);
  const where = podmanFiles(root, ID, 'web', 'localhost/web:1');
  const proc = join(root, 'proc');
  mkdirSync(join(proc, '100'), { recursive: true });
  writeFileSync(join(proc, '100', 'cgroup'), '0::/user.slice/session-1.scope\n');
  let now = 0;
  const resolver = new ContainerResolver({ cgroupRoot: root, procRoot: proc, stateFiles: where, now: () => now });
  assert.equal(resolver.byPid(100), undefined);
  // The process joined a container's cgroup (as runc's init does): seen once the path is read again.
  writeFileSync(join(proc, '100', 'cgroup'), `0::/libpod_parent/libpod-${ID}\n`);
  now = 999;
  assert.equal(resolver.byPid(100), undefined);
  now = 1000;
  assert.deepEqual(resolver.byPid(100), { id: ID, runtime: 'podman', name: 'web', image: 'localhost/web:1' });
});
