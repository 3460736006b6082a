/**
 * examples/execsnoop-full, compiled by ./ecc and run by ./ecli: the JSON events of execs with
 * arguments, failures and execveat; the in-kernel filters; a storm of execs seen completely (and
 * at least as completely as libbpf-tools' execsnoop); drops counted; the plain-text argv column.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { haveRoot, repoRoot, skipUnlessCi } from '../helpers/env.js';
import { eccCompile, startEcli, type RunningEcli } from '../helpers/ecli-process.js';
import { jsonOf } from '../helpers/ecli-checks.js';
import { readProcessCgroupPath } from '../../src/containers/cgroups.js';
import { findCgroup2Root } from '../../src/containers/resolver.js';

const example = path.join(repoRoot, 'examples/execsnoop-full');
const LIBBPF_EXECSNOOP = '/usr/sbin/execsnoop';
const NOBODY = 65534;
const MAX_ARGS = 20;
const ARG_CHARS = 127;
const STORM_EXECS = 2000;
/** More events than the 16 MiB ring buffer holds (~5,800), sent while ecli is stopped. */
const FLOOD_EXECS = 7000;

/**
 * Runs a program through execveat(AT_FDCWD, ...), or through execve() from a thread other than the
 * main one, or forks children that exec one, 32 at a time.
 */
