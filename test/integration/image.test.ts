/**
 * `make image` (scripts/image.sh) into a podman storage of the test's own, then the image run as
 * the DaemonSet runs it (privileged, the host's pids, cgroups, tracefs, BTF and /run mounted
 * read-only): it sees an exec of the host, and one of another container, enriched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { jsonOf } from '../helpers/ecli-checks.js';
import { haveRoot, repoRoot } from '../helpers/env.js';
import { haveToolchain, startHelper } from '../helpers/examples.js';
import { havePodman, startPodman } from '../helpers/podman.js';

const ATTACHED = /programs? attached/;

test('the image built by make image runs under podman and sees an exec of the host and one of another container, enriched', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !havePodman(t)) return;
  const podman = startPodman(t);
  const image = `localhost/ecli-image-test-${process.pid}:test`;
  const started = Date.now();
  const built = spawnSync('bash', ['scripts/image.sh'], {
    cwd: repoRoot,
    env: { ...podman.env, IMAGE: image, PODMAN: ['podman', ...podman.globalArgs].join(' ') },
    encoding: 'utf8',
  });
  assert.equal(built.status, 0, built.stderr);
  t.diagnostic(`make image took ${((Date.now() - started) / 1000).toFixed(1)} s: ${built.stderr.trim().split('\n').pop()}`);
  const labels = JSON.parse(podman.run(['image', 'inspect', '--format', '{{json .Labels}}', image])) as Record<string, string>;
  assert.match(labels['io.ecli-ts.rootfs.sha256'] ?? '', /^[0-9a-f]{64}$/);

  const name = `ecli-image-ecli-${process.pid}`;
  const ecli = spawn(
    'podman',
    [
      ...podman.globalArgs,
      'run',
      '--rm',
      '--name',
      name,
      '--privileged',
      '--pid',
      'host',
      '--cgroupns',
      'host',
      '--network',
      'none',
      ...['/sys/kernel/tracing:/sys/kernel/tracing', '/sys/kernel/btf:/sys/kernel/btf:ro', '/sys/fs/cgroup:/sys/fs/cgroup:ro', '/run:/run:ro'].flatMap((v) => [
        '-v',
        v,
      ]),
      // The test's podman keeps its containers' storage here (the bundles runc's state names).
      '-v',
      `${podman.dir}:${podman.dir}:ro`,
      image,
      'run',
      '-j',
      '--duration',
      '20s',
      '/opt/ecli/examples/execsnoop-full/package.json',
    ],
    { env: podman.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => {
    spawnSync('podman', [...podman.globalArgs, 'rm', '-f', '-t', '0', name], { env: podman.env, stdio: 'ignore' });
  });
  const lines: string[] = [];
  let stderr = '';
  ecli.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  ecli.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => ecli.on('exit', resolve));
  for (let waited = 0; !ATTACHED.test(stderr); waited += 100) {
    assert.ok(waited < 30_000 && ecli.exitCode === null, `the image's ecli did not attach: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const dir = mkdtempSync('/tmp/');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const program = path.join(dir, 'host-exec');
  copyFileSync('/bin/true', program);
  const host = startHelper(t, program, [], { stdio: 'ignore' });
  assert.equal(await host.exited, 0);
  const other = `ecli-image-other-${process.pid}`;
  const id = podman.startContainer(other, ['sleep', '2']);

  const rows = () => lines.map(jsonOf).filter((r): r is Record<string, unknown> => r !== undefined);
  for (let waited = 0; ; waited += 100) {
    const found = rows();
    if (found.some((r) => r.pid === host.pid) && found.some((r) => (r.container as { name?: string } | undefined)?.name === other)) break;
    const seen = JSON.stringify({
      host: found.filter((r) => r.pid === host.pid),
      containers: found.filter((r) => r.container !== undefined).map((r) => [r.comm, r.container]),
    });
    assert.ok(waited < 15_000, `no row of both execs yet: ${seen}\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const onHost = rows().find((r) => r.pid === host.pid)!;
  assert.equal(onHost.filename, program);
  assert.equal('container' in onHost, false);
  const inContainer = rows().find((r) => (r.container as { name?: string } | undefined)?.name === other)!;
  assert.deepEqual(inContainer.container, { id, image: podman.image, name: other, runtime: 'podman' });
  ecli.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
});
