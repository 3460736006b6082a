/**
 * Real podman for a test, with its own storage, run state and config under a temp dir: a local
 * image made from a rootfs tarball holding Debian's busybox-static (`podman import`, no
 * registry), containers started from it, and optionally its API socket
 * (`podman system service`). Everything it made (containers, images, the service, the temp dir)
 * is removed when the test ends.
 *
 * On hybrid-cgroup hosts crun refuses to run containers and raising RLIMIT_NOFILE/NPROC may be
 * refused, so containers run with runc, the cgroupfs manager and no default ulimits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { findExecutable } from '../../src/compiler/process.js';
import { skipUnlessCi } from './env.js';

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'sleep', 'true', 'echo', 'cat', 'ls', 'env'];

export interface Podman {
  /** The temp dir holding storage, run state, config and the socket. */
  dir: string;
  /** The image every container runs: `localhost/<name>:<tag>`. */
  image: string;
  /** The API socket, once `startService` ran. */
  socket: string | undefined;
  /** Runs podman with this instance's storage and config; throws on a non-zero exit. */
  run(args: readonly string[]): string;
  /** Starts a detached container running `command`; its full id. */
  startContainer(name: string, command: readonly string[]): string;
  /** The host pid of a running container's first process. */
  pidOf(name: string): number;
  /** Serves podman's API on a unix socket in `dir`. */
  startService(): Promise<string>;
  /** Environment and global flags, for commands a test runs itself (`podman ...`). */
  env: NodeJS.ProcessEnv;
  globalArgs: string[];
}

/** True when podman, runc and busybox-static are installed; otherwise skips (or fails in CI). */
export function havePodman(t: TestContext): boolean {
  const missing = [
    findExecutable(['podman']) ? undefined : 'podman',
    findExecutable(['runc']) ? undefined : 'runc',
    existsSync(BUSYBOX) ? undefined : 'busybox-static',
  ].filter((m) => m !== undefined);
  if (missing.length === 0) return true;
  skipUnlessCi(t, `needs ${missing.join(', ')} (make setup installs them)`);
  return false;
}

/** A podman of its own, with an image `localhost/<imageName>:test` built from busybox. Removed after `t`. */
export function startPodman(t: TestContext, imageName = `ecli-test-${process.pid}`): Podman {
  const dir = mkdtempSync(path.join(tmpdir(), 'ecli-podman-'));
  chmodSync(dir, 0o755);
  const conf = path.join(dir, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[containers]',
      'default_ulimits = []',
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `tmp_dir = "${path.join(dir, 'tmp')}"`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const globalArgs = ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'runroot'), '--storage-driver', 'vfs'];
  const run = (args: readonly string[]): string => {
    const done = spawnSync('podman', [...globalArgs, ...args], { env, encoding: 'utf8', timeout: 60_000 });
    if (done.status !== 0) throw new Error(`podman ${args.join(' ')} failed (${done.status ?? done.signal}): ${done.stderr}`);
    return done.stdout.trim();
  };
  const containers: string[] = [];
  let service: ChildProcess | undefined;
  t.after(async () => {
    for (const name of containers) spawnSync('podman', [...globalArgs, 'rm', '-f', '-t', '0', name], { env, stdio: 'ignore', timeout: 60_000 });
    spawnSync('podman', [...globalArgs, 'rmi', '-a', '-f'], { env, stdio: 'ignore', timeout: 60_000 });
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service!.once('exit', resolve));
      service.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const rootfs = path.join(dir, 'rootfs');
  mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, path.join(rootfs, 'bin', 'busybox'));
  chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  const tarball = path.join(dir, 'rootfs.tar');
  const tar = spawnSync('tar', ['-C', rootfs, '-cf', tarball, '.'], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  const image = `localhost/${imageName}:test`;
  run(['import', '--quiet', tarball, image]);

  const podman: Podman = {
    dir,
    image,
    socket: undefined,
    env,
    globalArgs,
    run,
    startContainer(name, command) {
      containers.push(name);
      return run(['run', '-d', '--name', name, '--network', 'none', image, ...command]);
    },
    pidOf(name) {
      return Number(run(['inspect', '--format', '{{.State.Pid}}', name]));
    },
    async startService() {
      const socket = path.join(dir, 'podman.sock');
      service = spawn('podman', [...globalArgs, 'system', 'service', '--time', '0', `unix://${socket}`], { env, stdio: 'ignore' });
      for (let waited = 0; waited < 15_000; waited += 100) {
        if (existsSync(socket)) {
          podman.socket = socket;
          return socket;
        }
        await sleep(100);
      }
      throw new Error('podman system service did not create its socket within 15 s');
    },
  };
  return podman;
}