const HELPER_SOURCE = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static void *exec_from_thread(void *argv)
{
	execv(((char **)argv)[0], argv);
	return NULL;
}
int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "thread-execve")) {
		pthread_t thread;
		pthread_create(&thread, NULL, exec_from_thread, &argv[2]);
		pthread_join(thread, NULL);
		return 127;
	}
	if (argc >= 3 && !strcmp(argv[1], "execveat")) {
		syscall(SYS_execveat, AT_FDCWD, argv[2], &argv[2], environ, 0);
		return 127;
	}
	if (argc == 4 && !strcmp(argv[1], "storm")) {
		int n = atoi(argv[2]), running = 0;
		char *args[] = { argv[3], NULL };
		for (int i = 0; i < n; i++) {
			if (running == 32 && wait(NULL) > 0)
				running--;
			pid_t pid = fork();
			if (pid == 0) {
				execv(argv[3], args);
				_exit(127);
			}
			if (pid > 0)
				running++;
		}
		while (wait(NULL) > 0)
			;
		return 0;
	}
	return 2;
}
`;

interface ExecEvent {
  pid: number;
  ppid: number;
  uid: number;
  retval: number;
  syscall: string;
  argc: number;
  dropped_before: number;
  /** bpf_get_current_cgroup_id() of the exec'ing task. */
  cgroup_id: number;
  comm: string;
  filename: string;
  argv: string[];
}

interface Setup {
  dir: string;
  pkg: string;
  helper: string;
  /** A copy of /bin/true at a path no other process uses. */
  target: string;
  missing: string;
}

let setup: Setup | undefined;

/** Compiles the example and the helper once, into a temporary directory others can enter. */
function prepare(t: TestContext): Setup | undefined {
  if (!haveRoot(t)) return undefined;
  if (setup) return setup;
  const cc = spawnSync('cc', ['--version']);
  if (cc.status !== 0) {
    skipUnlessCi(t, 'needs a C compiler (cc) for the exec helper');
    return undefined;
  }
  const dir = mkdtempSync('/tmp/execsnoop-full-');
  chmodSync(dir, 0o755);
  eccCompile(path.join(example, 'execsnoop-full.bpf.c'), path.join(example, 'execsnoop-full.h'), dir);
  writeFileSync(path.join(dir, 'helper.c'), HELPER_SOURCE);
  const helper = path.join(dir, 'helper');
  const build = spawnSync('cc', ['-O2', '-pthread', '-o', helper, path.join(dir, 'helper.c')], { encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  const target = path.join(dir, 'esf-target');
  copyFileSync('/bin/true', target);
  chmodSync(target, 0o755);
  setup = { dir, pkg: path.join(dir, 'package.json'), helper, target, missing: path.join(dir, 'does-not-exist') };
  return setup;
}

test.after(() => {
  if (setup) rmSync(setup.dir, { recursive: true, force: true });
});

/** The cgroup (v2) id of this process, which its children exec in: the inode of its cgroup's directory. */
function ownCgroupId(): number {
  const root = findCgroup2Root();
  const own = readProcessCgroupPath('/proc', process.pid);
  assert.ok(root !== undefined && own !== undefined, 'a cgroup v2 hierarchy is mounted');
  return Number(statSync(path.join(root, own)).ino);
}

function events(run: RunningEcli): ExecEvent[] {
  return run.lines.filter((line) => line.startsWith('{')).map((line) => jsonOf(line) as unknown as ExecEvent);
}

/** Waits for the event `match` selects; the ring buffer keeps order, so earlier calls are in by then. */
async function waitForEvent(run: RunningEcli, match: (e: ExecEvent) => boolean): Promise<ExecEvent> {
  const line = await run.waitForLine((l) => l.startsWith('{') && match(jsonOf(l) as unknown as ExecEvent));
  return jsonOf(line) as unknown as ExecEvent;
}

function exec(file: string, args: string[], options: SpawnSyncOptions = {}): number {
  const result = spawnSync(file, args, { stdio: 'ignore', ...options });
  assert.ok(result.pid !== undefined);
  return result.pid;
}

/** argv as the event holds it: MAX_ARGS strings, unused ones empty. */
function padded(args: string[]): string[] {
  return [...args, ...Array<string>(MAX_ARGS - args.length).fill('')];
}

async function withEcli<T>(args: string[], body: (run: RunningEcli) => Promise<T>): Promise<T> {
  const run = await startEcli(['run', ...args]);
  try {
    return await body(run);
  } finally {
    assert.equal(await run.stop(), 0, run.stderr());
  }
}

test('JSON events: arguments, a failed exec, execveat, a thread, other users', async (t) => {
  const s = prepare(t);
  if (!s) return;
  await withEcli(['-j', s.pkg], async (run) => {
    const args = ['one', 'two words', '--x=3'];
    const pid = exec(s.target, args);
    const many = Array.from({ length: 25 }, (_, i) => `many-${i}`);
    exec(s.target, many);
    exec(s.target, ['x'.repeat(5000), 'after-long']);
    exec(s.missing, ['gone', 'two words']);
    const viaExecveat = exec(s.helper, ['execveat', s.target, 'via-execveat']);
    exec(s.helper, ['execveat', s.missing, 'via-execveat']);
    const threaded = exec(s.helper, ['thread-execve', s.target, 'from-thread']);
    const asNobody = exec(s.target, ['nobody'], { uid: NOBODY, gid: NOBODY });

    const last = await waitForEvent(run, (e) => e.argv[1] === 'nobody');
    assert.deepEqual(last, { ...last, pid: asNobody, uid: NOBODY, retval: 0, filename: s.target });
    const of = (filename: string, syscall: string, arg1: string): ExecEvent[] =>
      events(run).filter((e) => e.filename === filename && e.syscall === syscall && e.argv[1] === arg1);

    assert.deepEqual(of(s.target, 'EXECVE(0)', 'one'), [
      {
        pid,
        ppid: process.pid,
        uid: 0,
        retval: 0,
        syscall: 'EXECVE(0)',
        argc: 4,
        dropped_before: 0,
        cgroup_id: ownCgroupId(),
        comm: 'esf-target',
        filename: s.target,
        argv: padded([s.target, ...args]),
      },
    ]);
    const [manyEvent] = of(s.target, 'EXECVE(0)', 'many-0');
    assert.equal(manyEvent?.argc, 26);
    assert.deepEqual(manyEvent?.argv, [s.target, ...many].slice(0, MAX_ARGS), 'the first 20 arguments');
    const [longEvent] = of(s.target, 'EXECVE(0)', 'x'.repeat(ARG_CHARS));
    assert.deepEqual(longEvent?.argv.slice(0, 4), [s.target, 'x'.repeat(ARG_CHARS), 'after-long', ''], 'a long argument is cut, the next one found');

    const [failed] = of(s.missing, 'EXECVE(0)', 'gone');
    assert.ok(failed, 'the failed exec is reported');
    assert.deepEqual(failed, { ...failed, ppid: process.pid, retval: -2, argc: 3, argv: padded([s.missing, 'gone', 'two words']) });

    assert.deepEqual(of(s.target, 'EXECVEAT(1)', 'via-execveat'), [
      {
        pid: viaExecveat,
        ppid: process.pid,
        uid: 0,
        retval: 0,
        syscall: 'EXECVEAT(1)',
        argc: 2,
        dropped_before: 0,
        cgroup_id: ownCgroupId(),
        comm: 'esf-target',
        filename: s.target,
        argv: padded([s.target, 'via-execveat']),
      },
    ]);
    const [failedAt] = of(s.missing, 'EXECVEAT(1)', 'via-execveat');
    assert.deepEqual(failedAt, { ...failedAt, ppid: process.pid, retval: -2, comm: 'helper', argc: 2 });

    // The exec'ing thread takes over the process ID: the call returns under another thread ID.
    assert.deepEqual(of(s.target, 'EXECVE(0)', 'from-thread'), [
      {
        pid: threaded,
        ppid: process.pid,
        uid: 0,
        retval: 0,
        syscall: 'EXECVE(0)',
        argc: 2,
        dropped_before: 0,
        cgroup_id: ownCgroupId(),
        comm: 'esf-target',
        filename: s.target,
        argv: padded([s.target, 'from-thread']),
      },
    ]);
  });
});

test('plain text shows argv as one shell-quoted command line', async (t) => {
  const s = prepare(t);
  if (!s) return;
  await withEcli([s.pkg], async (run) => {
    exec(s.target, ['plain', 'two words', "it's"]);
    const row = await run.waitForLine((l) => l.includes(s.target));
    assert.ok(row.endsWith(` ${s.target} ${s.target} plain 'two words' 'it'\\''s'`), row);
    assert.match(run.lines[0]!, /^TIME +PID +PPID +UID +RETVAL +SYSCALL +ARGC +DROPPED_BEFORE +COMM +FILENAME +ARGV +$/);
  });
});

test('--uid keeps only that user', async (t) => {
  const s = prepare(t);
  if (!s) return;
  await withEcli(['-j', s.pkg, '--uid', `${NOBODY}`], async (run) => {
    exec(s.target, ['uid-root']);
    exec(s.target, ['uid-nobody'], { uid: NOBODY, gid: NOBODY });
    await waitForEvent(run, (e) => e.argv[1] === 'uid-nobody');
    assert.deepEqual(
      events(run).filter((e) => e.argv[1] === 'uid-root'),
      [],
    );
    assert.ok(events(run).every((e) => e.uid === NOBODY));
  });
});

test('--ppid keeps only children of that process', async (t) => {
  const s = prepare(t);
  if (!s) return;
  const parent = spawn('sh', ['-c', `read line; "${s.target}" ppid-child; true`], { stdio: ['pipe', 'ignore', 'ignore'] });
  const parentExit = new Promise((resolve) => parent.on('exit', resolve));
  try {
    await withEcli(['-j', s.pkg, '--ppid', `${parent.pid}`], async (run) => {
      exec(s.target, ['ppid-other']);
      parent.stdin.end('go\n');
      const child = await waitForEvent(run, (e) => e.argv[1] === 'ppid-child');
      assert.equal(child.ppid, parent.pid);
      assert.deepEqual(
        events(run).filter((e) => e.argv[1] === 'ppid-other'),
        [],
      );
    });
  } finally {
    parent.kill();
    await parentExit;
  }
});

test('--failed-only keeps only failed calls', async (t) => {
  const s = prepare(t);
  if (!s) return;
  await withEcli(['-j', s.pkg, '--failed-only'], async (run) => {
    exec(s.target, ['fo-success']);
    exec(s.helper, ['execveat', s.target, 'fo-success']);
    exec(s.missing, ['fo-failure']);
    exec(s.helper, ['execveat', s.missing, 'fo-failure']);
    await waitForEvent(run, (e) => e.syscall === 'EXECVEAT(1)' && e.argv[1] === 'fo-failure');
    const ours = events(run).filter((e) => e.argv[1]?.startsWith('fo-'));
    assert.deepEqual(
      ours.map((e) => [e.syscall, e.argv[1], e.retval]),
      [
        ['EXECVE(0)', 'fo-failure', -2],
        ['EXECVEAT(1)', 'fo-failure', -2],
      ],
    );
    assert.ok(events(run).every((e) => e.retval < 0));
  });
});

test('--max-args and --max-arg-len cut argv, for successful and failed calls', async (t) => {
  const s = prepare(t);
  if (!s) return;
  await withEcli(['-j', s.pkg, '--max-args', '2', '--max-arg-len', '4'], async (run) => {
    exec(s.target, ['cut-success', 'b', 'c']);
    exec(s.missing, ['cut-failure', 'b']);
    const failed = await waitForEvent(run, (e) => e.retval === -2 && e.argv[1] === 'cut-');
    const [succeeded] = events(run).filter((e) => e.filename === s.target && e.argv[1] === 'cut-');
    assert.deepEqual([succeeded?.argc, succeeded?.argv], [4, padded(['/tmp', 'cut-'])]);
    assert.deepEqual([failed.argc, failed.argv], [3, padded(['/tmp', 'cut-'])]);
  });
});

/** The cgroup v2 mount point, from mountinfo (field 5; the file system type follows " - "). */
function cgroup2Mount(): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [mount, fsType] = line.split(' - ');
    if (fsType?.startsWith('cgroup2 ')) return mount!.split(' ')[4];
  }
  return undefined;
}

function removeCgroup(dir: string): void {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      // Busy until the kernel has taken the exited processes out.
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY') throw error;
      spawnSync('sleep', ['0.05']);
    }
  }
}

test('--cgroup keeps only tasks in that cgroup v2 or below it', async (t) => {
  const s = prepare(t);
  if (!s) return;
  const mount = cgroup2Mount();
  if (!mount) {
    skipUnlessCi(t, 'no cgroup v2 hierarchy is mounted');
    return;
  }
  const outer = path.join(mount, `ecli-execsnoop-full-${process.pid}`);
  const inner = path.join(outer, 'inner');
  try {
    mkdirSync(inner, { recursive: true });
  } catch (error) {
    skipUnlessCi(t, `cannot create a cgroup under ${mount}: ${(error as Error).message}`);
    return;
  }
  try {
    const id = statSync(outer, { bigint: true }).ino;
    const script = `read line; echo $$ > "${inner}/cgroup.procs" && "${s.target}" cgroup-inside; true`;
    const parent = spawn('sh', ['-c', script], { stdio: ['pipe', 'ignore', 'inherit'] });
    const parentExit = new Promise((resolve) => parent.on('exit', resolve));
    try {
      await withEcli(['-j', s.pkg, '--cgroup', `${id}`], async (run) => {
        exec(s.target, ['cgroup-outside']);
        parent.stdin.end('go\n');
        await waitForEvent(run, (e) => e.argv[1] === 'cgroup-inside');
        assert.deepEqual(
          events(run).filter((e) => e.argv[1] === 'cgroup-outside'),
          [],
        );
      });
    } finally {
      parent.kill();
      await parentExit;
    }
  } finally {
    removeCgroup(inner);
    removeCgroup(outer);
  }
});

/** libbpf-tools' execsnoop, line-buffered, once it has printed its header (it is attached then). */
async function startLibbpfExecsnoop(): Promise<{ stop(): Promise<string> }> {
  const child = spawn('stdbuf', ['-oL', LIBBPF_EXECSNOOP, '-x'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${LIBBPF_EXECSNOOP} did not start: ${stderr}`)), 20_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('PCOMM')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exit.then(() => reject(new Error(`${LIBBPF_EXECSNOOP} exited: ${stderr}`)));
  });
  return {
    async stop() {
      child.kill('SIGINT');
      await exit;
      return stdout;
    },
  };
}

test(`a storm of ${STORM_EXECS} execs is reported completely, and at least as completely as libbpf-tools execsnoop`, async (t) => {
  const s = prepare(t);
  if (!s) return;
  const haveLibbpf = existsSync(LIBBPF_EXECSNOOP);
  if (!haveLibbpf) skipUnlessCi(t, `${LIBBPF_EXECSNOOP} (libbpf-tools) is not installed; only our side runs`);
  const stormTarget = path.join(s.dir, 'esf-storm');
  copyFileSync('/bin/true', stormTarget);
  chmodSync(stormTarget, 0o755);
  const theirs = haveLibbpf ? await startLibbpfExecsnoop() : undefined;
  let theirOutput = '';
  try {
    await withEcli(['-j', s.pkg], async (run) => {
      const storm = spawnSync(s.helper, ['storm', `${STORM_EXECS}`, stormTarget]);
      assert.equal(storm.status, 0);
      const fromStorm = (): ExecEvent[] => events(run).filter((e) => e.ppid === storm.pid && e.filename === stormTarget);
      for (let waited = 0; fromStorm().length < STORM_EXECS && waited < 10_000; waited += 50) await sleep(50);
      const ours = fromStorm();
      assert.equal(ours.length, STORM_EXECS);
      assert.ok(ours.every((e) => e.retval === 0 && e.dropped_before === 0 && e.argv[0] === stormTarget));
      await sleep(500); // a head start for libbpf-tools to print what it saw
      if (theirs) theirOutput = await theirs.stop();
      const theirCount = theirOutput.split('\n').filter((line) => {
        const [comm, , ppid] = line.trim().split(/\s+/);
        return comm === 'esf-storm' && ppid === `${storm.pid}`;
      }).length;
      t.diagnostic(`storm of ${STORM_EXECS} execs: execsnoop-full reported ${ours.length}, libbpf-tools execsnoop ${haveLibbpf ? theirCount : 'not run'}`);
      if (haveLibbpf) {
        assert.ok(theirCount > 0, `libbpf-tools execsnoop saw none of the storm:\n${theirOutput.slice(0, 2000)}`);
        assert.ok(ours.length >= theirCount);
      }
    });
  } finally {
    if (theirs && !theirOutput) await theirs.stop();
  }
});

test('events lost to a full ring buffer are counted and shown on the next event', async (t) => {
  const s = prepare(t);
  if (!s) return;
  const floodTarget = path.join(s.dir, 'esf-flood');
  copyFileSync('/bin/true', floodTarget);
  chmodSync(floodTarget, 0o755);
  await withEcli(['-j', s.pkg], async (run) => {
    // A stopped reader lets the ring buffer fill up.
    run.child.kill('SIGSTOP');
    let flood;
    try {
      flood = spawnSync(s.helper, ['storm', `${FLOOD_EXECS}`, floodTarget]);
    } finally {
      run.child.kill('SIGCONT');
    }
    assert.equal(flood.status, 0);
    // Once the reader has drained the ring buffer, the next event gets through and carries the count.
    const fromFlood = (): number => events(run).filter((e) => e.ppid === flood.pid && e.filename === floodTarget).length;
    for (let seen = -1, waited = 0; seen !== fromFlood() && waited < 10_000; waited += 200) {
      seen = fromFlood();
      await sleep(200);
    }
    exec(s.target, ['after-flood']);
    const marker = await waitForEvent(run, (e) => e.filename === s.target && e.argv[1] === 'after-flood');
    const seen = fromFlood();
    t.diagnostic(`flood of ${FLOOD_EXECS} execs into a stopped reader: ${seen} reported, ${marker.dropped_before} counted as dropped`);
    assert.ok(seen < FLOOD_EXECS, 'the ring buffer overflowed');
    assert.ok(marker.dropped_before >= FLOOD_EXECS - seen, `dropped_before ${marker.dropped_before} counts the ${FLOOD_EXECS - seen} lost events`);
  });
});
